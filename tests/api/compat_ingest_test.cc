// The compatibility surfaces' webhook routes (Dagu's /api/v1/webhooks/{name}, the agent
// /agents/{id}/webhook, Stack AI's /v1/webhooks/{trigger id | provider}) on the one ingest
// pipeline: the same rate limits (429 + Retry-After) and backpressure (503 + Retry-After) as the
// Dust route, answered from the Ingestor's caches with no store read, and the caches following
// catalog writes. The real router, api and ingest on a real loopback server over a real SQLite
// file, with a manual clock for the token buckets (they never refill during a test) and real
// HMAC signatures.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "api/api.h"
#include "catalog/caches.h"
#include "catalog/catalog.h"
#include "common/crypto.h"
#include "counting_store.h"
#include "http/http.h"
#include "http_client.h"
#include "ingest/ingest.h"
#include "test_util.h"

namespace triggerd {
namespace {

namespace json = boost::json;
using testing::HttpClient;
using testing::HttpResult;

constexpr const char* kGithubSecret = "gh-webhook-secret-0123456789";

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

// The error body every refusal of the ingest pipeline carries: {"error":{"type","message"}}.
std::string ErrorType(const HttpResult& r) {
  json::object body = Parse(r.body);
  const json::value* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) {
    ADD_FAILURE() << "no error object: " << r.body;
    return "";
  }
  EXPECT_FALSE(Str(error->as_object(), "message").empty()) << r.body;
  return Str(error->as_object(), "type");
}

class CompatIngestTest : public ::testing::Test {
 protected:
  void Start(ingest::Options options) {
    auto opened = store::OpenSqliteStore({(dir_.path() / "t.db").string()});
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    sqlite_ = std::move(opened).value();
    store_ = std::make_unique<testing::CountingStore>(sqlite_.get());
    auto bootstrap = api::BootstrapIfEmpty(store_.get(), clock_, "test");
    ASSERT_TRUE(bootstrap.has_value() && bootstrap->has_value());
    admin_ = (*bootstrap)->admin_key;

    ingestor_ = std::make_unique<ingest::Ingestor>(store_.get(), &clock_, std::move(options));
    ASSERT_OK(ingestor_->Reload());
    catalog_ = std::make_unique<catalog::Catalog>(store_.get());
    caches_ = std::make_unique<catalog::CacheObserver>(ingestor_.get(), nullptr, nullptr);
    catalog_->AddObserver(caches_.get());
    context_.store = store_.get();
    context_.catalog = catalog_.get();
    context_.ingestor = ingestor_.get();
    context_.clock = &clock_;
    api::RegisterRoutes(&router_, &context_);
    http::ServerOptions server_options;
    server_options.port = 0;
    server_options.threads = 1;
    auto server = http::Server::Start(server_options, &router_);
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(server).value();
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(5));
    if (sqlite_) sqlite_->Close();
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "") {
    Headers headers = {{"Authorization", "Bearer " + admin_}};
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return client_->Send(method, path, body, headers);
  }
  json::object Expect(int status, const HttpResult& r) {
    EXPECT_EQ(r.status, status) << r.body;
    return Parse(r.body);
  }

