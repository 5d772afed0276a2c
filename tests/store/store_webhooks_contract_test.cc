// The Store's agent webhooks (schema/003_webhooks.sql; PostgreSQL: schema/postgres/001_init.sql),
// on every backend (store_backend.h): one per agent and kind, token lookup,
// workspace scoping of writes, and the cascade when the agent is deleted.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/store.h"
#include "store_backend.h"
#include "test_util.h"

namespace triggerd::store {
namespace {


class StoreWebhooksTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = testing::RequireBackend(GetParam());
    if (backend_ == nullptr) return;  // skipped (or failed, under CI)
    testing::BackendOptions options;
    options.master_key = "";  // secrets at rest: store_secrets_contract_test.cc
    auto opened = backend_->Open(options);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateWorkspace({"ws_one", "one", 1}));
    ASSERT_OK(store_->CreateWorkspace({"ws_two", "two", 1}));
    Agent agent;
    agent.id = "agt_one";
    agent.workspace_id = "ws_one";
    agent.name = "etl";
    ASSERT_OK(store_->CreateAgent(agent));
  }

  static AgentWebhook Webhook(std::string id, std::string kind, std::string token_hash) {
    AgentWebhook w;
    w.id = std::move(id);
    w.workspace_id = "ws_one";
    w.agent_id = "agt_one";
    w.kind = std::move(kind);
    w.token_hash = std::move(token_hash);
    w.token_prefix = "trgd_wh_abcd";
    w.allowed_ips = {"10.0.0.0/8", "::1"};
    w.metadata_json = R"({"team":"data"})";
    w.created_by = "key_one";
    w.created_at = 10;
    w.updated_at = 20;
    return w;
  }

  std::unique_ptr<testing::StoreBackend> backend_;  // outlives store_ (declared first)
  std::unique_ptr<Store> store_;
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreWebhooksTest, ::testing::ValuesIn(testing::BackendNames()),
                         testing::BackendParamName);

TEST_P(StoreWebhooksTest, RoundTripsEveryFieldAndFindsByToken) {
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_d", "dagu", "hash1")));
  auto got = store_->GetAgentWebhook("agt_one", "dagu");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->id, "whk_d");
  EXPECT_EQ(got->token_prefix, "trgd_wh_abcd");
  EXPECT_EQ(got->allowed_ips, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_EQ(got->metadata_json, R"({"team":"data"})");
  EXPECT_EQ(got->created_at, 10);
  auto by_token = store_->FindAgentWebhookByTokenHash("hash1");
  ASSERT_TRUE(by_token.has_value());
  EXPECT_EQ(by_token->id, "whk_d");
  EXPECT_EQ(store_->FindAgentWebhookByTokenHash("").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->FindAgentWebhookByTokenHash("nope").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "agent").error().type(), ErrorType::kNotFound);

  // A Dagu webhook's HMAC settings, on create and on update, by every read.
  EXPECT_EQ(got->hmac_enforcement, "");
  EXPECT_EQ(got->hmac_created_at, 0);
  AgentWebhook changed = *got;
  changed.hmac_secret = "dagu-secret";
  changed.hmac_enforcement = "observe";
  changed.hmac_created_at = 1234567;
  ASSERT_OK(store_->UpdateAgentWebhook(changed));
  for (const AgentWebhook& w : {store_->GetAgentWebhook("agt_one", "dagu").value(),
                                store_->FindAgentWebhookByTokenHash("hash1").value(),
                                store_->ListAgentWebhooks("ws_one", "dagu").value().at(0)}) {
    EXPECT_EQ(w.hmac_secret, "dagu-secret");
    EXPECT_EQ(w.hmac_enforcement, "observe");
    EXPECT_EQ(w.hmac_created_at, 1234567);
  }
  AgentWebhook strict = Webhook("whk_a", "agent", "hash2");
  strict.hmac_secret = "s";
  strict.hmac_enforcement = "strict";
  strict.hmac_created_at = 99;
  ASSERT_OK(store_->CreateAgentWebhook(strict));
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "agent")->hmac_enforcement, "strict");
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "agent")->hmac_created_at, 99);
}

TEST_P(StoreWebhooksTest, OneWebhookPerAgentAndKind) {
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_d", "dagu", "hash1")));
  EXPECT_EQ(store_->CreateAgentWebhook(Webhook("whk_d2", "dagu", "hash2")).type(),
            ErrorType::kConflict);
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_a", "agent", "")));
  auto listed = store_->ListAgentWebhooks("ws_one", "dagu");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(store_->ListAgentWebhooks("ws_two", "dagu")->size(), 0u);
}

TEST_P(StoreWebhooksTest, WritesAreScopedToTheWorkspace) {
  AgentWebhook foreign = Webhook("whk_x", "dagu", "hash9");
  foreign.workspace_id = "ws_two";  // the agent is in ws_one
  EXPECT_EQ(store_->CreateAgentWebhook(foreign).type(), ErrorType::kNotFound);
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_d", "dagu", "hash1")));
  AgentWebhook changed = Webhook("whk_d", "dagu", "hash2");
  changed.enabled = false;
  changed.workspace_id = "ws_two";
  EXPECT_EQ(store_->UpdateAgentWebhook(changed).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->DeleteAgentWebhook("ws_two", "whk_d").type(), ErrorType::kNotFound);
  changed.workspace_id = "ws_one";
  ASSERT_OK(store_->UpdateAgentWebhook(changed));
  EXPECT_FALSE(store_->GetAgentWebhook("agt_one", "dagu")->enabled);
  // The old token stops at once.
  EXPECT_EQ(store_->FindAgentWebhookByTokenHash("hash1").error().type(), ErrorType::kNotFound);
  EXPECT_TRUE(store_->FindAgentWebhookByTokenHash("hash2").has_value());
  ASSERT_OK(store_->DeleteAgentWebhook("ws_one", "whk_d"));
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "dagu").error().type(), ErrorType::kNotFound);
}

TEST_P(StoreWebhooksTest, DeletingTheAgentDeletesItsWebhooks) {
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_d", "dagu", "hash1")));
  ASSERT_OK(store_->CreateAgentWebhook(Webhook("whk_a", "agent", "")));
  ASSERT_OK(store_->DeleteAgent("ws_one", "agt_one"));  // not blocked, unlike by a trigger
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "dagu").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->GetAgentWebhook("agt_one", "agent").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->FindAgentWebhookByTokenHash("hash1").error().type(), ErrorType::kNotFound);
}

}  // namespace
}  // namespace triggerd::store
