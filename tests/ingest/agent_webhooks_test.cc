// The direct webhooks' caches (agent and Dagu webhooks, src/ingest/agent_webhooks.cc): they
// follow the Upsert/Remove calls the catalog's observer makes, and Reload rebuilds them from the
// store; the admissions answer in each surface's documented order.
#include <gtest/gtest.h>

#include "common/crypto.h"
#include "ingest/ingest.h"
#include "test_util.h"

namespace triggerd::ingest {
namespace {

std::string Hash(std::string_view token) {
  return crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, token));
}

class AgentWebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenSqliteStore({(dir_.path() / "t.db").string()});
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(store.value());
    ASSERT_OK(store_->CreateWorkspace({"ws_a", "a", 1}));
    for (auto [id, name] : {std::pair{"agt_1", "build"}, {"agt_2", "deploy"}}) {
      store::Agent agent;
      agent.id = id;
      agent.workspace_id = "ws_a";
      agent.name = name;
      ASSERT_OK(store_->CreateAgent(agent));
    }
    dagu_.id = "whk_dagu";
    dagu_.workspace_id = "ws_a";
    dagu_.agent_id = "agt_1";
    dagu_.kind = "dagu";
    dagu_.token_hash = Hash("token-1");
    ASSERT_OK(store_->CreateAgentWebhook(dagu_));
    ingestor_ = std::make_unique<Ingestor>(store_.get(), &clock_, Options{});
    ASSERT_OK(ingestor_->Reload());
  }

  ErrorType Dagu(std::string_view name, std::string_view token) {
    auto admitted = ingestor_->AdmitDaguWebhook({name, token});
    return admitted ? ErrorType::kOk : admitted.error().type();
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Ingestor> ingestor_;
  store::AgentWebhook dagu_;
};

TEST_F(AgentWebhooksTest, ReloadLoadsWebhooksAndAgentNames) {
  EXPECT_EQ(Dagu("agt_1", "token-1"), ErrorType::kOk);
  auto by_name = ingestor_->AdmitDaguWebhook({"build", "token-1"});
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->agent_name, "build");
  EXPECT_EQ(by_name->webhook->webhook.id, "whk_dagu");
  EXPECT_EQ(Dagu("agt_1", ""), ErrorType::kUnauthenticated);
  EXPECT_EQ(Dagu("agt_1", "token-2"), ErrorType::kUnauthenticated);
  EXPECT_EQ(Dagu("agt_2", "token-1"), ErrorType::kNotFound);   // no webhook: by id, 404 first
  EXPECT_EQ(Dagu("deploy", "token-1"), ErrorType::kNotFound);  // another DAG without one
  EXPECT_EQ(Dagu("deploy", ""), ErrorType::kUnauthenticated);  // by name the token comes first
}

TEST_F(AgentWebhooksTest, CachesFollowUpsertsAndRemoves) {
  // A new token: the old one stops, the new one works, by name too.
  dagu_.token_hash = Hash("token-2");
  ingestor_->UpsertAgentWebhook(dagu_);
  EXPECT_EQ(Dagu("build", "token-1"), ErrorType::kUnauthenticated);
  EXPECT_EQ(Dagu("build", "token-2"), ErrorType::kOk);
  // Disabled: 403 after the token check.
  dagu_.enabled = false;
  ingestor_->UpsertAgentWebhook(dagu_);
  EXPECT_EQ(Dagu("build", "token-2"), ErrorType::kPermissionDenied);
  dagu_.enabled = true;
  ingestor_->UpsertAgentWebhook(dagu_);
  // Renamed: the old name is another DAG's no longer (404), the new one is it.
  store::Agent renamed;
  renamed.id = "agt_1";
  renamed.workspace_id = "ws_a";
  renamed.name = "ci";
  ingestor_->UpsertAgent(renamed);
  EXPECT_EQ(Dagu("build", "token-2"), ErrorType::kNotFound);
  EXPECT_EQ(Dagu("ci", "token-2"), ErrorType::kOk);
  // Two agents of one name: the name names neither.
  store::Agent twin;
  twin.id = "agt_3";
  twin.workspace_id = "ws_a";
  twin.name = "deploy";
  ingestor_->UpsertAgent(twin);
  store::AgentWebhook second = dagu_;
  second.id = "whk_second";
  second.agent_id = "agt_2";
  second.token_hash = Hash("token-3");
  ingestor_->UpsertAgentWebhook(second);
  EXPECT_EQ(Dagu("deploy", "token-2"), ErrorType::kNotFound);  // ambiguous: 404, not 401
  ingestor_->RemoveAgent("agt_3");
  EXPECT_EQ(Dagu("deploy", "token-2"), ErrorType::kUnauthenticated);  // deploy has a webhook
  // Removing the webhook, then the agent with its webhooks.
  ingestor_->RemoveAgentWebhook("whk_second");
  EXPECT_EQ(Dagu("deploy", "token-3"), ErrorType::kUnauthenticated);
  ingestor_->RemoveAgent("agt_1");
  EXPECT_EQ(Dagu("agt_1", "token-2"), ErrorType::kNotFound);
  EXPECT_EQ(Dagu("ci", "token-2"), ErrorType::kUnauthenticated);
}

