// Declarative config end to end (app/declared.h): the real binary started with a triggerd.yaml
// that declares a source, an agent and a trigger; signed GitHub webhooks start runs delivered to
// a real agent endpoint on loopback; the file is edited and reloaded by SIGHUP and by the file
// watcher; a broken file is refused (file:line in the log) while the running config keeps
// working; the API refuses to change managed objects (409).
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
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

constexpr char kSecret[] = "declared-e2e-github-secret";

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

// Polls `done` until it holds or a generous deadline passes.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class DeclaredConfigE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The child inherits the test's environment: the secret comes from ${E2E_GITHUB_SECRET}.
    ::setenv("E2E_GITHUB_SECRET", kSecret, 1);
    config_path_ = (dir_.path() / "triggerd.yaml").string();
  }
  void TearDown() override { ::unsetenv("E2E_GITHUB_SECRET"); }

  // The config file: service settings (`extra` first), then one source, one agent and one trigger.
  std::string Config(const std::string& filter, bool watch, const std::string& extra = "") const {
    return extra + "retry_base_ms: 50\nretry_max_ms: 400\nwatch_config: " +
           (watch ? "true" : "false") +
           "\n"
           "workspaces:\n"
           "  - name: default\n"
           "    sources:\n"
           "      - name: github-main\n"
           "        kind: github\n"
           "        secret: ${E2E_GITHUB_SECRET}\n"
           "    agents:\n"
           "      - name: triage\n"
           "        target: {type: http, url: \"" +
           target_.Url("/run") +
           "\"}\n"
           "    triggers:\n"
           "      - name: on-action\n"
           "        source: github-main\n"
           "        agent: triage\n"
           "        filter: '" +
           filter + "'\n";
  }
  void WriteConfig(const std::string& text) const {
    // Written whole and renamed into place, as deploy tools do.
    std::string tmp = config_path_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, config_path_);
  }

  void Start(bool watch) {
    WriteConfig(Config(R"((eq "action" "opened"))", watch));
    process_ = std::make_unique<TriggerdProcess>(
        dir_.path() / "data", std::vector<std::string>{"--config", config_path_});
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "") {
    return client_->Send(
        method, path, body,
        {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}});
  }

  json::object Source() {
    HttpResult list = Api("GET", "/api/v1/sources");
    EXPECT_EQ(list.status, 200) << list.body;
    json::object page = Parse(list.body);
    for (const auto& s : page["data"].as_array()) {
      if (Str(s.as_object(), "name") == "github-main") return s.as_object();
    }
    ADD_FAILURE() << "no declared source in " << list.body;
    return {};
  }

  // Posts a GitHub-signed pull_request event; returns the number of runs it started (-1 when it
  // was not accepted).
  int Post(const std::string& action) {
    const std::string url = Str(Source(), "url");
    const std::string path = url.substr(url.find("/api/v1/w/"));
    const std::string body = R"({"action":")" + action + R"(","number":7})";
    HttpResult r = client_->Send(
        "POST", path, body,
        {{"Content-Type", "application/json"},
         {"X-Hub-Signature-256", "sha256=" + crypto::HexEncode(crypto::Hmac(
                                                 crypto::DigestAlgorithm::kSha256, kSecret, body))},
         {"X-GitHub-Event", "pull_request"},
         {"X-GitHub-Delivery", "d-" + std::to_string(++deliveries_)}});
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return -1;
    return static_cast<int>(Parse(r.body)["runs"].as_array().size());
  }

  TempDir dir_;
  RecordingTarget target_{
      [](const RecordingTarget::Received&, const std::vector<RecordingTarget::Received>&) {
        return RecordingTarget::Reply(200, R"({"ok":true})");
      }};
  std::string config_path_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
  int deliveries_ = 0;
};

