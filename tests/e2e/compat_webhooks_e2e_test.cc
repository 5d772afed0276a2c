// The compatibility surfaces of docs/COMPATIBILITY.md, end to end: the real binary on loopback,
// the exact requests Dagu-style and agent-webhook senders make, the exact answers, and the run
// reaching a real agent endpoint (RecordingTarget) through the ordinary dispatcher.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
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

// The error type of a {"error":{"type",…}} body.
std::string ErrorType(const HttpResult& r) {
  json::object body = Parse(r.body);
  const json::value* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) {
    ADD_FAILURE() << "no error object: " << r.body;
    return "";
  }
  EXPECT_TRUE(error->as_object().contains("message")) << r.body;
  return Str(error->as_object(), "type");
}

class CompatWebhooksE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = dir_.path() / "triggerd.yaml";
    std::ofstream(config) << "retry_base_ms: 50\nretry_max_ms: 400\ndispatch_workers: 4\n";
    process_ = std::make_unique<TriggerdProcess>(
        dir_.path() / "data", std::vector<std::string>{"--config", config.string()});
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    target_ = std::make_unique<RecordingTarget>(
        [](const auto&, const auto&) { return RecordingTarget::Reply(200, R"({"ok":true})"); });
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = "") {
    return client_->Send(method, path, body,
                         {{"Authorization", "Bearer " + (key.empty() ? admin_ : key)},
                          {"Content-Type", "application/json"}});
  }

  // An http agent pointing at the recording target, created with `key` (default the admin's);
  // returns its id.
  std::string CreateAgent(const std::string& name = "nightly-etl", const std::string& key = "") {
    json::object spec{{"name", name},
                      {"target", {{"type", "http"}, {"url", target_->Url("/agent")},
                                  {"timeout_ms", 2000}}}};
    HttpResult r = Api("POST", "/api/v1/agents", json::serialize(spec), key);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "id");
  }

  std::string CreateKey(const std::string& role) {
    HttpResult r = Api("POST", "/api/v1/keys", R"({"name":"k","role":")" + role + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "key");
  }

  HttpResult Trigger(const std::string& name, const std::string& body, const std::string& token,
                     Headers extra = {}) {
    Headers headers{{"Content-Type", "application/json"}};
    if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
    for (auto& h : extra) headers.push_back(h);
    return client_->Send("POST", "/api/v1/webhooks/" + name, body, headers);
  }

  // The message the agent received for `run_id` (waits up to 20 s for it).
  json::object Delivered(const std::string& run_id) {
    json::object found;
    bool ok = target_->WaitFor(
        [&](const std::vector<RecordingTarget::Received>& requests) {
          for (const auto& r : requests) {
            json::object message = Parse(r.body);
            if (Str(message, "run_id") == run_id) {
              found = message;
              return true;
            }
          }
          return false;
        },
        20s);
    EXPECT_TRUE(ok) << "run " << run_id << " never reached the agent";
    return found;
  }

  json::object WaitForRun(const std::string& run_id, const std::set<std::string>& statuses) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    json::object run;
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResult r = Api("GET", "/api/v1/runs/" + run_id);
      EXPECT_EQ(r.status, 200) << r.body;
      run = Parse(r.body);
      if (statuses.count(Str(run, "status"))) return run;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "run " << run_id << " never reached the wanted status: "
                  << json::serialize(run);
    return run;
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<RecordingTarget> target_;
  std::string admin_;
};

// ---------------------------------------------------------------- Dagu-style webhooks

