// What only several PostgresStore instances on one database can show (docs/storage.md,
// "PostgreSQL"): de-duplication, claims, concurrency limits and lease takeover across instances,
// notifications between them (runs queued, configuration changed), migrations run once and
// refusing a newer schema. Each test has a fresh schema (store_backend.h); without
// TRIGGERD_TEST_PG_URL they skip (fail under CI=true).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "store/store.h"
#include "store_backend.h"
#include "test_util.h"

namespace triggerd::store {
namespace {

using ::testing::HasSubstr;

constexpr char kWs[] = "ws_one";
constexpr char kSrc[] = "src_one";
constexpr char kAgent[] = "agt_a";
constexpr char kTrigger[] = "trg_a";
constexpr int64_t kMinute = 60'000'000;

// Polls `done` until it holds or a generous deadline passes (notifications are asynchronous).
template <typename Done>
bool Eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

Source MakeSource(const std::string& id) {
  Source s;
  s.id = id;
  s.workspace_id = kWs;
  s.name = "source " + id;
  s.url_secret = "u" + id;
  s.created_at = s.updated_at = 10;
  return s;
}

Agent MakeAgent(const std::string& id, int concurrency, int max_attempts) {
  Agent a;
  a.id = id;
  a.workspace_id = kWs;
  a.name = "agent " + id;
  a.max_attempts = max_attempts;
  a.concurrency = concurrency;
  a.created_at = a.updated_at = 100;
  return a;
}

NewEvent MakeEvent(const std::string& id, const std::string& delivery_id = "",
                   std::vector<std::string> run_ids = {}, const std::string& agent_id = kAgent) {
  NewEvent e;
  e.id = id;
  e.workspace_id = kWs;
  e.source_id = kSrc;
  e.received_at = 1000;
  e.content_type = "application/json";
  e.delivery_id = delivery_id;
  e.body = R"({"n":1})";
  for (const std::string& run_id : run_ids) {
    Match m;
    m.trigger_id = kTrigger;
    m.outcome = MatchOutcome::kMatched;
    m.run_id = run_id;
    e.matches.push_back(m);
    NewRun r;
    r.id = run_id;
    r.workspace_id = kWs;
    r.trigger_id = kTrigger;
    r.agent_id = agent_id;
    r.created_at = 1000;
    e.runs.push_back(r);
  }
  return e;
}

Result<AppendOutcome> AppendSync(Store& store, NewEvent event) {
  std::promise<Result<AppendOutcome>> done;
  auto future = done.get_future();
  store.AppendEvent(std::move(event),
                    [&done](Result<AppendOutcome> r) { done.set_value(std::move(r)); });
  return future.get();
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = testing::RequireBackend("postgres");
    if (backend_ == nullptr) return;
    a_ = OpenOrDie();
    b_ = OpenOrDie();
    if (a_ == nullptr || b_ == nullptr) return;
    ASSERT_OK(a_->CreateWorkspace(Workspace{kWs, "one", 1}));
    ASSERT_OK(a_->CreateSource(MakeSource(kSrc)));
    ASSERT_OK(a_->CreateAgent(MakeAgent(kAgent, 2, 3)));
    Trigger t;
    t.id = kTrigger;
    t.workspace_id = kWs;
    t.source_id = kSrc;
    t.agent_id = kAgent;
    ASSERT_OK(a_->CreateTrigger(t));
  }

  std::unique_ptr<Store> OpenOrDie() {
    Result<std::unique_ptr<Store>> opened = backend_->Open(testing::BackendOptions{});
    EXPECT_OK(opened);
    return opened ? std::move(opened).value() : nullptr;
  }

  std::vector<store::Run> Claim(Store& store, const std::string& owner, int64_t now, int limit = 100) {
    Result<std::vector<store::Run>> runs = store.ClaimRuns(ClaimRequest{owner, now, kMinute, limit});
    EXPECT_OK(runs);
    return runs ? std::move(runs).value() : std::vector<store::Run>{};
  }