TEST_F(DeclaredConfigE2eTest, DeclaredTriggerRunsAndSighupAppliesEditsButNotBrokenFiles) {
  Start(/*watch=*/false);
  EXPECT_NE(process_->Output().find(
                "config applied: 1 source created, 1 agent created, 1 trigger created"),
            std::string::npos)
      << process_->Output();
  // The agent has no signing_secret in the file: its generated one is never shown, so say so.
  EXPECT_NE(process_->Output().find("declared agent \"triage\" signs its deliveries with a "
                                    "generated secret that is never shown"),
            std::string::npos)
      << process_->Output();
  json::object source = Source();
  EXPECT_EQ(Str(source, "managed_by"), "config");
  const std::string url = Str(source, "url");

  EXPECT_EQ(Post("opened"), 1);
  EXPECT_EQ(Post("closed"), 0);
  ASSERT_TRUE(target_.WaitFor([](const auto& received) { return received.size() == 1; }, 20s));

  // Edit the filter and send SIGHUP: the new filter decides from then on.
  WriteConfig(Config(R"((eq "action" "closed"))", false));
  ASSERT_EQ(::kill(process_->pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] {
    return process_->Output().find("1 trigger updated") != std::string::npos;
  })) << process_->Output();
  EXPECT_EQ(Post("closed"), 1);
  EXPECT_EQ(Post("opened"), 0);
  EXPECT_EQ(Str(Source(), "url"), url);  // the ingest URL is stable across reloads

  // A broken file is refused with file:line; the running config keeps working.
  WriteConfig(Config(R"((andd "action" "opened"))", false));
  ASSERT_EQ(::kill(process_->pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] {
    return process_->Output().find("refused, running config kept") != std::string::npos;
  })) << process_->Output();
  EXPECT_NE(process_->Output().find(config_path_ + ":17: workspace \"default\": trigger "
                                                   "\"on-action\": filter 1:2: unknown operator"),
            std::string::npos)
      << process_->Output();
  EXPECT_EQ(Post("closed"), 1);
  EXPECT_EQ(Post("opened"), 0);
  // The secret never reaches the log.
  EXPECT_EQ(process_->Output().find(kSecret), std::string::npos);

  // Managed objects: reads allowed, changes refused with 409 naming the file.
  const std::string source_path = "/api/v1/sources/" + Str(source, "id");
  EXPECT_EQ(Api("GET", source_path).status, 200);
  HttpResult patch = Api("PATCH", source_path, R"({"enabled":false})");
  EXPECT_EQ(patch.status, 409) << patch.body;
  json::object error = Parse(patch.body)["error"].as_object();
  EXPECT_EQ(Str(error, "type"), "managed_by_config");
  EXPECT_NE(Str(error, "message").find(config_path_), std::string::npos) << patch.body;
  EXPECT_EQ(Api("DELETE", source_path).status, 409);
  EXPECT_EQ(Api("POST", source_path + "/rotate").status, 409);

  json::object agent = Parse(Api("GET", "/api/v1/agents").body)["data"].as_array()[0].as_object();
  EXPECT_EQ(Str(agent, "managed_by"), "config");
  EXPECT_EQ(Api("PATCH", "/api/v1/agents/" + Str(agent, "id"), R"({"max_attempts":2})").status,
            409);
  EXPECT_EQ(Api("DELETE", "/api/v1/agents/" + Str(agent, "id")).status, 409);
  json::object trigger =
      Parse(Api("GET", "/api/v1/triggers").body)["data"].as_array()[0].as_object();
  EXPECT_EQ(Str(trigger, "managed_by"), "config");
  EXPECT_EQ(Api("PATCH", "/api/v1/triggers/" + Str(trigger, "id"), R"({"enabled":false})").status,
            409);
  EXPECT_EQ(Api("DELETE", "/api/v1/triggers/" + Str(trigger, "id")).status, 409);
  // Objects made through the API stay the API's to change.
  HttpResult made = Api("POST", "/api/v1/sources", R"({"name":"api-made"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_TRUE(Parse(made.body)["managed_by"].is_null());
  EXPECT_EQ(Api("DELETE", "/api/v1/sources/" + Str(Parse(made.body), "id")).status, 204);

  EXPECT_EQ(process_->Stop(), 0);
}