TEST_F(CompatWebhooksE2eTest, DaguCreateShowsTheTokenOnceAndNeverAgain) {
  const std::string agent = CreateAgent();
  HttpResult created = Api("POST", "/api/v1/dags/" + agent + "/webhook");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object body = Parse(created.body);
  const std::string token = Str(body, "token");
  EXPECT_EQ(token.rfind("trgd_wh_", 0), 0u) << created.body;
  json::object webhook = body["webhook"].as_object();
  EXPECT_EQ(Str(webhook, "dagName"), "nightly-etl");
  EXPECT_EQ(Str(webhook, "tokenPrefix"), token.substr(0, 12));
  EXPECT_EQ(webhook["enabled"], json::value(true));
  for (const char* key : {"id", "createdAt", "updatedAt", "createdBy"}) {
    EXPECT_FALSE(Str(webhook, key).empty()) << key << " in " << created.body;
  }

  HttpResult shown = Api("GET", "/api/v1/dags/" + agent + "/webhook");
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.body.find(token), std::string::npos);
  EXPECT_EQ(Str(Parse(shown.body), "id"), Str(webhook, "id"));
  // By the agent's name too.
  EXPECT_EQ(Api("GET", "/api/v1/dags/nightly-etl/webhook").status, 200);

  HttpResult listed = Api("GET", "/api/v1/webhooks");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.body.find(token), std::string::npos);
  json::object list = Parse(listed.body);
  ASSERT_EQ(list["webhooks"].as_array().size(), 1u) << listed.body;
  ASSERT_EQ(list["data"].as_array().size(), 1u) << listed.body;

  // The one webhook of that DAG.
  HttpResult again = Api("POST", "/api/v1/dags/" + agent + "/webhook");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(ErrorType(again), "webhook_exists");
  EXPECT_EQ(Api("POST", "/api/v1/dags/agt_unknown0000/webhook").status, 404);
}

// Path parameters are percent-decoded: a DAG named "my dag" is /dags/my%20dag on every route,
// the trigger route included.
TEST_F(CompatWebhooksE2eTest, DaguRoutesAddressANameWithASpace) {
  CreateAgent("my dag");
  HttpResult created = Api("POST", "/api/v1/dags/my%20dag/webhook");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Str(Parse(created.body)["webhook"].as_object(), "dagName"), "my dag");
  EXPECT_EQ(Api("GET", "/api/v1/dags/my%20dag/webhook").status, 200);
  HttpResult triggered = Trigger("my%20dag", "{}", Str(Parse(created.body), "token"));
  EXPECT_EQ(triggered.status, 200) << triggered.body;
  EXPECT_EQ(Api("GET", "/api/v1/dags/my%2/webhook").status, 400);
}

// The dispatcher logs an agent's error answer ("dispatch: run … failed: <body>"); a body with
// newlines must stay inside that one line of the (default, text) log, never forge one of its own.
TEST_F(CompatWebhooksE2eTest, AgentErrorBodyCannotForgeALogLine) {
  target_ = std::make_unique<RecordingTarget>([](const auto&, const auto&) {
    return RecordingTarget::Reply(400, "bad\n[2026-01-01 00:00:00.000] [info] FORGED-LINE\x1b[0m");
  });
  const std::string agent = CreateAgent();
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/" + agent + "/webhook").body),
                                "token");
  HttpResult r = Trigger(agent, "{}", token);
  ASSERT_EQ(r.status, 200) << r.body;
  WaitForRun(Str(Parse(r.body), "runId"), {"failed", "dead"});
  std::string output;
  for (int i = 0; i < 200 && output.find("FORGED-LINE") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);  // the log line follows the run's update
    output = process_->Output();
  }
  ASSERT_NE(output.find("bad\\n[2026-01-01 00:00:00.000] [info] FORGED-LINE"), std::string::npos)
      << output;
  EXPECT_EQ(output.find("\n[2026-01-01 00:00:00.000] [info] FORGED-LINE"), std::string::npos);
  EXPECT_EQ(output.find('\x1b'), std::string::npos);
}