  std::unique_ptr<testing::StoreBackend> backend_;  // outlives the stores (declared first)
  std::unique_ptr<Store> a_;
  std::unique_ptr<Store> b_;
};

TEST_F(PostgresStoreTest, DeliveryIdAppendedAtOneInstanceIsADuplicateAtAnother) {
  Result<AppendOutcome> first = AppendSync(*a_, MakeEvent("evt_a", "dlv", {"run_a"}));
  ASSERT_OK(first);
  EXPECT_FALSE(first->duplicate);
  Result<AppendOutcome> second = AppendSync(*b_, MakeEvent("evt_b", "dlv", {"run_b"}));
  ASSERT_OK(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->event_id, "evt_a");
  EXPECT_EQ(second->received_at, 1000);
  // The duplicate wrote neither its event nor its outbox.
  EXPECT_EQ(b_->GetEvent(kWs, "evt_b").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(b_->GetRun(kWs, "run_b").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(backend_->Int("SELECT count(*) FROM matches"), 1);
  EXPECT_EQ(b_->Stats().duplicates, 1u);
}

TEST_F(PostgresStoreTest, ConcurrentAppendsOfOneDeliveryIdOnTwoInstancesStoreOneEvent) {
  constexpr int kPerStore = 8;
  std::vector<std::future<Result<AppendOutcome>>> outcomes;
  for (int i = 0; i < kPerStore; ++i) {
    for (Store* store : {a_.get(), b_.get()}) {
      const std::string id = "evt_" + std::to_string(outcomes.size());
      outcomes.push_back(std::async(std::launch::async, [store, id] {
        return AppendSync(*store, MakeEvent(id, "same", {"run_" + id}));
      }));
    }
  }
  std::set<std::string> ids;
  int stored = 0;
  for (auto& f : outcomes) {
    Result<AppendOutcome> r = f.get();
    ASSERT_OK(r);
    ids.insert(r->event_id);
    if (!r->duplicate) ++stored;
  }
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(backend_->Int("SELECT count(*) FROM events"), 1);
  EXPECT_EQ(backend_->Int("SELECT count(*) FROM runs"), 1);
}

TEST_F(PostgresStoreTest, ConcurrentClaimsOnTwoInstancesNeverShareARunNorExceedConcurrency) {
  constexpr int kAgents = 3;
  constexpr int kConcurrency = 2;
  constexpr int kRunsPerAgent = 30;
  constexpr int64_t kNow = 1'000'000;
  for (int a = 0; a < kAgents; ++a) {
    ASSERT_OK(a_->CreateAgent(MakeAgent("agt_" + std::to_string(a), kConcurrency, 3)));
  }
  for (int i = 0; i < kRunsPerAgent; ++i) {
    for (int a = 0; a < kAgents; ++a) {
      const std::string id = std::to_string(a) + "_" + std::to_string(i);
      ASSERT_OK(AppendSync(*a_, MakeEvent("evt_" + id, "", {"run_" + id},
                                          "agt_" + std::to_string(a))));
    }
  }
  std::mutex mu;
  std::map<std::string, int> claims;                 // guarded by mu
  std::map<std::string, int> in_flight, max_flight;  // guarded by mu
  std::atomic<int> finished{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    Store* store = w % 2 ? b_.get() : a_.get();
    workers.emplace_back([&, store, w] {
      const std::string owner = "disp_" + std::to_string(w);
      while (finished.load() < kAgents * kRunsPerAgent && errors.load() == 0) {
        // Leases of an hour at a fixed `now`: none expires, so no run may be claimed twice.
        Result<std::vector<store::Run>> runs =
            store->ClaimRuns(ClaimRequest{owner, kNow, 3'600'000'000, 2});
        if (!runs) {
          ADD_FAILURE() << runs.error().ToString();
          errors.fetch_add(1);
          return;
        }
        for (const store::Run& run : *runs) {
          std::lock_guard<std::mutex> lock(mu);
          ++claims[run.id];
          int& n = ++in_flight[run.agent_id];
          max_flight[run.agent_id] = std::max(max_flight[run.agent_id], n);
        }
        for (const store::Run& run : *runs) {
          {
            std::lock_guard<std::mutex> lock(mu);
            --in_flight[run.agent_id];
          }
          AttemptResult result{run.id, owner, run.attempts, AttemptOutcome::kSucceeded, "ok",
                               kNow,   0};
          if (!store->FinishAttempt(result).ok()) errors.fetch_add(1);
          finished.fetch_add(1);
        }
        if (runs->empty()) std::this_thread::yield();
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(finished.load(), kAgents * kRunsPerAgent);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kAgents * kRunsPerAgent));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << id;
  for (const auto& [agent, n] : max_flight) EXPECT_LE(n, kConcurrency) << agent;
}

TEST_F(PostgresStoreTest, ConcurrencyHoldsAcrossInstancesWithoutFinishing) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK(AppendSync(*a_, MakeEvent("evt_" + std::to_string(i), "",
                                        {"run_" + std::to_string(i)})));
  }
  // kAgent's concurrency is 2: whoever claims, at most two run at once.
  auto at_a = std::async(std::launch::async, [&] { return Claim(*a_, "disp_a", 5000); });
  auto at_b = std::async(std::launch::async, [&] { return Claim(*b_, "disp_b", 5000); });
  const size_t claimed = at_a.get().size() + at_b.get().size();
  EXPECT_EQ(claimed, 2u);
  EXPECT_TRUE(Claim(*a_, "disp_a", 6000).empty());
  EXPECT_TRUE(Claim(*b_, "disp_b", 6000).empty());
  LiveRunCounts counts = b_->CountLiveRuns().value();
  EXPECT_EQ(counts.running, 2);
  EXPECT_EQ(counts.queued, 4);
}

TEST_F(PostgresStoreTest, RunLeasedByADeadInstanceIsClaimedByAnotherOnceTheLeaseExpires) {
  ASSERT_OK(AppendSync(*a_, MakeEvent("evt_1", "", {"run_1"})));
  std::vector<store::Run> at_a = Claim(*a_, "disp_a", 5000);
  ASSERT_EQ(at_a.size(), 1u);
  a_.reset();  // node A dies with its lease
  EXPECT_TRUE(Claim(*b_, "disp_b", 5000 + kMinute - 1).empty());  // not before it expires
  std::vector<store::Run> at_b = Claim(*b_, "disp_b", 5000 + kMinute);
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].id, "run_1");
  EXPECT_EQ(at_b[0].lease_owner, "disp_b");
  EXPECT_EQ(at_b[0].attempts, 2);
  EXPECT_EQ(at_b[0].last_error, "lease expired before the attempt finished");
  // A's late result is fenced off.
  AttemptResult late{"run_1", "disp_a", 1, AttemptOutcome::kSucceeded, "late", 6000, 0};
  EXPECT_EQ(b_->FinishAttempt(late).type(), ErrorType::kConflict);
  Result<std::vector<RunMessage>> messages = b_->ListRunMessages("run_1");
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].role, "error");
}

TEST_F(PostgresStoreTest, ListenersFireOnTheOtherInstanceOnlyForItsCommits) {
  // A fresh B: it LISTENs from its open on, after SetUp's writes at A were committed, so none of
  // those reaches it.
  b_.reset();
  b_ = OpenOrDie();
  ASSERT_NE(b_, nullptr);
  std::atomic<int> a_runs{0}, a_config{0}, b_runs{0}, b_config{0};
  a_->SetRunsQueuedListener([&] { a_runs.fetch_add(1); });
  a_->SetConfigChangedListener([&] { a_config.fetch_add(1); });
  b_->SetRunsQueuedListener([&] { b_runs.fetch_add(1); });
  b_->SetConfigChangedListener([&] { b_config.fetch_add(1); });

  // A appends a run: A's listener is told before the callback (the contract), B's soon after.
  ASSERT_OK(AppendSync(*a_, MakeEvent("evt_1", "", {"run_1"})));
  EXPECT_EQ(a_runs.load(), 1);
  EXPECT_TRUE(Eventually([&] { return b_runs.load() >= 1; }));
  // A creates a source: B's cache must reload; A's callers know already.
  ASSERT_OK(a_->CreateSource(MakeSource("src_new")));
  EXPECT_TRUE(Eventually([&] { return b_config.load() >= 1; }));
  // And the other way round.
  ASSERT_OK(b_->CreateAgent(MakeAgent("agt_new", 1, 1)));
  EXPECT_TRUE(Eventually([&] { return a_config.load() >= 1; }));
  // A notification of B's write has reached A, and A's own writes (sent before it) were never
  // reported back to A as config changes; nor were B's to B.
  EXPECT_EQ(a_config.load(), 1);
  ASSERT_OK(b_->RetryRun(kWs, "run_nope", 1).type() == ErrorType::kNotFound
                ? Status::Ok()
                : Status::Internal("RetryRun of an unknown run must be kNotFound"));
  // A write that makes no run due and changes no configuration notifies nobody: claim and
  // finish at B, then one more config write at B as a marker that A has seen everything before.
  std::vector<store::Run> claimed = Claim(*b_, "disp_b", 5000);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(b_->FinishAttempt(
      AttemptResult{"run_1", "disp_b", 1, AttemptOutcome::kSucceeded, "ok", 5001, 0}));
  const int a_runs_before = a_runs.load();
  ASSERT_OK(b_->CreateSource(MakeSource("src_marker")));
  EXPECT_TRUE(Eventually([&] { return a_config.load() >= 2; }));
  EXPECT_EQ(a_runs.load(), a_runs_before);
  EXPECT_EQ(b_config.load(), 1);  // only A's CreateSource
}

TEST_F(PostgresStoreTest, LostListeningConnectionIsReestablishedAndBothListenersAreTold) {
  // C's connections carry a name of their own, so only its listening one is cut below.
  testing::BackendOptions named;
  named.application_name = "triggerd-test-" + std::to_string(::getpid()) + "-listener";
  Result<std::unique_ptr<Store>> opened = backend_->Open(named);
  ASSERT_OK(opened);
  std::unique_ptr<Store> c = std::move(opened).value();
  std::atomic<int> runs{0}, config{0};
  c->SetRunsQueuedListener([&] { runs.fetch_add(1); });
  c->SetConfigChangedListener([&] { config.fetch_add(1); });
  // Only C's listening connection has run LISTEN (its pool has not connected yet, or ran other
  // statements).
  ASSERT_EQ(backend_->Int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                          "application_name = '" + named.application_name +
                          "' AND query LIKE 'LISTEN%'"),
            1);
  // Notifications sent while it was gone are lost, so after reconnecting C tells both listeners.
  EXPECT_TRUE(Eventually([&] { return runs.load() >= 1 && config.load() >= 1; }));
  // And it listens again: another instance's write reaches it.
  const int config_before = config.load();
  ASSERT_OK(a_->CreateSource(MakeSource("src_after")));
  EXPECT_TRUE(Eventually([&] { return config.load() > config_before; }));
}

