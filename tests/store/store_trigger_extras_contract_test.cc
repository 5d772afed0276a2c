// The Store's trigger extras (schema/006_stackai_triggers.sql; PostgreSQL: schema/postgres/001_init.sql),
// on every backend (store_backend.h), kept for the Stack AI-style
// triggers API: round trip and upsert, workspace scoping, the unscoped FindTrigger, and the
// cascade when the trigger or its source is deleted.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "store/store.h"
#include "store_backend.h"
#include "test_util.h"

namespace triggerd::store {
namespace {


class StoreTriggerExtrasTest : public ::testing::TestWithParam<std::string> {
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
    Source source;
    source.id = "src_one";
    source.workspace_id = "ws_one";
    source.name = "gh";
    source.kind = "github";
    source.url_secret = "u";
    source.signing_secret = "s";
    ASSERT_OK(store_->CreateSource(source));
    Agent agent;
    agent.id = "agt_one";
    agent.workspace_id = "ws_one";
    agent.name = "bot";
    ASSERT_OK(store_->CreateAgent(agent));
    ASSERT_OK(store_->CreateTrigger(MakeTrigger("trg_one")));
  }

  static Trigger MakeTrigger(std::string id) {
    Trigger t;
    t.id = std::move(id);
    t.workspace_id = "ws_one";
    t.source_id = "src_one";
    t.agent_id = "agt_one";
    t.event_types = {"pull_request"};
    t.enabled = false;
    t.created_by = "key_one";
    return t;
  }

  static TriggerExtras Extras(std::string connection_id, std::string updated_by, int64_t at) {
    return TriggerExtras{"trg_one", "ws_one", std::move(connection_id), true, std::move(updated_by),
                         at};
  }

  std::unique_ptr<testing::StoreBackend> backend_;  // outlives store_ (declared first)
  std::unique_ptr<Store> store_;
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreTriggerExtrasTest, ::testing::ValuesIn(testing::BackendNames()),
                         testing::BackendParamName);

TEST_P(StoreTriggerExtrasTest, RoundTripsAndReplaces) {
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one").error().type(), ErrorType::kNotFound);
  ASSERT_OK(store_->PutTriggerExtras(Extras("conn_1", "key_one", 10)));
  auto got = store_->GetTriggerExtras("ws_one", "trg_one");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->trigger_id, "trg_one");
  EXPECT_EQ(got->workspace_id, "ws_one");
  EXPECT_EQ(got->connection_id, "conn_1");
  EXPECT_TRUE(got->owns_source);
  EXPECT_EQ(got->updated_by, "key_one");
  EXPECT_EQ(got->updated_at, 10);

  TriggerExtras changed = Extras("", "key_two", 20);
  changed.owns_source = false;
  ASSERT_OK(store_->PutTriggerExtras(changed));
  got = store_->GetTriggerExtras("ws_one", "trg_one");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->connection_id, "");
  EXPECT_FALSE(got->owns_source);
  EXPECT_EQ(got->updated_by, "key_two");
  EXPECT_EQ(got->updated_at, 20);
  EXPECT_EQ(got->trigger_config_json, "{}");  // the default
}

TEST_P(StoreTriggerExtrasTest, KeepsTheOpaqueTriggerConfig) {
  TriggerExtras extras = Extras("conn_1", "key_one", 10);
  extras.trigger_config_json = R"({"inbox_id":"ENTERPRISE_INBOX","polling_frequency":"10000"})";
  ASSERT_OK(store_->PutTriggerExtras(extras));
  auto got = store_->GetTriggerExtras("ws_one", "trg_one");
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  EXPECT_EQ(got->trigger_config_json, extras.trigger_config_json);
  // An upsert replaces it with the rest of the row.
  extras.trigger_config_json = R"({"inbox_id":"OTHER"})";
  extras.updated_at = 20;
  ASSERT_OK(store_->PutTriggerExtras(extras));
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one")->trigger_config_json,
            R"({"inbox_id":"OTHER"})");
}

TEST_P(StoreTriggerExtrasTest, ScopedToTheTriggersWorkspace) {
  ASSERT_OK(store_->PutTriggerExtras(Extras("conn_1", "key_one", 10)));
  EXPECT_EQ(store_->GetTriggerExtras("ws_two", "trg_one").error().type(), ErrorType::kNotFound);
  TriggerExtras foreign = Extras("conn_x", "key_x", 30);
  foreign.workspace_id = "ws_two";
  EXPECT_EQ(store_->PutTriggerExtras(foreign).type(), ErrorType::kNotFound);
  TriggerExtras unknown = Extras("conn_x", "key_x", 30);
  unknown.trigger_id = "trg_nope";
  EXPECT_EQ(store_->PutTriggerExtras(unknown).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one")->connection_id, "conn_1");
}

TEST_P(StoreTriggerExtrasTest, FindTriggerIsGlobal) {
  auto found = store_->FindTrigger("trg_one");
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  EXPECT_EQ(found->workspace_id, "ws_one");
  EXPECT_EQ(found->source_id, "src_one");
  EXPECT_EQ(found->event_types, std::vector<std::string>{"pull_request"});
  EXPECT_EQ(store_->FindTrigger("trg_nope").error().type(), ErrorType::kNotFound);
}

TEST_P(StoreTriggerExtrasTest, DeletedWithTheTriggerOrItsSource) {
  ASSERT_OK(store_->PutTriggerExtras(Extras("conn_1", "key_one", 10)));
  ASSERT_OK(store_->DeleteTrigger("ws_one", "trg_one"));
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one").error().type(), ErrorType::kNotFound);

  // Re-created under the same id: no leftover row.
  ASSERT_OK(store_->CreateTrigger(MakeTrigger("trg_one")));
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one").error().type(), ErrorType::kNotFound);
  ASSERT_OK(store_->PutTriggerExtras(Extras("conn_2", "key_one", 40)));
  ASSERT_OK(store_->DeleteSource("ws_one", "src_one"));
  EXPECT_EQ(store_->GetTriggerExtras("ws_one", "trg_one").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->FindTrigger("trg_one").error().type(), ErrorType::kNotFound);
}

}  // namespace
}  // namespace triggerd::store