  std::string NewAgent(const std::string& name) {
    return Str(
        Expect(201, Api("POST", "/api/v1/agents",
                        R"({"name":")" + name +
                            R"(","target":{"type":"http","url":"http://127.0.0.1:9/hook"}})")),
        "id");
  }
  // A Dagu webhook of a new agent: {agent id, token}.
  std::pair<std::string, std::string> NewDaguWebhook(const std::string& name) {
    const std::string agent = NewAgent(name);
    json::object created = Expect(201, Api("POST", "/api/v1/dags/" + agent + "/webhook"));
    return {agent, Str(created, "token")};
  }
  // An agent webhook (kind "agent", no secret) of a new agent; its public path.
  std::string NewAgentWebhook(const std::string& name) {
    const std::string agent = NewAgent(name);
    Expect(201, Api("PUT", "/api/v1/agents/" + agent + "/webhook", "{}"));
    return "/agents/" + agent + "/webhook";
  }
  // A Stack AI GitHub trigger of a new project, signed with `secret`; its trigger id.
  std::string NewGithubTrigger(const std::string& name, const std::string& secret = kGithubSecret) {
    const std::string project = NewAgent(name);
    return Str(Expect(201, Api("POST", "/projects/" + project + "/triggers",
                               R"({"provider_id":"github","trigger_id":"on_push",)"
                               R"("webhook_data":{"secret":")" + secret +
                                   R"("}})")),
               "id");
  }
  // An open source of the Dust route; its path.
  std::string NewDustSource() {
    std::string url =
        Str(Expect(201, Api("POST", "/api/v1/sources", R"({"name":"plain"})")), "url");
    return url.substr(url.find("/api/v1/w/"));
  }

  HttpResult Dagu(const std::string& name, const std::string& token, const std::string& body) {
    return client_->Send(
        "POST", "/api/v1/webhooks/" + name, body,
        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
  }
  HttpResult Post(const std::string& path, const std::string& body) {
    return client_->Send("POST", path, body, {{"Content-Type", "application/json"}});
  }
  // As GitHub sends it: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body).
  HttpResult Github(const std::string& path, const std::string& body,
                    const std::string& secret = kGithubSecret, const std::string& hook_id = "") {
    Headers headers = {
        {"Content-Type", "application/json"},
        {"X-GitHub-Event", "push"},
        {"X-GitHub-Delivery", "d-" + std::to_string(++deliveries_)},
        {"X-Hub-Signature-256", "sha256=" + crypto::HexEncode(crypto::Hmac(
                                                crypto::DigestAlgorithm::kSha256, secret, body))}};
    if (!hook_id.empty()) headers.push_back({"X-GitHub-Hook-ID", hook_id});
    return client_->Send("POST", path, body, headers);
  }

  // Every 429 of the pipeline: Retry-After as the Dust route gives it, and rate_limited.
  void ExpectRateLimited(const HttpResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 429) << what << ": " << r.body;
    EXPECT_EQ(r.Header("Retry-After"),
              std::to_string(ingestor_->rate_limited_retry_after_seconds()))
        << what;
    EXPECT_EQ(ErrorType(r), "rate_limited") << what;
  }
  void ExpectOverloaded(const HttpResult& r, const std::string& what) {
    EXPECT_EQ(r.status, 503) << what << ": " << r.body;
    EXPECT_EQ(r.Header("Retry-After"), "1") << what;
    EXPECT_EQ(ErrorType(r), "overloaded") << what;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> sqlite_;
  std::unique_ptr<testing::CountingStore> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<catalog::CacheObserver> caches_;
  api::ApiContext context_;
  http::Router router_{1024 * 1024};
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
  int deliveries_ = 0;
};

ingest::Options BurstOfTwo() {
  ingest::Options options;
  options.per_source = {0.01, 2};  // bursts of 2, one more per 100 s: never within a test
  options.per_workspace = {};
  return options;
}

TEST_F(CompatIngestTest, EveryCompatRouteMeetsTheSourceRateLimitLikeTheDustRoute) {
  ASSERT_NO_FATAL_FAILURE(Start(BurstOfTwo()));
  const std::string dust = NewDustSource();
  auto [dag, token] = NewDaguWebhook("dag");
  const std::string agent_path = NewAgentWebhook("agent");
  const std::string trigger = NewGithubTrigger("project");

  // The Dust route, for reference.
  EXPECT_EQ(Post(dust, R"({"n":1})").status, 200);
  EXPECT_EQ(Post(dust, R"({"n":2})").status, 200);
  ExpectRateLimited(Post(dust, R"({"n":3})"), "dust");

  // Dagu: the webhook is the source; its 429 carries Dagu's error members too.
  EXPECT_EQ(Dagu(dag, token, R"({"payload":{"n":1}})").status, 200);
  EXPECT_EQ(Dagu("dag", token, R"({"payload":{"n":2}})").status, 200);  // by name, same bucket
  HttpResult dagu = Dagu(dag, token, R"({"payload":{"n":3}})");
  ExpectRateLimited(dagu, "dagu");
  EXPECT_EQ(Str(Parse(dagu.body), "code"), "too_many_requests");
  // A request without the token is refused before the buckets (they stay the token holder's).
  EXPECT_EQ(Dagu(dag, "wrong", "{}").status, 401);

  // The agent webhook.
  EXPECT_EQ(Post(agent_path, R"({"n":1})").status, 200);
  EXPECT_EQ(Post(agent_path, R"({"n":2})").status, 200);
  ExpectRateLimited(Post(agent_path, R"({"n":3})"), "agent");

  // Stack AI: both routes reach the trigger's source and share its bucket.
  EXPECT_EQ(Github("/v1/webhooks/" + trigger, R"({"n":1})").status, 200);
  EXPECT_EQ(Github("/v1/webhooks/github", R"({"n":2})").status, 200);
  ExpectRateLimited(Github("/v1/webhooks/" + trigger, R"({"n":3})"), "stackai trigger");
  ExpectRateLimited(Github("/v1/webhooks/github", R"({"n":4})"), "stackai provider");

  EXPECT_EQ(ingestor_->stats().rate_limited, 5u);
}