TEST_F(PostgresStoreTest, PooledConnectionsTheServerDroppedAreReplacedNotReused) {
  testing::BackendOptions named;
  named.application_name = "triggerd-test-" + std::to_string(::getpid()) + "-pool";
  named.pool_size = 2;
  Result<std::unique_ptr<Store>> opened = backend_->Open(named);
  ASSERT_OK(opened);
  std::unique_ptr<Store> c = std::move(opened).value();
  // Both pooled connections opened and used.
  ASSERT_OK(AppendSync(*c, MakeEvent("evt_1")));
  ASSERT_OK(c->GetWorkspace(kWs));
  // The server drops every connection of C but the listening one (a restart, an idle timeout).
  EXPECT_GE(backend_->Int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                          "application_name = '" + named.application_name +
                          "' AND query NOT LIKE 'LISTEN%'"),
            1);
  // Reads, writes and appends go on, on fresh connections.
  for (int i = 0; i < 3; ++i) {
    EXPECT_OK(c->GetWorkspace(kWs));
    EXPECT_OK(c->CreateSource(MakeSource("src_after_" + std::to_string(i))));
  }
  Result<AppendOutcome> appended = AppendSync(*c, MakeEvent("evt_2"));
  if (!appended) {
    // The writer's connection was the dropped one: that batch fails (its fate unknown), the
    // next one runs on a fresh connection.
    EXPECT_EQ(appended.error().type(), ErrorType::kInternal);
    appended = AppendSync(*c, MakeEvent("evt_2"));
  }
  EXPECT_OK(appended);
  EXPECT_OK(c->GetEvent(kWs, "evt_2"));
}