TEST_F(CompatWebhooksE2eTest, DaguManagementNeedsABuilderOrAdminKey) {
  const std::string agent = CreateAgent();
  HttpResult anonymous = client_->Send("POST", "/api/v1/dags/" + agent + "/webhook", "", {});
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  EXPECT_EQ(ErrorType(anonymous), "missing_api_key");
  HttpResult user = Api("POST", "/api/v1/dags/" + agent + "/webhook", "", CreateKey("user"));
  EXPECT_EQ(user.status, 403) << user.body;
  EXPECT_EQ(Api("GET", "/api/v1/webhooks", "", CreateKey("user")).status, 403);
  // A builder manages the webhooks of its own agents (another's: DaguManagementOfAnotherBuilders…).
  const std::string builder = CreateKey("builder");
  const std::string own = CreateAgent("builders-dag", builder);
  EXPECT_EQ(Api("POST", "/api/v1/dags/" + own + "/webhook", "", builder).status, 201);
}

// The owner rule of PATCH /api/v1/agents/{id} (403 not_owner) holds for every route that changes
// a DAG's webhook; reading stays open to builders. Errors keep the Dagu shape.
TEST_F(CompatWebhooksE2eTest, DaguWebhookChangesNeedTheAgentsCreatorOrAnAdmin) {
  const std::string owner = CreateKey("builder");
  const std::string other = CreateKey("builder");
  const std::string agent = CreateAgent("owned-dag", owner);
  const std::string base = "/api/v1/dags/" + agent + "/webhook";
  auto refused = [&](const std::string& method, const std::string& path, const std::string& body) {
    HttpResult r = Api(method, path, body, other);
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_EQ(ErrorType(r), "not_owner") << r.body;
    EXPECT_EQ(Str(Parse(r.body), "code"), "forbidden") << r.body;
    EXPECT_FALSE(Str(Parse(r.body), "message").empty()) << r.body;
  };
  refused("POST", base, "");
  ASSERT_EQ(Api("POST", base, "", owner).status, 201);
  refused("POST", base + "/regenerate", "");
  refused("POST", base + "/toggle", R"({"enabled":false})");
  refused("DELETE", base, "");
  // By name too.
  refused("POST", "/api/v1/dags/owned-dag/webhook/toggle", R"({"enabled":false})");
  EXPECT_EQ(Api("GET", base, "", other).status, 200);
  EXPECT_EQ(Parse(Api("GET", base).body)["enabled"], json::value(true));

  // The creator and an admin may.
  EXPECT_EQ(Api("POST", base + "/regenerate", "", owner).status, 200);
  EXPECT_EQ(Api("POST", base + "/toggle", R"({"enabled":false})", owner).status, 200);
  EXPECT_EQ(Api("POST", base + "/regenerate").status, 200);
  EXPECT_EQ(Api("POST", base + "/toggle", R"({"enabled":true})").status, 200);
  EXPECT_EQ(Api("DELETE", base, "", owner).status, 204);
  EXPECT_EQ(Api("POST", base).status, 201);
  EXPECT_EQ(Api("DELETE", base).status, 204);
}

// docs/COMPATIBILITY.md: every error of the Dagu surface is {"error":{type,message},code,message}.
TEST_F(CompatWebhooksE2eTest, DaguErrorsAllCarryCodeAndMessage) {
  const std::string agent = CreateAgent();
  const std::string base = "/api/v1/dags/" + agent + "/webhook";
  ASSERT_EQ(Api("POST", base).status, 201);
  auto expect_shape = [](const HttpResult& r, int status, const std::string& code,
                         const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    json::object body = Parse(r.body);
    EXPECT_EQ(Str(body, "code"), code) << r.body;
    EXPECT_FALSE(Str(body, "message").empty()) << r.body;
    EXPECT_EQ(ErrorType(r), type) << r.body;
    return body;
  };
  json::object wrong_type = expect_shape(Api("POST", base + "/toggle", R"({"enabled":"no"})"),
                                         400, "bad_request", "invalid_request");
  EXPECT_EQ(Str(wrong_type["error"].as_object(), "field"), "enabled");
  json::object unknown = expect_shape(
      Api("POST", base + "/toggle", R"({"enabled":true,"colour":"red"})"), 400, "bad_request",
      "invalid_request");
  EXPECT_EQ(Str(unknown["error"].as_object(), "field"), "colour");
  expect_shape(Api("POST", base + "/toggle", "{}"), 400, "bad_request", "invalid_request");
  expect_shape(Api("POST", base + "/toggle", "not json"), 400, "bad_request", "invalid_json");
  expect_shape(client_->Send("GET", "/api/v1/webhooks", "", {}), 401, "unauthorized",
               "missing_api_key");
  expect_shape(Api("GET", "/api/v1/webhooks", "", "trgd_not_a_key"), 401, "unauthorized",
               "invalid_api_key");
  expect_shape(Api("POST", base, "", CreateKey("user")), 403, "forbidden", "insufficient_role");
  expect_shape(Api("GET", "/api/v1/dags/no-such-dag/webhook"), 404, "not_found",
               "dag_not_found");
  expect_shape(Api("POST", base), 409, "already_exists", "webhook_exists");
}

