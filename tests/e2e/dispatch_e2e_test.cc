// Runs end to end: the real binary on loopback, real agent endpoints (RecordingTarget, a
// command script, a chat-completions stand-in), every outcome a run can have — success with a
// signed request, retries with backoff, Retry-After, a permanent 400, dead after its attempts and
// retried by hand, timeouts, the per-agent concurrency limit, a slow agent beside a fast one.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/crypto.h"
#include "http_client.h"
#include "recording_target.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::RecordingTarget;
using testing::TempDir;
using testing::TriggerdProcess;
namespace json = boost::json;
using namespace std::chrono_literals;

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

int64_t Int(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : -1;
}

std::string HeaderOf(const RecordingTarget::Received& r, std::string_view name) {
  auto v = FindHeader(r.headers, name);
  return v ? std::string(*v) : "";
}

class DispatchE2eTest : public ::testing::Test {
 protected:
  // Fast retries so that every test ends in a second or two; command agents through the API
  // (the operator's opt-in, app/config.h).
  void StartService(const std::string& extra_config = "") {
    auto config = dir_.path() / "triggerd.yaml";
    std::ofstream(config) << "retry_base_ms: 50\nretry_max_ms: 400\ndispatch_workers: 8\n"
                          << "api:\n  command_agents: true\n" << extra_config;
    process_ = std::make_unique<TriggerdProcess>(
        dir_.path() / "data", std::vector<std::string>{"--config", config.string()});
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
  }
  void SetUp() override { StartService(); }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "") {
    return client_->Send(method, path, body,
                         {{"Authorization", "Bearer " + admin_},
                          {"Content-Type", "application/json"}});
  }

  // A source authenticated by its secret URL alone; returns the ingest path.
  std::string CreateSource() {
    HttpResult r = Api("POST", "/api/v1/sources", R"({"name":"hooks"})");
    EXPECT_EQ(r.status, 201) << r.body;
    std::string url = Str(Parse(r.body), "url");
    return url.substr(url.find("/api/v1/w/"));
  }

  json::object CreateAgent(const json::object& spec) {
    HttpResult r = Api("POST", "/api/v1/agents", json::serialize(spec));
    EXPECT_EQ(r.status, 201) << r.body;
    return Parse(r.body);
  }

  json::object HttpAgent(const std::string& url, json::object extra = {}) {
    json::object spec{{"name", "reviewer"},
                      {"instructions", "Review the pull request."},
                      {"target", {{"type", "http"}, {"url", url}, {"timeout_ms", 2000}}}};
    for (auto& [k, v] : extra) spec[k] = v;
    return CreateAgent(spec);
  }

  std::string CreateTrigger(const std::string& agent_id, const std::string& source_path,
                            const std::string& filter = "", bool include_payload = true) {
    // The source id is the path segment after /hooks/.
    std::string rest = source_path.substr(source_path.find("/hooks/") + 7);
    std::string source_id = rest.substr(0, rest.find('/'));
    json::object spec{{"agent_id", agent_id},
                      {"source_id", source_id},
                      {"include_payload", include_payload}};
    if (!filter.empty()) spec["filter"] = filter;
    HttpResult r = Api("POST", "/api/v1/triggers", json::serialize(spec));
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "id");
  }

  // Posts an event; returns the ingest answer.
  json::object Ingest(const std::string& path, const std::string& body) {
    HttpResult r = client_->Send("POST", path, body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return Parse(r.body);
  }

  static std::vector<std::string> RunIds(const json::object& ingested) {
    std::vector<std::string> ids;
    if (const auto* runs = ingested.if_contains("runs"); runs && runs->is_array()) {
      for (const auto& run : runs->as_array()) ids.push_back(Str(run.as_object(), "run_id"));
    }
    return ids;
  }

  json::object GetRun(const std::string& run_id) {
    HttpResult r = Api("GET", "/api/v1/runs/" + run_id);
    EXPECT_EQ(r.status, 200) << r.body;
    return Parse(r.body);
  }

  // Polls the run until its status is one of `statuses` (up to 20 s).
  json::object WaitForRun(const std::string& run_id, std::set<std::string> statuses) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    json::object run;
    while (std::chrono::steady_clock::now() < deadline) {
      run = GetRun(run_id);
      if (statuses.count(Str(run, "status"))) return run;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "run " << run_id << " never reached the wanted status: "
                  << json::serialize(run);
    return run;
  }

  static std::vector<json::object> Messages(const json::object& run) {
    std::vector<json::object> out;
    if (const auto* m = run.if_contains("messages"); m && m->is_array()) {
      for (const auto& message : m->as_array()) out.push_back(message.as_object());
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(DispatchE2eTest, HttpTargetGetsASignedMessageAndTheReplyIsStored) {
  RecordingTarget target([](const auto&, const auto&) {
    return RecordingTarget::Reply(200, R"({"summary":"looks fine"})");
  });
  std::string source = CreateSource();
  json::object agent = HttpAgent(target.Url("/agent"));
  const std::string secret = Str(agent, "signing_secret");
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << json::serialize(agent);
  std::string trigger = CreateTrigger(Str(agent, "id"), source, R"((eq "action" "opened"))");

  const std::string payload = R"({"action":"opened","number":12345678901234567,"pr":{"t":"x"}})";
  json::object ingested = Ingest(source, payload);
  std::vector<std::string> runs = RunIds(ingested);
  ASSERT_EQ(runs.size(), 1u) << json::serialize(ingested);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "succeeded");
  EXPECT_EQ(Int(run, "attempts"), 1);
  EXPECT_EQ(Str(run, "trigger_id"), trigger);

  auto received = target.requests();
  ASSERT_EQ(received.size(), 1u);
  const auto& request = received[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/agent");
  // Standard Webhooks: webhook-id is the run id (the idempotency key), signed with the secret.
  EXPECT_EQ(HeaderOf(request, "webhook-id"), runs[0]);
  const std::string timestamp = HeaderOf(request, "webhook-timestamp");
  auto key = crypto::Base64Decode(secret.substr(6));
  ASSERT_TRUE(key.has_value());
  const std::string expected =
      "v1," + crypto::Base64Encode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, *key,
                                                runs[0] + "." + timestamp + "." + request.body));
  EXPECT_EQ(HeaderOf(request, "webhook-signature"), expected);
  // The message: the event and its payload, the payload's numbers spelled as sent.
  json::object message = Parse(request.body);
  EXPECT_EQ(Str(message, "run_id"), runs[0]);
  EXPECT_EQ(Str(message["event"].as_object(), "id"), Str(ingested, "event_id"));
  EXPECT_NE(request.body.find("12345678901234567"), std::string::npos) << request.body;

  // The run shows the conversation: the message sent in, the reply out.
  auto messages = Messages(run);
  ASSERT_EQ(messages.size(), 2u) << json::serialize(run);
  EXPECT_EQ(Str(messages[0], "role"), "event");
  EXPECT_EQ(Str(messages[0], "content"), request.body);
  EXPECT_EQ(Str(messages[1], "role"), "agent");
  EXPECT_EQ(Str(messages[1], "content"), R"({"summary":"looks fine"})");

  // An event the filter lets pass starts nothing; the event records why.
  json::object ignored = Ingest(source, R"({"action":"closed"})");
  EXPECT_TRUE(RunIds(ignored).empty());
  json::object event = Parse(Api("GET", "/api/v1/events/" + Str(ignored, "event_id")).body);
  ASSERT_TRUE(event["matches"].is_array()) << json::serialize(event);
  ASSERT_EQ(event["matches"].as_array().size(), 1u);
  EXPECT_EQ(Str(event["matches"].as_array()[0].as_object(), "outcome"), "ignored");
}

// The dispatcher keeps each agent it has read (record, signing secret, target): a change
// through the API reaches the next attempt all the same.
TEST_F(DispatchE2eTest, AChangedAgentReachesTheNextAttempt) {
  RecordingTarget first([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
  RecordingTarget second([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
  std::string source = CreateSource();
  json::object agent = HttpAgent(first.Url("/first"));
  const std::string agent_path = "/api/v1/agents/" + Str(agent, "id");
  CreateTrigger(Str(agent, "id"), source);
  std::vector<std::string> runs = RunIds(Ingest(source, R"({"n":1})"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(Str(WaitForRun(runs[0], {"succeeded", "failed", "dead"}), "status"), "succeeded");
  ASSERT_EQ(first.requests().size(), 1u);

  // A new target and a new signing secret.
  HttpResult changed = Api(
      "PATCH", agent_path,
      json::serialize(json::object{
          {"target", {{"type", "http"}, {"url", second.Url("/second")}, {"timeout_ms", 2000}}}}));
  ASSERT_EQ(changed.status, 200) << changed.body;
  HttpResult rotated = Api("POST", agent_path + "/rotate", "");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string secret = Str(Parse(rotated.body), "signing_secret");
  ASSERT_NE(secret, Str(agent, "signing_secret"));
  runs = RunIds(Ingest(source, R"({"n":2})"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(Str(WaitForRun(runs[0], {"succeeded", "failed", "dead"}), "status"), "succeeded");
  EXPECT_EQ(first.requests().size(), 1u);
  auto received = second.requests();
  ASSERT_EQ(received.size(), 1u);
  auto key = crypto::Base64Decode(secret.substr(6));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(HeaderOf(received[0], "webhook-signature"),
            "v1," + crypto::Base64Encode(crypto::Hmac(
                        crypto::DigestAlgorithm::kSha256, *key,
                        runs[0] + "." + HeaderOf(received[0], "webhook-timestamp") + "." +
                            received[0].body)));
}

TEST_F(DispatchE2eTest, WithoutThePayloadTheMessageOnlySaysTheEventHappened) {
  RecordingTarget target([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
  std::string source = CreateSource();
  json::object agent = HttpAgent(target.Url("/agent"));
  CreateTrigger(Str(agent, "id"), source, "", /*include_payload=*/false);
  auto runs = RunIds(Ingest(source, R"({"secret_field":"do-not-forward"})"));
  ASSERT_EQ(runs.size(), 1u);
  WaitForRun(runs[0], {"succeeded"});
  auto received = target.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].body.find("do-not-forward"), std::string::npos) << received[0].body;
  EXPECT_FALSE(Parse(received[0].body).contains("payload"));
}

TEST_F(DispatchE2eTest, RetryableFailuresAreRetriedUntilTheTargetAnswers) {
  // 503, then a connection-level timeout, then success.
  RecordingTarget target([](const auto&, const auto& earlier) {
    if (earlier.size() == 0) return RecordingTarget::Reply(503, "busy");
    if (earlier.size() == 1) {
      auto slow = RecordingTarget::Reply(200, "too late");
      slow.delay = 1500ms;  // beyond the agent's 500 ms timeout
      return slow;
    }
    return RecordingTarget::Reply(200, "done");
  });
  std::string source = CreateSource();
  json::object agent = CreateAgent(
      {{"name", "flaky"},
       {"target", {{"type", "http"}, {"url", target.Url("/x")}, {"timeout_ms", 500}}}});
  CreateTrigger(Str(agent, "id"), source);
  auto runs = RunIds(Ingest(source, R"({"n":1})"));
  ASSERT_EQ(runs.size(), 1u);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "succeeded");
  EXPECT_EQ(Int(run, "attempts"), 3);
  auto messages = Messages(run);
  ASSERT_EQ(messages.size(), 4u) << json::serialize(run);
  EXPECT_EQ(Str(messages[1], "role"), "error");
  EXPECT_NE(Str(messages[1], "content").find("503"), std::string::npos);
  EXPECT_EQ(Str(messages[2], "role"), "error");
  EXPECT_EQ(Str(messages[3], "content"), "done");
  // Every attempt carried the same idempotency key.
  for (const auto& r : target.requests()) EXPECT_EQ(HeaderOf(r, "webhook-id"), runs[0]);
}

TEST_F(DispatchE2eTest, RetryAfterIsHonoured) {
  std::vector<std::chrono::steady_clock::time_point> seen;
  std::mutex mu;
  RecordingTarget target([&](const auto&, const auto& earlier) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(std::chrono::steady_clock::now());
    if (earlier.empty()) return RecordingTarget::Reply(429, "slow down", {{"Retry-After", "1"}});
    return RecordingTarget::Reply(200, "ok");
  });
  std::string source = CreateSource();
  json::object agent = HttpAgent(target.Url("/x"));
  CreateTrigger(Str(agent, "id"), source);
  auto runs = RunIds(Ingest(source, R"({"n":1})"));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(Str(WaitForRun(runs[0], {"succeeded", "dead", "failed"}), "status"), "succeeded");
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(seen.size(), 2u);
  // The configured backoff is at most 400 ms here: only Retry-After explains a 1 s wait.
  EXPECT_GE(seen[1] - seen[0], 950ms);
}

TEST_F(DispatchE2eTest, AClientErrorFailsTheRunWithoutRetrying) {
  RecordingTarget target([](const auto&, const auto&) {
    return RecordingTarget::Reply(400, R"({"error":"bad input"})");
  });
  std::string source = CreateSource();
  json::object agent = HttpAgent(target.Url("/x"));
  CreateTrigger(Str(agent, "id"), source);
  auto runs = RunIds(Ingest(source, R"({"n":1})"));
  ASSERT_EQ(runs.size(), 1u);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "failed");
  EXPECT_EQ(Int(run, "attempts"), 1);
  EXPECT_NE(Str(run, "last_error").find("400"), std::string::npos) << json::serialize(run);
  std::this_thread::sleep_for(300ms);  // longer than any backoff here: no second attempt came
  EXPECT_EQ(target.requests().size(), 1u);
}

TEST_F(DispatchE2eTest, AfterItsLastAttemptARunIsDeadAndCanBeRetriedByHand) {
  std::atomic<bool> healthy{false};
  RecordingTarget target([&](const auto&, const auto&) {
    return healthy ? RecordingTarget::Reply(200, "recovered")
                   : RecordingTarget::Reply(500, "down");
  });
  std::string source = CreateSource();
  json::object agent = HttpAgent(target.Url("/x"), {{"max_attempts", 3}});
  CreateTrigger(Str(agent, "id"), source);
  auto runs = RunIds(Ingest(source, R"({"n":1})"));
  ASSERT_EQ(runs.size(), 1u);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "dead");
  EXPECT_EQ(Int(run, "attempts"), 3);
  EXPECT_EQ(target.requests().size(), 3u);

  healthy = true;
  HttpResult retried = Api("POST", "/api/v1/runs/" + runs[0] + "/retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "succeeded");
  EXPECT_EQ(Int(run, "attempts"), 4);
  // A succeeded run cannot be retried or cancelled.
  EXPECT_EQ(Api("POST", "/api/v1/runs/" + runs[0] + "/retry").status, 409);
  EXPECT_EQ(Api("POST", "/api/v1/runs/" + runs[0] + "/cancel").status, 409);
}

TEST_F(DispatchE2eTest, ConcurrencyPerAgentIsBoundedAndASlowAgentDoesNotBlockOthers) {
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  // The slow agent's endpoint answers each request after (at least) 300 ms.
  RecordingTarget slow([&](const auto&, const auto&) {
    {
      std::lock_guard<std::mutex> lock(mu);
      arrivals.push_back(std::chrono::steady_clock::now());
    }
    auto answer = RecordingTarget::Reply(200, "slow ok");
    answer.delay = 300ms;
    return answer;
  });
  RecordingTarget fast([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
  std::string slow_source = CreateSource();
  std::string fast_source = CreateSource();
  json::object slow_agent = HttpAgent(slow.Url("/slow"), {{"concurrency", 2}});
  json::object fast_agent = HttpAgent(fast.Url("/fast"));
  CreateTrigger(Str(slow_agent, "id"), slow_source);
  CreateTrigger(Str(fast_agent, "id"), fast_source);

  std::vector<std::string> slow_runs, fast_runs;
  for (int i = 0; i < 6; ++i) {
    for (auto& id : RunIds(Ingest(slow_source, R"({"n":1})"))) slow_runs.push_back(id);
  }
  for (int i = 0; i < 3; ++i) {
    for (auto& id : RunIds(Ingest(fast_source, R"({"n":2})"))) fast_runs.push_back(id);
  }
  // The fast agent is done long before the slow one has worked through its queue
  // (6 runs, 2 at a time, 300 ms each: at least 900 ms).
  for (const auto& id : fast_runs) EXPECT_EQ(Str(WaitForRun(id, {"succeeded"}), "status"), "succeeded");
  int slow_done = 0;
  for (const auto& id : slow_runs) slow_done += Str(GetRun(id), "status") == "succeeded";
  EXPECT_LT(slow_done, 6);
  for (const auto& id : slow_runs) WaitForRun(id, {"succeeded"});
  EXPECT_EQ(slow.requests().size(), 6u);
  // A request that arrived less than 300 ms after another was in flight together with it (the
  // next attempt of a slot can only start after the previous answer, 300 ms on).
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(arrivals.size(), 6u);
  int most_in_flight = 0;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    int together = 1;
    for (size_t j = 0; j < i; ++j) together += arrivals[i] - arrivals[j] < 300ms;
    most_in_flight = std::max(most_in_flight, together);
  }
  EXPECT_EQ(most_in_flight, 2);
}

TEST_F(DispatchE2eTest, CommandTargetGetsThePayloadOnStdinAndItsEnvironment) {
  const auto script =
      std::filesystem::path(TRIGGERD_SOURCE_DIR) / "tests/e2e/scripts/echo_agent.sh";
  const auto out = dir_.path() / "command-out";
  std::filesystem::create_directories(out);
  std::string source = CreateSource();
  json::object agent = CreateAgent(
      {{"name", "local"},
       {"target",
        {{"type", "command"},
         {"argv", json::array{"/bin/sh", script.string(), out.string()}},
         {"cwd", out.string()},
         {"timeout_ms", 5000}}}});
  CreateTrigger(Str(agent, "id"), source);
  const std::string payload = R"({"alert":"disk full","host":"db1"})";
  json::object ingested = Ingest(source, payload);
  auto runs = RunIds(ingested);
  ASSERT_EQ(runs.size(), 1u);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  ASSERT_EQ(Str(run, "status"), "succeeded") << json::serialize(run);
  auto messages = Messages(run);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(Str(messages[1], "content"), "handled " + Str(ingested, "event_id") + " for " +
                                             Str(Parse(Api("GET", "/api/v1/events/" +
                                                                      Str(ingested, "event_id"))
                                                           .body),
                                                 "source_id"));
  EXPECT_EQ(testing::ReadFileOrDie(out / (runs[0] + ".stdin")), payload);
  std::string env = testing::ReadFileOrDie(out / (runs[0] + ".env"));
  EXPECT_NE(env.find("TRIGGER_RUN_ID=" + runs[0]), std::string::npos) << env;
  EXPECT_NE(env.find("TRIGGER_EVENT_ID=" + Str(ingested, "event_id")), std::string::npos);
  EXPECT_NE(env.find("TRIGGER_PAYLOAD=" + payload), std::string::npos) << env;
  EXPECT_NE(env.find("TRIGGER_SOURCE_ID=src_"), std::string::npos);
  std::string cwd = testing::ReadFileOrDie(out / (runs[0] + ".cwd"));
  EXPECT_EQ(std::filesystem::path(cwd.substr(0, cwd.find('\n'))), out);
}

TEST_F(DispatchE2eTest, LlmTargetSpeaksChatCompletions) {
  RecordingTarget llm([](const auto&, const auto&) {
    return RecordingTarget::Reply(200, R"({"id":"chatcmpl-1","object":"chat.completion",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Triage: P2"},
                  "finish_reason":"stop"}]})");
  });
  std::string source = CreateSource();
  json::object agent = CreateAgent({{"name", "triage"},
                                    {"instructions", "Triage the alert."},
                                    {"target",
                                     {{"type", "llm"},
                                      {"base_url", llm.Url("/v1")},
                                      {"model", "small-model"},
                                      {"timeout_ms", 3000}}}});
  CreateTrigger(Str(agent, "id"), source);
  auto runs = RunIds(Ingest(source, R"({"alert":"cpu"})"));
  ASSERT_EQ(runs.size(), 1u);
  json::object run = WaitForRun(runs[0], {"succeeded", "failed", "dead"});
  ASSERT_EQ(Str(run, "status"), "succeeded") << json::serialize(run);
  EXPECT_EQ(Str(Messages(run)[1], "content"), "Triage: P2");
  auto received = llm.requests();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].path, "/v1/chat/completions");
  json::object request = Parse(received[0].body);
  EXPECT_EQ(Str(request, "model"), "small-model");
  auto messages = request["messages"].as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(Str(messages[0].as_object(), "role"), "system");
  EXPECT_EQ(Str(messages[0].as_object(), "content"), "Triage the alert.");
  EXPECT_EQ(Str(messages[1].as_object(), "role"), "user");
  EXPECT_NE(Str(messages[1].as_object(), "content").find(R"("alert":"cpu")"), std::string::npos);
}

}  // namespace
}  // namespace triggerd
