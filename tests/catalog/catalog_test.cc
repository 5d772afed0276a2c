// catalog::Catalog over a real SQLite file: every configuration write reaches the store, then
// every observer, in commit order; a write the store refuses tells no one; Reload reaches every
// observer and reports the first failure.
#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::catalog {
namespace {

// Records what it was told, as "kind:id[:name]".
class RecordingObserver : public Observer {
 public:
  void SourceChanged(const store::Source& s) override { Add("source", s.id + ":" + s.name); }
  void SourceRemoved(std::string_view id) override { Add("-source", std::string(id)); }
  void TriggerChanged(const store::Trigger& t) override { Add("trigger", t.id + ":" + t.name); }
  void TriggerRemoved(std::string_view id) override { Add("-trigger", std::string(id)); }
  void AgentChanged(const store::Agent& a) override { Add("agent", a.id + ":" + a.name); }
  void AgentRemoved(std::string_view id) override { Add("-agent", std::string(id)); }
  Status Reload() override {
    Add("reload", "");
    return reload_status;
  }

  std::vector<std::string> seen;
  Status reload_status = Status::Ok();

 private:
  void Add(const std::string& kind, const std::string& what) { seen.push_back(kind + ":" + what); }
};

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = (dir_.path() / "triggerd.db").string();
    options.master_key = std::string(testing::kTestMasterKey);
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(options);
    ASSERT_OK(opened);
    store_ = std::move(*opened);
    ASSERT_OK(store_->CreateWorkspace({"ws_1", "default", clock_.NowMicros()}));
    catalog_ = std::make_unique<Catalog>(store_.get());
    catalog_->AddObserver(&first_);
    catalog_->AddObserver(&second_);
  }
  void TearDown() override {
    catalog_.reset();
    if (store_) store_->Close();
  }

  store::Source Source(const std::string& id, const std::string& name) {
    store::Source source;
    source.id = id;
    source.workspace_id = "ws_1";
    source.name = name;
    source.url_secret = "secret-" + id;
    source.created_at = source.updated_at = clock_.NowMicros();
    return source;
  }
  store::Agent Agent(const std::string& id) {
    store::Agent agent;
    agent.id = id;
    agent.workspace_id = "ws_1";
    agent.name = "agent";
    agent.target_json = R"({"type":"http","url":"http://127.0.0.1:9/run"})";
    agent.created_at = agent.updated_at = clock_.NowMicros();
    return agent;
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Catalog> catalog_;
  RecordingObserver first_, second_;
};

TEST_F(CatalogTest, EveryWriteReachesTheStoreThenEveryObserverInOrder) {
  ASSERT_OK(catalog_->CreateSource(Source("src_1", "a")));
  ASSERT_OK(catalog_->UpdateSource(Source("src_1", "b")));
  ASSERT_OK(catalog_->CreateAgent(Agent("agt_1")));
  store::Trigger trigger;
  trigger.id = "trg_1";
  trigger.workspace_id = "ws_1";
  trigger.source_id = "src_1";
  trigger.agent_id = "agt_1";
  trigger.name = "t";
  ASSERT_OK(catalog_->CreateTrigger(trigger));
  ASSERT_OK(catalog_->DeleteTrigger("ws_1", "trg_1"));
  ASSERT_OK(catalog_->DeleteAgent("ws_1", "agt_1"));
  ASSERT_OK(catalog_->DeleteSource("ws_1", "src_1"));

  const std::vector<std::string> expected = {
      "source:src_1:a", "source:src_1:b", "agent:agt_1:agent", "trigger:trg_1:t",
      "-trigger:trg_1", "-agent:agt_1",   "-source:src_1"};
  EXPECT_EQ(first_.seen, expected);
  EXPECT_EQ(second_.seen, expected);
  EXPECT_EQ(store_->GetSource("ws_1", "src_1").status().type(), ErrorType::kNotFound);
}

TEST_F(CatalogTest, AWriteTheStoreRefusesTellsNoOne) {
  ASSERT_OK(catalog_->CreateSource(Source("src_1", "a")));
  first_.seen.clear();
  // The same id again: the store's unique key refuses it.
  Status again = catalog_->CreateSource(Source("src_1", "other"));
  EXPECT_EQ(again.type(), ErrorType::kConflict) << again.ToString();
  // Unknown ids: nothing to update or delete.
  EXPECT_FALSE(catalog_->UpdateSource(Source("src_missing", "x")).ok());
  EXPECT_FALSE(catalog_->DeleteAgent("ws_1", "agt_missing").ok());
  EXPECT_TRUE(first_.seen.empty()) << first_.seen.front();
  EXPECT_EQ(store_->GetSource("ws_1", "src_1")->name, "a");
}

TEST_F(CatalogTest, ARemovedObserverIsToldNothingMore) {
  catalog_->RemoveObserver(&second_);
  ASSERT_OK(catalog_->CreateSource(Source("src_1", "a")));
  EXPECT_EQ(first_.seen.size(), 1u);
  EXPECT_TRUE(second_.seen.empty());
}

TEST_F(CatalogTest, ReloadReachesEveryObserverAndReportsTheFirstFailure) {
  first_.reload_status = Status::Internal("database gone");
  Status reloaded = catalog_->Reload();
  EXPECT_EQ(reloaded.type(), ErrorType::kInternal);
  EXPECT_EQ(first_.seen, std::vector<std::string>{"reload:"});
  EXPECT_EQ(second_.seen, std::vector<std::string>{"reload:"}) << "a failure stops no one";
  first_.reload_status = Status::Ok();
  EXPECT_OK(catalog_->Reload());
}

}  // namespace
}  // namespace triggerd::catalog