// The outbound policy (`outbound:`) guards the agent calls of the running binary, and SIGHUP
// applies a changed policy without a restart.
TEST_F(DeclaredConfigE2eTest, TheOutboundPolicyRefusesAnAgentUntilAReloadAllowsIt) {
  const std::string filter = R"((eq "action" "opened"))";
  WriteConfig(Config(filter, false, "outbound:\n  deny_networks: [default, loopback]\n"));
  process_ = std::make_unique<TriggerdProcess>(
      dir_.path() / "data", std::vector<std::string>{"--config", config_path_});
  ASSERT_TRUE(process_->Start()) << process_->error();
  client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
  admin_ = process_->AdminKey();

  ASSERT_EQ(Post("opened"), 1);
  json::object run;
  ASSERT_TRUE(Eventually([&] {
    run = Parse(Api("GET", "/api/v1/runs").body)["data"].as_array()[0].as_object();
    return Str(run, "status") == "failed";
  })) << json::serialize(run);
  EXPECT_EQ(Str(run, "last_error"),
            "outbound policy refused 127.0.0.1 (outbound.deny_networks: loopback)");
  EXPECT_EQ(run["attempts"].as_int64(), 1);  // permanent: not retried
  EXPECT_TRUE(target_.requests().empty());

  WriteConfig(Config(filter, false,
                     "outbound:\n  deny_networks: [default, loopback]\n"
                     "  allow_networks: [127.0.0.1]\n"));
  ASSERT_EQ(::kill(process_->pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] {
    return process_->Output().find("SIGHUP") != std::string::npos;
  })) << process_->Output();
  ASSERT_EQ(Post("opened"), 1);
  EXPECT_TRUE(target_.WaitFor([](const auto& received) { return received.size() == 1; }, 20s));
  EXPECT_EQ(process_->Stop(), 0);
}

TEST_F(DeclaredConfigE2eTest, AChangedFileIsAppliedWithoutASignal) {
  Start(/*watch=*/true);
  EXPECT_EQ(Post("reopened"), 0);
  WriteConfig(Config(R"((eq "action" "reopened"))", true));
  ASSERT_TRUE(Eventually([&] { return Count(process_->Output(), "1 trigger updated") == 1; }))
      << process_->Output();
  EXPECT_NE(process_->Output().find("file changed"), std::string::npos);
  EXPECT_EQ(Post("reopened"), 1);
  EXPECT_EQ(Post("opened"), 0);
  EXPECT_EQ(process_->Stop(), 0);
}

// SIGHUP and the file watcher are two ways to one reload: an edit made right after a SIGHUP
// reload (well within the watcher's debounce) must still be applied, here an edit that puts back
// the content the service started with. Whatever the timing, the running config ends equal to
// the file's last content.
TEST_F(DeclaredConfigE2eTest, AnEditRightAfterASighupReloadIsApplied) {
  Start(/*watch=*/true);
  auto filter_of_trigger = [&] {
    HttpResult list = Api("GET", "/api/v1/triggers");
    if (list.status != 200) return std::string();
    json::array data = Parse(list.body)["data"].as_array();
    return data.size() == 1 ? Str(data[0].as_object(), "filter") : std::string();
  };
  const std::string started = filter_of_trigger();
  ASSERT_NE(started.find("opened"), std::string::npos) << started;

  WriteConfig(Config(R"((eq "action" "closed"))", true));
  ASSERT_EQ(::kill(process_->pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] {
    return process_->Output().find("1 trigger updated") != std::string::npos;
  })) << process_->Output();
  WriteConfig(Config(R"((eq "action" "opened"))", true));  // within the debounce window

  EXPECT_TRUE(Eventually([&] { return filter_of_trigger() == started; }))
      << "running filter: " << filter_of_trigger() << "\n"
      << process_->Output();
  EXPECT_EQ(Post("opened"), 1);
  EXPECT_EQ(Post("closed"), 0);
  EXPECT_EQ(process_->Stop(), 0);
}

TEST_F(DeclaredConfigE2eTest, ABrokenFileStopsTheStartWithItsLine) {
  ::unsetenv("E2E_GITHUB_SECRET");
  WriteConfig(Config(R"((eq "action" "opened"))", false));
  process_ = std::make_unique<TriggerdProcess>(dir_.path() / "data",
                                               std::vector<std::string>{"--config", config_path_});
  ASSERT_FALSE(process_->Start());
  EXPECT_NE(process_->error().find(config_path_ +
                                   ":9: environment variable E2E_GITHUB_SECRET is not set"),
            std::string::npos)
      << process_->error();
}

}  // namespace
}  // namespace triggerd
