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

// The webhook object of Dagu's WebhookDetails, token_only.
void ExpectTokenOnlyWebhook(const json::object& w, const std::string& dag_name,
                            const std::string& token) {
  EXPECT_EQ(Str(w, "dagName"), dag_name);
  EXPECT_TRUE(Str(w, "id").starts_with("whk_")) << json::serialize(w);
  EXPECT_EQ(Str(w, "tokenPrefix"), token.substr(0, 12));
  EXPECT_EQ(w.at("enabled"), json::value(true));
  EXPECT_EQ(Str(w, "authMode"), "token_only");
  EXPECT_EQ(w.at("hmac"), json::parse(R"({"enabled":false,"secretConfigured":false})"));
  EXPECT_TRUE(Str(w, "createdAt").starts_with("20") && Str(w, "createdAt").ends_with("Z"))
      << json::serialize(w);  // RFC 3339, UTC
  EXPECT_EQ(Str(w, "updatedAt"), Str(w, "createdAt"));
  EXPECT_TRUE(Str(w, "createdBy").starts_with("key_")) << json::serialize(w);
}

// docs.dagu.sh "Webhooks": create, then "Trigger with payload", the wrapper form with a
// dagRunId, the bare trigger; "Payload Handling": WEBHOOK_PAYLOAD is the payload member, else the
// raw JSON body, else {}.
TEST_F(DaguWebhooksE2eTest, DocumentedRequestsGiveTheStepWebhookPayloadAndDagRunId) {
  CreateDag("my-dag");

  // curl -X POST http://localhost:8080/api/v1/dags/my-dag/webhook -H "Authorization: Bearer $TOKEN"
  HttpResult created = Api("POST", "/api/v1/dags/my-dag/webhook");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object create_answer = Parse(created.body);
  const std::string token = Str(create_answer, "token");
  ASSERT_TRUE(token.starts_with("trgd_wh_")) << created.body;
  ExpectTokenOnlyWebhook(create_answer.at("webhook").as_object(), "my-dag", token);
  EXPECT_FALSE(create_answer.at("webhook").as_object().contains("lastUsedAt"));

  // Trigger with payload:
  //   -H "Content-Type: application/json" -d '{"payload":{"branch":"main","commit":"abc123"}}'
  HttpResult with_payload =
      Trigger("my-dag", token, R"({"payload":{"branch":"main","commit":"abc123"}})");
  ASSERT_EQ(with_payload.status, 200) << with_payload.body;
  json::object answer = Parse(with_payload.body);
  const std::string dag_run_id = Str(answer, "dagRunId");
  EXPECT_EQ(dag_run_id.size(), 36u) << with_payload.body;  // a UUID v7, as Dagu's
  EXPECT_EQ(dag_run_id[14], '7') << with_payload.body;
  EXPECT_EQ(Str(answer, "dagName"), "my-dag");
  Step step = StepOf(Str(answer, "runId"));
  EXPECT_EQ(step.payload, R"({"branch":"main","commit":"abc123"})");
  EXPECT_EQ(step.env["WEBHOOK_PAYLOAD"], R"({"branch":"main","commit":"abc123"})");
  EXPECT_EQ(step.env["DAG_RUN_ID"], dag_run_id);
  EXPECT_EQ(step.env["WEBHOOK_HEADERS"], "{}");  // Dagu's without forward_headers
  EXPECT_EQ(step.env.count("WEBHOOK_PAYLOAD_TRUNCATED"), 0u);
  EXPECT_EQ(step.stdin_text, step.payload);

  // The wrapper form: {"dagRunId": "deploy-abc123", "payload": {...}}.
  const std::string wrapper =
      "{\n  \"dagRunId\": \"deploy-abc123\",\n  \"payload\": {\n    \"branch\": \"main\",\n"
      "    \"commit\": \"abc123\"\n  }\n}";
  HttpResult wrapped = Trigger("my-dag", token, wrapper);
  ASSERT_EQ(wrapped.status, 200) << wrapped.body;
  EXPECT_EQ(Str(Parse(wrapped.body), "dagRunId"), "deploy-abc123");
  EXPECT_EQ(Str(Parse(wrapped.body), "dagName"), "my-dag");
  step = StepOf(Str(Parse(wrapped.body), "runId"));
  EXPECT_EQ(step.payload, R"({"branch":"main","commit":"abc123"})");
  EXPECT_EQ(step.env["DAG_RUN_ID"], "deploy-abc123");
  // The same dagRunId again: 409 {"code":"already_exists"}, and no run.
  HttpResult reused = Trigger("my-dag", token, wrapper);
  EXPECT_EQ(reused.status, 409) << reused.body;
  EXPECT_EQ(Str(Parse(reused.body), "code"), "already_exists");
  EXPECT_EQ(Str(Parse(reused.body), "message"), "dag-run with ID deploy-abc123 already exists");

  // curl -X POST http://localhost:8080/api/v1/webhooks/my-dag -H "Authorization: Bearer $T": no
  // body at all, so WEBHOOK_PAYLOAD is {}.
  HttpResult bare = Trigger("my-dag", token, "");
  ASSERT_EQ(bare.status, 200) << bare.body;
  step = StepOf(Str(Parse(bare.body), "runId"));
  EXPECT_EQ(step.payload, "{}");
  EXPECT_EQ(step.env["DAG_RUN_ID"], Str(Parse(bare.body), "dagRunId"));

  // No payload member: the raw JSON body, byte for byte (a sender's own webhook, spaces kept).
  const std::string raw = "{ \"ref\": \"refs/heads/main\",\n  \"after\": \"abc123\", \"n\": 1.50 }";
  HttpResult whole = Trigger("my-dag", token, raw);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(StepOf(Str(Parse(whole.body), "runId")).payload, raw);

  // A body that is not JSON (a form post): runs, with WEBHOOK_PAYLOAD {} (was 400).
  HttpResult form = client_->Send("POST", "/api/v1/webhooks/my-dag", "ref=main&after=abc123",
                                  {{"Authorization", "Bearer " + token},
                                   {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(form.status, 200) << form.body;
  step = StepOf(Str(Parse(form.body), "runId"));
  EXPECT_EQ(step.payload, "{}");
  EXPECT_EQ(step.env["DAG_RUN_ID"], Str(Parse(form.body), "dagRunId"));

  // The payload member as Go's json.Marshal writes it: keys sorted, compact, <>& escaped, a
  // float as Go prints it; integers keep every digit (docs/COMPATIBILITY.md).
  HttpResult go =
      Trigger("my-dag", token,
              R"({"payload": {"z": [1.50, 1e21, 0.0000001, -2.5e-3], "a": "<b> & \u2028", )"
              R"("m": 9007199254740993, "c": "\b\f\n\r\t\u0001\"\\/é"}})");
  ASSERT_EQ(go.status, 200) << go.body;
  EXPECT_EQ(StepOf(Str(Parse(go.body), "runId")).payload,
            R"({"a":"\u003cb\u003e \u0026 \u2028","c":"\b\f\n\r\t\u0001\"\\/é",)"
            R"("m":9007199254740993,)"
            R"("z":[1.5,1e+21,1e-7,-0.0025]})");

  // lastUsedAt: set once the webhook has run.
  HttpResult shown = Api("GET", "/api/v1/dags/my-dag/webhook");
  ASSERT_EQ(shown.status, 200) << shown.body;
  json::object w = Parse(shown.body);
  EXPECT_GE(Str(w, "lastUsedAt"), Str(w, "createdAt")) << shown.body;
  EXPECT_EQ(Str(w, "lastUsedAt").size(), Str(w, "createdAt").size()) << shown.body;
  HttpResult listed = Api("GET", "/api/v1/webhooks");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(Str(Parse(listed.body).at("webhooks").as_array().at(0).as_object(), "lastUsedAt"),
            Str(w, "lastUsedAt"));
}