TEST_F(CompatIngestTest, EveryCompatRouteMeetsBackpressureLikeTheDustRoute) {
  ingest::Options options;
  options.max_pending_bytes = 64;  // a body beyond this waits for no group commit: 503
  ASSERT_NO_FATAL_FAILURE(Start(options));
  const std::string dust = NewDustSource();
  auto [dag, token] = NewDaguWebhook("dag");
  const std::string agent_path = NewAgentWebhook("agent");
  const std::string trigger = NewGithubTrigger("project");
  const std::string padding(100, 'x');
  const std::string large = R"({"padding":")" + padding + R"("})";

  ExpectOverloaded(Post(dust, large), "dust");
  HttpResult dagu = Dagu(dag, token, R"({"payload":)" + large + "}");
  ExpectOverloaded(dagu, "dagu");
  EXPECT_EQ(Str(Parse(dagu.body), "code"), "service_unavailable");
  ExpectOverloaded(Post(agent_path, large), "agent");
  ExpectOverloaded(Github("/v1/webhooks/" + trigger, large), "stackai trigger");
  ExpectOverloaded(Github("/v1/webhooks/github", large), "stackai provider");
  EXPECT_EQ(ingestor_->stats().overloaded, 5u);

  // The budget was given back each time: small bodies go through on every route.
  EXPECT_EQ(Post(dust, "{}").status, 200);
  EXPECT_EQ(Dagu(dag, token, "").status, 200);
  EXPECT_EQ(Post(agent_path, "{}").status, 200);
  EXPECT_EQ(Github("/v1/webhooks/" + trigger, "{}").status, 200);
  EXPECT_EQ(Github("/v1/webhooks/github", "{}").status, 200);
}

