// Dagu-style per-DAG webhooks (docs/COMPATIBILITY.md, section 3) as a Dagu user drives them: the
// requests of Dagu's webhook documentation (docs.dagu.sh, "Webhooks": create, trigger with and
// without a payload, the dagRunId wrapper, the HMAC routes and X-Dagu-Signature) replayed against
// the real binary on loopback, answers checked field by field, and what a Dagu step reads
// (WEBHOOK_PAYLOAD, DAG_RUN_ID) read back from a real command agent's environment.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "http_client.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::TempDir;
using testing::TriggerdProcess;
namespace json = boost::json;
using namespace std::chrono_literals;

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text.substr(0, 300);
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// X-Dagu-Signature for `body`, computed with OpenSSL directly: "sha256=" + lower-case hex.
std::string DaguSignature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

// The variables of an `env` dump, NAME -> value (every value here is one line).
std::map<std::string, std::string> EnvLines(const std::string& dump) {
  std::map<std::string, std::string> vars;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}

class DaguWebhooksE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = dir_.path() / "triggerd.yaml";
    std::ofstream(config) << "retry_base_ms: 50\nretry_max_ms: 400\ndispatch_workers: 4\n"
                          << "api:\n  command_agents: true\n";
    process_ = std::make_unique<TriggerdProcess>(
        dir_.path() / "data", std::vector<std::string>{"--config", config.string()});
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    out_ = dir_.path() / "step-out";
    std::filesystem::create_directories(out_);
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = "") {
    Headers headers{{"Authorization", "Bearer " + (key.empty() ? admin_ : key)}};
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return client_->Send(method, path, body, headers);
  }

  std::string CreateKey(const std::string& role) {
    HttpResult r = Api("POST", "/api/v1/keys", R"({"name":"k","role":")" + role + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "key");
  }

  // A DAG: a command agent running tests/e2e/scripts/dagu_step.sh, created with `key`.
  std::string CreateDag(const std::string& name, const std::string& key = "") {
    const auto script =
        std::filesystem::path(TRIGGERD_SOURCE_DIR) / "tests/e2e/scripts/dagu_step.sh";
    json::object spec{{"name", name},
                      {"max_attempts", 1},
                      {"target",
                       {{"type", "command"},
                        {"argv", json::array{"/bin/sh", script.string(), out_.string()}},
                        {"timeout_ms", 10000}}}};
    HttpResult r = Api("POST", "/api/v1/agents", json::serialize(spec), key);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "id");
  }

  // A DAG of a builder (command agents are an admin's): an http agent, never triggered here.
  std::string CreateBuildersDag(const std::string& name, const std::string& key) {
    json::object spec{{"name", name},
                      {"target", {{"type", "http"}, {"url", "http://127.0.0.1:9/never"}}}};
    HttpResult r = Api("POST", "/api/v1/agents", json::serialize(spec), key);
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r.body), "id");
  }

  // POST /api/v1/webhooks/{name} exactly as the curl lines of Dagu's documentation send it.
  HttpResult Trigger(const std::string& name, const std::string& token, const std::string& body,
                     Headers extra = {}) {
    Headers headers;
    if (!token.empty()) headers.push_back({"Authorization", "Bearer " + token});
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    for (auto& h : extra) headers.push_back(h);
    return client_->Send("POST", "/api/v1/webhooks/" + name, body, headers);
  }

  json::object WaitForRun(const std::string& run_id) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    json::object run;
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResult r = Api("GET", "/api/v1/runs/" + run_id);
      EXPECT_EQ(r.status, 200) << r.body;
      run = Parse(r.body);
      const std::string status = Str(run, "status");
      if (status == "succeeded" || status == "failed" || status == "dead") return run;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "run " << run_id << " never ended: " << json::serialize(run);
    return run;
  }

  // What the step of run `run_id` saw: its `env` dump, WEBHOOK_PAYLOAD exactly, its stdin.
  struct Step {
    std::map<std::string, std::string> env;
    std::string payload;
    std::string stdin_text;
  };
  Step StepOf(const std::string& run_id) {
    json::object run = WaitForRun(run_id);
    EXPECT_EQ(Str(run, "status"), "succeeded") << json::serialize(run);
    return {EnvLines(testing::ReadFileOrDie(out_ / (run_id + ".env"))),
            testing::ReadFileOrDie(out_ / (run_id + ".payload")),
            testing::ReadFileOrDie(out_ / (run_id + ".stdin"))};
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
  std::filesystem::path out_;
};

// A builder's DAG stays theirs to manage by name when another builder names an agent the same
// (issue 20: no ambiguous_name for the owner's own DAG).
TEST_F(DaguWebhooksE2eTest, OwnerManagesTheirDagByNameAfterAnotherBuilderReusesIt) {
  const std::string alice = CreateKey("builder");
  const std::string bob = CreateKey("builder");
  CreateBuildersDag("deploy", alice);
  HttpResult created = Api("POST", "/api/v1/dags/deploy/webhook", "", alice);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string token = Str(Parse(created.body), "token");
  const std::string alices_agent = Str(Parse(created.body).at("webhook").as_object(), "agentId");

  const std::string bobs_agent = CreateBuildersDag("deploy", bob);
  // Alice: her DAG, by name, for every management call.
  HttpResult shown = Api("GET", "/api/v1/dags/deploy/webhook", "", alice);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(Str(Parse(shown.body), "agentId"), alices_agent);
  EXPECT_EQ(Api("POST", "/api/v1/dags/deploy/webhook/toggle", R"({"enabled":false})", alice).status,
            200);
  EXPECT_EQ(Api("POST", "/api/v1/dags/deploy/webhook/toggle", R"({"enabled":true})", alice).status,
            200);
  HttpResult regenerated = Api("POST", "/api/v1/dags/deploy/webhook/regenerate", "", alice);
  ASSERT_EQ(regenerated.status, 200) << regenerated.body;
  // Bob: his own agent of that name, which has no webhook yet; he may create one.
  HttpResult bobs = Api("GET", "/api/v1/dags/deploy/webhook", "", bob);
  EXPECT_EQ(bobs.status, 404) << bobs.body;
  HttpResult bob_created = Api("POST", "/api/v1/dags/deploy/webhook", "", bob);
  ASSERT_EQ(bob_created.status, 201) << bob_created.body;
  EXPECT_EQ(Str(Parse(bob_created.body).at("webhook").as_object(), "agentId"), bobs_agent);
  // Someone who owns neither (the admin) must use the agent id.
  HttpResult admin = Api("GET", "/api/v1/dags/deploy/webhook");
  EXPECT_EQ(admin.status, 409) << admin.body;
  EXPECT_EQ(Str(Parse(admin.body).at("error").as_object(), "type"), "ambiguous_name");
  EXPECT_EQ(Api("GET", "/api/v1/dags/" + alices_agent + "/webhook").status, 200);
  // Alice deletes hers by name; Bob's stays.
  EXPECT_EQ(Api("DELETE", "/api/v1/dags/deploy/webhook", "", alice).status, 204);
  EXPECT_EQ(Api("GET", "/api/v1/dags/" + bobs_agent + "/webhook").status, 200);
  EXPECT_EQ(Api("GET", "/api/v1/dags/" + alices_agent + "/webhook").status, 404);
}

}  // namespace
}  // namespace triggerd