// "Very large payloads may still exceed operating-system limits": WEBHOOK_PAYLOAD is set while
// its entry fits Linux's 128 KiB per-string limit (payloads up to 131,055 bytes); above, the step
// still starts, without it, with WEBHOOK_PAYLOAD_TRUNCATED=1 and the payload on stdin.
TEST_F(DaguWebhooksE2eTest, LargePayloadIsInTheVariableUpToTheLimitThenOnlyOnStdin) {
  CreateDag("big-dag");
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/big-dag/webhook").body), "token");
  constexpr size_t kLimit = 131055;
  auto body_of = [](size_t payload_size) {  // {"payload":"ppp…"}: the payload is the string
    return R"({"payload":")" + std::string(payload_size - 2, 'p') + "\"}";
  };
  HttpResult at = Trigger("big-dag", token, body_of(kLimit));
  ASSERT_EQ(at.status, 200) << at.body;
  Step step = StepOf(Str(Parse(at.body), "runId"));
  EXPECT_EQ(step.payload.size(), kLimit);
  EXPECT_EQ(step.payload, "\"" + std::string(kLimit - 2, 'p') + "\"");
  EXPECT_EQ(step.env.count("WEBHOOK_PAYLOAD_TRUNCATED"), 0u);

  HttpResult over = Trigger("big-dag", token, body_of(kLimit + 1));
  ASSERT_EQ(over.status, 200) << over.body;
  step = StepOf(Str(Parse(over.body), "runId"));
  EXPECT_EQ(step.payload, "<unset>");
  EXPECT_EQ(step.env["WEBHOOK_PAYLOAD_TRUNCATED"], "1");
  EXPECT_EQ(step.env["DAG_RUN_ID"], Str(Parse(over.body), "dagRunId"));
  EXPECT_EQ(step.stdin_text, "\"" + std::string(kLimit - 1, 'p') + "\"");
}