// The webhook routes read nothing from the store: what they answer comes from the Ingestor's
// caches, which follow catalog writes and only them (a write to the store behind the catalog's
// back is not seen until a reload).
TEST_F(CompatIngestTest, CompatWebhooksAreAnsweredFromTheCachesWithNoStoreRead) {
  ASSERT_NO_FATAL_FAILURE(Start(ingest::Options{}));
  auto [dag, token] = NewDaguWebhook("dag");
  const std::string agent_path = NewAgentWebhook("agent");
  const std::string trigger = NewGithubTrigger("project");

  const uint64_t calls = store_->calls(), appends = store_->appends();
  EXPECT_EQ(Dagu(dag, token, R"({"dagRunId":"run-1"})").status, 200);
  EXPECT_EQ(Dagu("dag", token, R"({"dagRunId":"run-2"})").status, 200);
  EXPECT_EQ(Dagu("dag", token, R"({"dagRunId":"run-2"})").status, 409);  // the append's dedup
  EXPECT_EQ(Dagu("dag", "trgd_wh_unknown", "{}").status, 401);
  EXPECT_EQ(Dagu("agt_nowebhook0000000000000", token, "{}").status, 404);
  EXPECT_EQ(Post(agent_path, "{}").status, 200);
  EXPECT_EQ(client_->Send("GET", agent_path).status, 200);
  EXPECT_EQ(Post("/agents/agt_nowebhook0000000000000/webhook", "{}").status, 404);
  EXPECT_EQ(Github("/v1/webhooks/" + trigger, "{}").status, 200);
  EXPECT_EQ(Github("/v1/webhooks/github", "{}").status, 200);
  EXPECT_EQ(Github("/v1/webhooks/github", "{}", "wrong-secret").status, 401);
  EXPECT_EQ(Github("/v1/webhooks/trg_neverissued000000000000", "{}").status, 404);
  EXPECT_EQ(store_->calls(), calls) << "a webhook read the store";
  EXPECT_EQ(store_->appends(), appends + 6);  // the 200s and the duplicate

  // A write behind the catalog's back is not seen: the webhook is disabled in the store, yet
  // the cache still admits it.
  auto stored = sqlite_->GetAgentWebhook(dag, "dagu");
  ASSERT_TRUE(stored.has_value());
  stored->enabled = false;
  ASSERT_OK(sqlite_->UpdateAgentWebhook(*stored));
  EXPECT_EQ(Dagu(dag, token, "{}").status, 200);
  // Through the catalog (the toggle route), it is seen at once.
  Expect(200, Api("POST", "/api/v1/dags/" + dag + "/webhook/toggle", R"({"enabled":false})"));
  EXPECT_EQ(Dagu(dag, token, "{}").status, 403);
  Expect(200, Api("POST", "/api/v1/dags/" + dag + "/webhook/toggle", R"({"enabled":true})"));
  json::object regenerated =
      Expect(200, Api("POST", "/api/v1/dags/" + dag + "/webhook/regenerate"));
  EXPECT_EQ(Dagu(dag, token, "{}").status, 401);  // the old token stops at once
  EXPECT_EQ(Dagu(dag, Str(regenerated, "token"), "{}").status, 200);
  // Deleting the agent webhook, and a Stack AI trigger (with the source it made).
  EXPECT_EQ(
      Api("DELETE", "/api/v1/agents/" + agent_path.substr(8, agent_path.size() - 16) + "/webhook")
          .status,
      204);
  EXPECT_EQ(Post(agent_path, "{}").status, 404);
  EXPECT_EQ(Api("DELETE", "/triggers/" + trigger).status, 204);
  EXPECT_EQ(Github("/v1/webhooks/" + trigger, "{}").status, 404);
  EXPECT_EQ(Github("/v1/webhooks/github", "{}").status, 404);
}

// The provider route finds its source by what the request carries: a GitHub hook id, once a
// source accepted it, names that source, so the request costs one signature check however many
// GitHub sources (secrets) the server has.
TEST_F(CompatIngestTest, ProviderRouteChecksOneSecretOnceTheSenderIsKnown) {
  ASSERT_NO_FATAL_FAILURE(Start(ingest::Options{}));
  std::vector<std::string> secrets;
  for (int i = 0; i < 5; ++i) {
    secrets.push_back("secret-number-" + std::to_string(i) + "-0123456789");
    NewGithubTrigger("project" + std::to_string(i), secrets.back());
    clock_.Advance(1'000'000);  // the secrets are tried in the sources' creation order
  }
  auto checks = [&] { return ingestor_->stats().provider_checks; };

  // The last source's first request: found by trying the secrets (five checks).
  uint64_t before = checks();
  EXPECT_EQ(Github("/v1/webhooks/github", "{}", secrets[4], "4004").status, 200);
  EXPECT_EQ(checks() - before, 5u);
  // Known by its hook id: one check, every time.
  for (int i = 0; i < 3; ++i) {
    before = checks();
    EXPECT_EQ(Github("/v1/webhooks/github", "{}", secrets[4], "4004").status, 200);
    EXPECT_EQ(checks() - before, 1u);
  }
  // A hook id that names another source (a forged or stale hint) costs one more check, then the
  // secrets decide as before.
  before = checks();
  EXPECT_EQ(Github("/v1/webhooks/github", "{}", secrets[2], "4004").status, 200);
  EXPECT_EQ(checks() - before, 1u + 3u);
  // A bad signature is still refused.
  EXPECT_EQ(Github("/v1/webhooks/github", "{}", "wrong", "4004").status, 401);
}

}  // namespace
}  // namespace triggerd