TEST_F(PostgresStoreTest, ReopenedInstanceSeesEverythingCommittedByAnother) {
  ASSERT_OK(AppendSync(*a_, MakeEvent("evt_1", "dlv", {"run_1"})));
  ASSERT_OK(a_->CreateSource(MakeSource("src_two")));
  a_->Close();
  b_.reset();
  std::unique_ptr<Store> c = OpenOrDie();
  ASSERT_NE(c, nullptr);
  EXPECT_OK(c->GetEvent(kWs, "evt_1"));
  EXPECT_OK(c->GetSource(kWs, "src_two"));
  EXPECT_EQ(c->GetRun(kWs, "run_1")->status, RunStatus::kQueued);
  Result<AppendOutcome> dup = AppendSync(*c, MakeEvent("evt_2", "dlv"));
  ASSERT_OK(dup);
  EXPECT_TRUE(dup->duplicate);
}

TEST_F(PostgresStoreTest, RefusesASchemaNewerThanTheBinary) {
  a_.reset();
  b_.reset();
  backend_->Exec("INSERT INTO triggerd_schema_migrations (version, name, applied_at) "
                 "VALUES (99, '099_future.sql', 0)");
  Result<std::unique_ptr<Store>> opened = backend_->Open(testing::BackendOptions{});
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), "schema_too_new");
  EXPECT_THAT(opened.error().message(), HasSubstr("99"));
  EXPECT_EQ(backend_->Int("SELECT max(version) FROM triggerd_schema_migrations"), 99);
}