// Dagu's 413 is {"code":"bad_request"} (its error-code enum has nothing else for it).
TEST_F(DaguWebhooksE2eTest, BodyOverOneMebibyteIs413WithDagusCode) {
  CreateDag("my-dag");
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/my-dag/webhook").body), "token");
  HttpResult over = Trigger("my-dag", token, std::string(1048577, ' '));
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_EQ(Str(Parse(over.body), "code"), "bad_request");
  EXPECT_EQ(Str(Parse(over.body), "message"), "webhook payload too large (max 1048576 bytes)");
}

// Dagu's optional HMAC (POST /dags/{name}/webhook/hmac/{enable,configure,regenerate,disable};
// X-Dagu-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>), strict and observe.
TEST_F(DaguWebhooksE2eTest, HmacStrictRefusesObserveLogsAndBothNeedTheToken) {
  CreateDag("my-dag");
  const std::string token = Str(Parse(Api("POST", "/api/v1/dags/my-dag/webhook").body), "token");
  const std::string base = "/api/v1/dags/my-dag/webhook/hmac";

  // Not enabled yet: configure and regenerate are 400.
  EXPECT_EQ(Api("POST", base + "/configure", R"({"authMode":"token_and_hmac"})").status, 400);
  EXPECT_EQ(Api("POST", base + "/regenerate").status, 400);

  // {"authMode":"token_and_hmac","enforcementMode":"strict"} (the documented example).
  HttpResult enabled =
      Api("POST", base + "/enable", R"({"authMode":"token_and_hmac","enforcementMode":"strict"})");
  ASSERT_EQ(enabled.status, 200) << enabled.body;
  json::object enable_answer = Parse(enabled.body);
  const std::string secret = Str(enable_answer, "hmacSecret");
  ASSERT_GE(secret.size(), 32u) << enabled.body;
  json::object w = enable_answer.at("webhook").as_object();
  EXPECT_EQ(Str(w, "authMode"), "token_and_hmac");
  json::object hmac = w.at("hmac").as_object();
  EXPECT_EQ(hmac.at("enabled"), json::value(true));
  EXPECT_EQ(hmac.at("secretConfigured"), json::value(true));
  EXPECT_EQ(Str(hmac, "enforcementMode"), "strict");
  EXPECT_EQ(Str(hmac, "algorithm"), "HMAC-SHA256");
  EXPECT_EQ(Str(hmac, "headerName"), "X-Dagu-Signature");
  EXPECT_EQ(Str(hmac, "format"), "sha256=<hex>");
  EXPECT_EQ(Str(hmac, "updatedAt"), Str(w, "updatedAt"));
  EXPECT_EQ(Parse(Api("GET", "/api/v1/dags/my-dag/webhook").body).at("hmac"), w.at("hmac"));
  // Shown once: in this answer only as hmacSecret, never by a read.
  EXPECT_EQ(enabled.body.find(secret, enabled.body.find(secret) + 1), std::string::npos);
  EXPECT_EQ(Api("GET", "/api/v1/dags/my-dag/webhook").body.find(secret), std::string::npos);

  const std::string body = R"({"payload":{"branch":"main"}})";
  HttpResult signed_ok =
      Trigger("my-dag", token, body, {{"X-Dagu-Signature", DaguSignature(secret, body)}});
  ASSERT_EQ(signed_ok.status, 200) << signed_ok.body;
  EXPECT_EQ(StepOf(Str(Parse(signed_ok.body), "runId")).payload, R"({"branch":"main"})");
  // Upper-case hex decodes to the same bytes.
  std::string upper = DaguSignature(secret, body);
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_EQ(Trigger("my-dag", token, body, {{"X-Dagu-Signature", upper}}).status, 200);

  HttpResult missing = Trigger("my-dag", token, body);
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_EQ(Str(Parse(missing.body), "code"), "unauthorized");
  EXPECT_EQ(Str(Parse(missing.body), "message"), "missing webhook HMAC signature");
  for (const std::string& wrong :
       {DaguSignature(secret, body + " "), DaguSignature(secret + "x", body),
        DaguSignature(secret, body).substr(7), std::string("sha256=zz"), std::string("sha1=ab")}) {
    HttpResult refused = Trigger("my-dag", token, body, {{"X-Dagu-Signature", wrong}});
    EXPECT_EQ(refused.status, 401) << wrong << ": " << refused.body;
    EXPECT_EQ(Str(Parse(refused.body), "message"), "invalid webhook HMAC signature");
  }
  // The token is still required (token_and_hmac).
  EXPECT_EQ(Trigger("my-dag", "", body, {{"X-Dagu-Signature", DaguSignature(secret, body)}}).status,
            401);

  // Observe: a bad or missing signature is logged and accepted; the token still counts.
  HttpResult observe = Api("POST", base + "/configure",
                           R"({"authMode":"token_and_hmac","enforcementMode":"observe"})");
  ASSERT_EQ(observe.status, 200) << observe.body;
  EXPECT_EQ(Str(Parse(observe.body).at("hmac").as_object(), "enforcementMode"), "observe");
  EXPECT_EQ(Trigger("my-dag", token, body).status, 200);
  EXPECT_EQ(Trigger("my-dag", token, body, {{"X-Dagu-Signature", "sha256=00"}}).status, 200);
  EXPECT_EQ(Trigger("my-dag", token + "x", body).status, 401);
  // configure without enforcementMode keeps it (observe).
  HttpResult kept = Api("POST", base + "/configure", R"({"authMode":"token_and_hmac"})");
  EXPECT_EQ(Str(Parse(kept.body).at("hmac").as_object(), "enforcementMode"), "observe");

  // Regenerate: a new secret, the old one refused at once (back in strict).
  ASSERT_EQ(Api("POST", base + "/configure",
                R"({"authMode":"token_and_hmac","enforcementMode":"strict"})")
                .status,
            200);
  HttpResult regenerated = Api("POST", base + "/regenerate");
  ASSERT_EQ(regenerated.status, 200) << regenerated.body;
  const std::string new_secret = Str(Parse(regenerated.body), "hmacSecret");
  ASSERT_NE(new_secret, secret);
  EXPECT_EQ(
      Trigger("my-dag", token, body, {{"X-Dagu-Signature", DaguSignature(secret, body)}}).status,
      401);
  EXPECT_EQ(Trigger("my-dag", token, body, {{"X-Dagu-Signature", DaguSignature(new_secret, body)}})
                .status,
            200);

  // Disable: token_only again, no signature needed.
  HttpResult disabled = Api("POST", base + "/disable");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_EQ(Str(Parse(disabled.body), "authMode"), "token_only");
  EXPECT_EQ(Parse(disabled.body).at("hmac"),
            json::parse(R"({"enabled":false,"secretConfigured":false})"));
  EXPECT_EQ(Trigger("my-dag", token, body).status, 200);
}