TEST_F(CompatWebhooksE2eTest, DaguTriggerRunsTheAgentWithThePayloadRules) {
  const std::string agent = CreateAgent();
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/" + agent + "/webhook").body),
                                "token");

  // A top-level "payload" is what the run gets; "dagRunId" names the run.
  HttpResult r = Trigger(agent, R"({"payload":{"date":"2026-01-31","n":12345678901234567},)"
                                R"("dagRunId":"nightly-2026-01-31"})", token);
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = Parse(r.body);
  EXPECT_EQ(Str(answer, "dagRunId"), "nightly-2026-01-31");
  EXPECT_EQ(Str(answer, "dagName"), "nightly-etl");
  json::object message = Delivered(Str(answer, "runId"));
  EXPECT_EQ(json::serialize(message["payload"]), R"({"date":"2026-01-31","n":12345678901234567})");
  EXPECT_EQ(Str(message, "agent_id"), agent);
  EXPECT_EQ(Str(message["event"].as_object(), "delivery_id"), "nightly-2026-01-31");
  json::object run = WaitForRun(Str(answer, "runId"), {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "succeeded");
  EXPECT_EQ(Str(run, "agent_id"), agent);

  // The same dagRunId again: 409, and no second run.
  HttpResult reused = Trigger(agent, R"({"payload":{},"dagRunId":"nightly-2026-01-31"})", token);
  EXPECT_EQ(reused.status, 409) << reused.body;
  EXPECT_EQ(Str(Parse(reused.body), "code"), "already_exists");
  EXPECT_EQ(ErrorType(reused), "dag_run_id_in_use");

  // No "payload": the whole body. A generated dagRunId (UUID v7).
  HttpResult whole = Trigger(agent, R"({"ref":"main","dagRunIdX":1})", token);
  ASSERT_EQ(whole.status, 200) << whole.body;
  json::object whole_answer = Parse(whole.body);
  EXPECT_EQ(Str(whole_answer, "dagRunId").size(), 36u) << whole.body;
  EXPECT_EQ(Str(whole_answer, "dagRunId")[14], '7') << whole.body;
  EXPECT_EQ(json::serialize(Delivered(Str(whole_answer, "runId"))["payload"]),
            R"({"ref":"main","dagRunIdX":1})");

  // No body: {}.
  HttpResult empty = Trigger(agent, "", token);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json::serialize(Delivered(Str(Parse(empty.body), "runId"))["payload"]), "{}");

  // By the agent's name, as Dagu senders call it.
  HttpResult by_name = Trigger("nightly-etl", R"({"payload":{"k":"v"}})", token);
  ASSERT_EQ(by_name.status, 200) << by_name.body;
  EXPECT_EQ(json::serialize(Delivered(Str(Parse(by_name.body), "runId"))["payload"]),
            R"({"k":"v"})");

  // Not JSON: {} (Dagu's "no JSON body"; dagu_webhooks_e2e_test.cc). A dagRunId Dagu would
  // refuse: 400.
  HttpResult not_json = Trigger(agent, "{not json", token);
  ASSERT_EQ(not_json.status, 200) << not_json.body;
  EXPECT_EQ(json::serialize(Delivered(Str(Parse(not_json.body), "runId"))["payload"]), "{}");
  EXPECT_EQ(Trigger(agent, R"({"dagRunId":"../etc"})", token).status, 400);
}