TEST_F(PostgresStoreTest, RefusesASchemaWithTablesButNoVersion) {
  a_.reset();
  b_.reset();
  backend_->Exec("DROP TABLE triggerd_schema_migrations");
  Result<std::unique_ptr<Store>> opened = backend_->Open(testing::BackendOptions{});
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), "not_triggerd_database");
}

TEST_F(PostgresStoreTest, WrongMasterKeyIsRefusedWithItsCode) {
  a_.reset();
  b_.reset();
  testing::BackendOptions other;
  other.master_key = "another-master-key-32-bytes-long";
  Result<std::unique_ptr<Store>> opened = backend_->Open(other);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code(), "wrong_master_key");
}

TEST(PostgresStoreOpenTest, NodesStartingTogetherMigrateOnce) {
  std::unique_ptr<testing::StoreBackend> backend = testing::RequireBackend("postgres");
  if (backend == nullptr) return;
  std::vector<std::future<Result<std::unique_ptr<Store>>>> opening;
  for (int i = 0; i < 4; ++i) {
    opening.push_back(std::async(std::launch::async,
                                 [&] { return backend->Open(testing::BackendOptions{}); }));
  }
  std::vector<std::unique_ptr<Store>> stores;
  for (auto& f : opening) {
    Result<std::unique_ptr<Store>> s = f.get();
    ASSERT_OK(s);
    stores.push_back(std::move(s).value());
  }
  EXPECT_EQ(backend->Int("SELECT count(*) FROM triggerd_schema_migrations"),
            LatestPostgresSchemaVersion());
  EXPECT_OK(stores[3]->CreateWorkspace(Workspace{"ws_x", "x", 1}));
  EXPECT_OK(stores[0]->GetWorkspace("ws_x"));
}

TEST(PostgresStoreOpenTest, UnreachableServerIsAnErrorNotAHang) {
  PostgresOptions options;
  options.url = "postgres://triggerd@127.0.0.1:1/triggerd?connect_timeout=5";
  Result<std::unique_ptr<Store>> opened = OpenPostgresStore(options);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().type(), ErrorType::kInternal);
  EXPECT_THAT(opened.error().message(), HasSubstr("connect to PostgreSQL"));
}

}  // namespace
}  // namespace triggerd::store