TEST_F(DaguWebhooksE2eTest, HmacRoutesRefuseWhatTheyCannotServe) {
  CreateDag("my-dag");
  ASSERT_EQ(Api("POST", "/api/v1/dags/my-dag/webhook").status, 201);
  const std::string base = "/api/v1/dags/my-dag/webhook/hmac";
  auto refused = [&](const std::string& route, const std::string& body, const std::string& field) {
    HttpResult r = Api("POST", base + route, body);
    EXPECT_EQ(r.status, 400) << route << " " << body << ": " << r.body;
    json::object answer = Parse(r.body);
    EXPECT_EQ(Str(answer, "code"), "bad_request") << r.body;
    EXPECT_FALSE(Str(answer, "message").empty()) << r.body;
    if (!field.empty()) {
      EXPECT_EQ(Str(answer.at("error").as_object(), "field"), field) << r.body;
    }
  };
  // hmac_only: the token is what names the workspace (docs/COMPATIBILITY.md).
  refused("/enable", R"({"authMode":"hmac_only"})", "authMode");
  refused("/enable", R"({"authMode":"token_only"})", "authMode");
  refused("/enable", R"({"authMode":"token_and_hmac","enforcementMode":"loose"})",
          "enforcementMode");
  refused("/enable", R"({"enforcementMode":"strict"})", "authMode");
  refused("/enable", R"({"authMode":"token_and_hmac","colour":"red"})", "colour");
  refused("/enable", "", "");
  // Nothing half-written: still token_only.
  EXPECT_EQ(Str(Parse(Api("GET", "/api/v1/dags/my-dag/webhook").body), "authMode"), "token_only");

  // The owner rule of every change.
  const std::string other = CreateKey("builder");
  HttpResult not_owner = Api("POST", base + "/enable", R"({"authMode":"token_and_hmac"})", other);
  EXPECT_EQ(not_owner.status, 403) << not_owner.body;
  EXPECT_EQ(Str(Parse(not_owner.body), "code"), "forbidden");
  EXPECT_EQ(Api("POST", base + "/disable", "", other).status, 403);
  // No webhook: 404.
  CreateDag("bare-dag");
  EXPECT_EQ(
      Api("POST", "/api/v1/dags/bare-dag/webhook/hmac/enable", R"({"authMode":"token_and_hmac"})")
          .status,
      404);
}

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
  EXPECT_EQ(Api("POST", "/api/v1/dags/deploy/webhook/hmac/enable",
                R"({"authMode":"token_and_hmac"})", alice)
                .status,
            200);
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