TEST_F(CompatWebhooksE2eTest, DaguTriggerAnswers401403404ByTheWebhooksState) {
  const std::string agent = CreateAgent();
  EXPECT_EQ(Trigger(agent, "{}", "trgd_wh_whatever").status, 404);  // no webhook yet
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/" + agent + "/webhook").body),
                                "token");

  HttpResult missing = Trigger(agent, "{}", "");
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_EQ(Str(Parse(missing.body), "code"), "unauthorized");
  EXPECT_EQ(Trigger(agent, "{}", token + "x").status, 401);
  EXPECT_EQ(Trigger("nightly-etl", "{}", "").status, 401);
  EXPECT_EQ(Trigger("nightly-etl", "{}", "trgd_wh_nope").status, 401);
  EXPECT_EQ(Trigger("no-such-dag", "{}", token).status, 404);
  EXPECT_EQ(Trigger(agent, "{}", token).status, 200);

  // Regenerate: a new token, once; the old one stops at once.
  HttpResult regenerated = Api("POST", "/api/v1/dags/" + agent + "/webhook/regenerate");
  ASSERT_EQ(regenerated.status, 200) << regenerated.body;
  json::object fresh = Parse(regenerated.body);
  const std::string new_token = Str(fresh, "token");
  ASSERT_NE(new_token, token);
  EXPECT_EQ(Str(fresh["webhook"].as_object(), "tokenPrefix"), new_token.substr(0, 12));
  EXPECT_EQ(Trigger(agent, "{}", token).status, 401);
  EXPECT_EQ(Trigger(agent, "{}", new_token).status, 200);

  // Toggle off: 403; on again: 200.
  HttpResult off = Api("POST", "/api/v1/dags/" + agent + "/webhook/toggle", R"({"enabled":false})");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(Parse(off.body)["enabled"], json::value(false));
  HttpResult disabled = Trigger(agent, "{}", new_token);
  EXPECT_EQ(disabled.status, 403) << disabled.body;
  EXPECT_EQ(ErrorType(disabled), "webhook_disabled");
  EXPECT_EQ(Api("POST", "/api/v1/dags/" + agent + "/webhook/toggle", R"({"enabled":"no"})").status,
            400);
  ASSERT_EQ(Api("POST", "/api/v1/dags/" + agent + "/webhook/toggle", R"({"enabled":true})").status,
            200);
  EXPECT_EQ(Trigger(agent, "{}", new_token).status, 200);

  // Delete: 204, then 404 everywhere.
  EXPECT_EQ(Api("DELETE", "/api/v1/dags/" + agent + "/webhook").status, 204);
  EXPECT_EQ(Trigger(agent, "{}", new_token).status, 404);
  EXPECT_EQ(Api("GET", "/api/v1/dags/" + agent + "/webhook").status, 404);
  EXPECT_EQ(Api("DELETE", "/api/v1/dags/" + agent + "/webhook").status, 404);
}