TEST_F(AgentWebhooksTest, AgentWebhookChecksSourceThenSizeThenSignature) {
  store::AgentWebhook webhook;
  webhook.id = "whk_agent";
  webhook.workspace_id = "ws_a";
  webhook.agent_id = "agt_2";
  webhook.kind = "agent";
  webhook.event_source = "https://App.example.com:8443/x";
  webhook.allowed_ips = {"10.0.0.0/8"};
  webhook.hmac_secret = "0123456789abcdef-secret";
  ingestor_->UpsertAgentWebhook(webhook);
  Headers origin = {{"Origin", "https://app.example.com"}};
  Headers none;
  auto admit = [&](const Headers& headers, std::string_view ip, uint64_t length) {
    AgentWebhookHead head;
    head.agent_id = "agt_2";
    head.headers = &headers;
    head.remote_ip = ip;
    head.content_length = length;
    auto admitted = ingestor_->AdmitAgentWebhook(head);
    return admitted ? ErrorType::kOk : admitted.error().type();
  };
  // allowed_ips holds whatever Origin says; event_source is consulted only without it.
  EXPECT_EQ(admit(origin, "192.0.2.1", 2), ErrorType::kPermissionDenied);
  EXPECT_EQ(admit(none, "10.1.2.3", 2), ErrorType::kOk);
  EXPECT_EQ(admit(origin, "10.1.2.3", 2), ErrorType::kOk);
  EXPECT_EQ(admit(none, "192.0.2.1", 2), ErrorType::kPermissionDenied);
  EXPECT_EQ(admit(origin, "10.1.2.3", kDirectWebhookMaxBodyBytes + 1),
            ErrorType::kPayloadTooLarge);

  auto admitted = ingestor_->AdmitAgentWebhook({"agt_2", &origin, "10.1.2.3", 2});
  ASSERT_TRUE(admitted.has_value());
  const std::string body = "{}";
  const std::string signature = crypto::HexEncode(
      crypto::Hmac(crypto::DigestAlgorithm::kSha256, webhook.hmac_secret, body));
  EXPECT_OK(ingestor_->VerifyAgentWebhook(*admitted->webhook,
                                          {{"X-Webhook-Signature", "sha256=" + signature}}, body));
  EXPECT_OK(ingestor_->VerifyAgentWebhook(*admitted->webhook, {{"X-Webhook-Signature", signature}},
                                          body));
  EXPECT_EQ(ingestor_->VerifyAgentWebhook(*admitted->webhook, {}, body).code(),
            "missing_signature");
  EXPECT_EQ(ingestor_->VerifyAgentWebhook(*admitted->webhook,
                                          {{"X-Webhook-Signature", "sha256=00"}}, body)
                .code(),
            "signature_mismatch");

  // allowed_ips without event_source is enforced too (before, an empty event_source skipped it).
  webhook.event_source.clear();
  ingestor_->UpsertAgentWebhook(webhook);
  EXPECT_EQ(admit(none, "192.0.2.1", 2), ErrorType::kPermissionDenied);
  EXPECT_EQ(admit(origin, "192.0.2.1", 2), ErrorType::kPermissionDenied);
  EXPECT_EQ(admit(none, "10.1.2.3", 2), ErrorType::kOk);
}

}  // namespace
}  // namespace triggerd::ingest