TEST_F(CompatWebhooksE2eTest, DaguTriggerBodyLimitIsOneMebibyte) {
  const std::string agent = CreateAgent();
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/" + agent + "/webhook").body),
                                "token");
  constexpr size_t kLimit = 1048576;
  auto body_of = [](size_t size) {
    std::string prefix = R"({"payload":")", suffix = R"("})";
    return prefix + std::string(size - prefix.size() - suffix.size(), 'a') + suffix;
  };
  HttpResult at = Trigger(agent, body_of(kLimit), token);
  EXPECT_EQ(at.status, 200) << at.body.substr(0, 200);
  HttpResult over = Trigger(agent, body_of(kLimit + 1), token);
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_EQ(ErrorType(over), "payload_too_large");
  // Refused on the head: even without a token the body is never read.
  EXPECT_EQ(HttpClient("127.0.0.1", process_->port()).Send("POST", "/api/v1/webhooks/" + agent,
                                                            body_of(kLimit + 1)).status,
            413);
  // Chunked (no Content-Length): cut off at the limit.
  HttpClient chunked("127.0.0.1", process_->port());
  HttpResult cut = chunked.SendChunked("POST", "/api/v1/webhooks/" + agent, body_of(kLimit + 1),
                                       64 * 1024, {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(cut.status, 413) << cut.body;
  HttpClient chunked_ok("127.0.0.1", process_->port());
  EXPECT_EQ(chunked_ok.SendChunked("POST", "/api/v1/webhooks/" + agent, body_of(kLimit),
                                   64 * 1024, {{"Authorization", "Bearer " + token}})
                .status,
            200);
}

// ---------------------------------------------------------------- agent webhook endpoints

TEST_F(CompatWebhooksE2eTest, AgentWebhookIs404UntilConfiguredAndTheRunReachesTheAgent) {
  const std::string agent = CreateAgent("support-triage");
  const std::string path = "/agents/" + agent + "/webhook";
  HttpResult none = client_->Send("POST", path, "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(none.status, 404) << none.body;
  EXPECT_EQ(ErrorType(none), "webhook_not_found");
  EXPECT_EQ(client_->Send("GET", path).status, 404);
  EXPECT_EQ(Api("GET", "/api/v1/agents/" + agent + "/webhook").status, 404);

  HttpResult configured = Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                              R"({"description":"Zendesk tickets","metadata":{"team":"support"}})");
  ASSERT_EQ(configured.status, 201) << configured.body;
  json::object config = Parse(configured.body);
  EXPECT_EQ(config["has_secret"], json::value(false));
  EXPECT_EQ(config["enabled"], json::value(true));

  // Empty event_source: every caller.
  HttpResult posted = client_->Send("POST", path, R"({"ticket":{"id":42,"subject":"Refund"}})",
                                    {{"Content-Type", "application/json"}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  json::object answer = Parse(posted.body);
  EXPECT_EQ(Str(answer, "status"), "accepted");
  EXPECT_EQ(Str(answer, "agent_id"), agent);
  EXPECT_FALSE(Str(answer, "message").empty());
  const std::string run_id = Str(answer, "run_id");
  ASSERT_EQ(run_id.rfind("run_", 0), 0u) << posted.body;
  json::object message = Delivered(run_id);
  EXPECT_EQ(json::serialize(message["payload"]), R"({"ticket":{"id":42,"subject":"Refund"}})");
  json::object run = WaitForRun(run_id, {"succeeded", "failed", "dead"});
  EXPECT_EQ(Str(run, "status"), "succeeded");

  // Registration info.
  HttpResult info = client_->Send("GET", path);
  ASSERT_EQ(info.status, 200) << info.body;
  json::object registration = Parse(info.body);
  EXPECT_EQ(Str(registration, "url"),
            "http://127.0.0.1:" + std::to_string(process_->port()) + path);
  EXPECT_EQ(Str(registration, "method"), "POST");
  EXPECT_EQ(registration["secret_required"], json::value(false));
  EXPECT_EQ(registration["enabled"], json::value(true));
  EXPECT_EQ(Str(registration, "description"), "Zendesk tickets");
  EXPECT_EQ(json::serialize(registration["allowed_sources"]),
            R"({"event_source":"","allowed_ips":[]})");

  // Not JSON: 400. Deleting the agent takes its webhook along (it never blocks the delete).
  EXPECT_EQ(client_->Send("POST", path, "{oops").status, 400);
  EXPECT_EQ(Api("DELETE", "/api/v1/agents/" + agent).status, 204);
  EXPECT_EQ(client_->Send("POST", path, "{}").status, 404);
}

TEST_F(CompatWebhooksE2eTest, AgentWebhookSourceValidationChecksTheAddressThenTheOrigin) {
  const std::string agent = CreateAgent();
  const std::string path = "/agents/" + agent + "/webhook";
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                R"({"event_source":"https://app.example.com","allowed_ips":[]})")
                .status,
            201);
  auto post = [&](Headers headers) { return client_->Send("POST", path, "{}", headers).status; };
  // event_source alone: a browser-origin check.
  EXPECT_EQ(post({}), 403);
  EXPECT_EQ(post({{"Origin", "https://evil.example.net"}}), 403);
  EXPECT_EQ(post({{"Origin", "https://app.example.com.evil.net"}}), 403);
  EXPECT_EQ(post({{"Origin", "https://app.example.com"}}), 200);
  EXPECT_EQ(post({{"Origin", "http://APP.example.com:8443"}}), 200);  // hostname only
  EXPECT_EQ(post({{"Referer", "https://app.example.com/settings?x=1"}}), 200);
  HttpResult refused = client_->Send("GET", path);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(ErrorType(refused), "source_not_allowed");

  // allowed_ips set: the address must be in it whatever Origin says (issue 18, item 12: any
  // client sets Origin, so it cannot stand in for an address outside the list).
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                R"({"event_source":"https://app.example.com","allowed_ips":["10.1.2.0/24"]})")
                .status,
            200);
  EXPECT_EQ(post({{"Origin", "https://app.example.com"}}), 403);
  EXPECT_EQ(post({{"Referer", "https://app.example.com/x"}}), 403);
  EXPECT_EQ(post({}), 403);

  // The client address in allowed_ips allows, with or without an origin.
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook", R"({"allowed_ips":["127.0.0.1"]})")
                .status,
            200);
  EXPECT_EQ(post({}), 200);
  EXPECT_EQ(post({{"Origin", "https://evil.example.net"}}), 200);
  EXPECT_EQ(client_->Send("GET", path).status, 200);
  // A bare hostname as event_source works the same.
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                R"({"event_source":"hooks.example.org","allowed_ips":[]})")
                .status,
            200);
  EXPECT_EQ(post({}), 403);
  EXPECT_EQ(post({{"Origin", "https://hooks.example.org"}}), 200);
  // Bad configuration is refused with the field named.
  HttpResult bad = Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                       R"({"allowed_ips":["not-an-ip"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Str(Parse(bad.body)["error"].as_object(), "field"), "allowed_ips");
}

TEST_F(CompatWebhooksE2eTest, AgentWebhookChecksTheHmacWhenASecretIsSet) {
  const std::string agent = CreateAgent();
  const std::string path = "/agents/" + agent + "/webhook";
  const std::string secret = "s3cr3t-0123456789abcdef";
  HttpResult configured = Api("PUT", "/api/v1/agents/" + agent + "/webhook",
                              R"({"secret":")" + secret + "\"}");
  ASSERT_EQ(configured.status, 201) << configured.body;
  EXPECT_EQ(configured.body.find(secret), std::string::npos);
  EXPECT_EQ(Parse(configured.body)["has_secret"], json::value(true));

  const std::string body = R"({"alert":"disk full"})";
  const std::string signature =
      crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, body));
  HttpResult unsigned_post = client_->Send("POST", path, body);
  EXPECT_EQ(unsigned_post.status, 401) << unsigned_post.body;
  EXPECT_EQ(ErrorType(unsigned_post), "missing_signature");
  HttpResult wrong = client_->Send("POST", path, body,
                                   {{"X-Webhook-Signature", "sha256=" + std::string(64, '0')}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(ErrorType(wrong), "signature_mismatch");
  HttpResult signed_post =
      client_->Send("POST", path, body, {{"X-Webhook-Signature", "sha256=" + signature}});
  ASSERT_EQ(signed_post.status, 200) << signed_post.body;
  json::object message = Delivered(Str(Parse(signed_post.body), "run_id"));
  EXPECT_EQ(json::serialize(message["payload"]), body);
  // A bare hex signature is accepted too.
  EXPECT_EQ(client_->Send("POST", path, body, {{"X-Webhook-Signature", signature}}).status, 200);

  HttpResult info = client_->Send("GET", path);
  ASSERT_EQ(info.status, 200);
  json::object registration = Parse(info.body);
  EXPECT_EQ(registration["secret_required"], json::value(true));
  EXPECT_EQ(Str(registration, "signature_header"), "X-Webhook-Signature");
  EXPECT_EQ(info.body.find(secret), std::string::npos);

  // Removing the secret: unsigned posts are accepted again.
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook", R"({"secret":null})").status, 200);
  EXPECT_EQ(client_->Send("POST", path, body).status, 200);
}

TEST_F(CompatWebhooksE2eTest, AgentWebhookDisabledIs403AndManagementNeedsABuilder) {
  const std::string builder = CreateKey("builder");
  const std::string agent = CreateAgent("builders-agent", builder);
  const std::string path = "/agents/" + agent + "/webhook";
  EXPECT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook", "{}", CreateKey("user")).status,
            403);
  ASSERT_EQ(
      Api("PUT", "/api/v1/agents/" + agent + "/webhook", R"({"enabled":false})", builder).status,
      201);
  HttpResult disabled = client_->Send("POST", path, "{}");
  EXPECT_EQ(disabled.status, 403);
  EXPECT_EQ(ErrorType(disabled), "webhook_disabled");
  EXPECT_EQ(client_->Send("GET", path).status, 403);
  ASSERT_EQ(Api("PUT", "/api/v1/agents/" + agent + "/webhook", R"({"enabled":true})").status, 200);
  EXPECT_EQ(client_->Send("POST", path, "{}").status, 200);
  HttpResult unknown = Api("PUT", "/api/v1/agents/" + agent + "/webhook", R"({"colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  // Over 1 MiB: 413 on the head.
  EXPECT_EQ(client_->Send("POST", path, std::string(1048577, ' ')).status, 413);
  EXPECT_EQ(Api("DELETE", "/api/v1/agents/" + agent + "/webhook").status, 204);
  EXPECT_EQ(client_->Send("POST", path, "{}").status, 404);
}

// The owner rule of PATCH /api/v1/agents/{id} (403 not_owner) holds for the routes that change an
// agent's webhook: another builder can neither open it nor drop its secret or source checks.
TEST_F(CompatWebhooksE2eTest, AgentWebhookChangesNeedTheAgentsCreatorOrAnAdmin) {
  const std::string owner = CreateKey("builder");
  const std::string other = CreateKey("builder");
  const std::string agent = CreateAgent("owned-agent", owner);
  const std::string management = "/api/v1/agents/" + agent + "/webhook";
  const std::string secret = "0123456789abcdef-secret";
  auto refused = [&](const std::string& method, const std::string& body) {
    HttpResult r = Api(method, management, body, other);
    EXPECT_EQ(r.status, 403) << method << ": " << r.body;
    EXPECT_EQ(ErrorType(r), "not_owner") << r.body;
  };
  refused("PUT", R"({"enabled":true})");  // creating one
  ASSERT_EQ(Api("PUT", management,
                R"({"enabled":true,"secret":")" + secret + R"(","allowed_ips":["10.9.9.9"]})",
                owner)
                .status,
            201);
  refused("PUT", R"({"secret":null,"allowed_ips":[]})");
  refused("PUT", R"({"enabled":false})");
  refused("DELETE", "");
  EXPECT_EQ(Api("GET", management, "", other).status, 200);
  json::object config = Parse(Api("GET", management).body);
  EXPECT_EQ(config["has_secret"], json::value(true));
  EXPECT_EQ(config["allowed_ips"].as_array().size(), 1u);
  // The agent itself, as before.
  EXPECT_EQ(Api("PATCH", "/api/v1/agents/" + agent, R"({"name":"x"})", other).status, 403);

  // The creator and an admin may.
  EXPECT_EQ(Api("PUT", management, R"({"enabled":false})", owner).status, 200);
  EXPECT_EQ(Api("PUT", management, R"({"enabled":true})").status, 200);
  EXPECT_EQ(Api("DELETE", management, "", owner).status, 204);
  EXPECT_EQ(Api("PUT", management, "{}").status, 201);
  EXPECT_EQ(Api("DELETE", management).status, 204);
}

}  // namespace
}  // namespace triggerd
