// The storage contract of agents, triggers, match records and runs, run against every backend
// (value-parameterised over {"sqlite", "postgres"}, store_backend.h): the transactional outbox,
// claims with leases and per-agent concurrency, fencing, retry/cancel. Every time is an explicit
// `now` (no sleeps). SQLite-only at the end: a failed fsync at the VFS and the v1 migration.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "fault_injection_vfs.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"
#include "store/store.h"
#include "store_backend.h"
#include "test_util.h"

namespace triggerd::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::BackendNames;
using testing::BackendParamName;
using triggerd::testing::TempDir;

constexpr char kWs[] = "ws_one";
constexpr char kOtherWs[] = "ws_two";
constexpr char kSrc[] = "src_one";
constexpr char kOtherSrc[] = "src_other";  // in kOtherWs
constexpr char kAgent[] = "agt_a";         // concurrency 2, max_attempts 3
constexpr char kTrigger[] = "trg_a";       // kSrc -> kAgent, owned by key_owner
constexpr char kOwner[] = "key_owner";
constexpr int64_t kMinute = 60'000'000;

Source MakeSource(const std::string& workspace_id, const std::string& id) {
  Source s;
  s.id = id;
  s.workspace_id = workspace_id;
  s.name = "source " + id;
  s.url_secret = "u" + id;
  s.created_by = "key_admin";
  s.created_at = 10;
  s.updated_at = 10;
  return s;
}

Agent MakeAgent(const std::string& workspace_id, const std::string& id, int concurrency,
                int max_attempts, int64_t created_at = 100) {
  Agent a;
  a.id = id;
  a.workspace_id = workspace_id;
  a.name = "agent " + id;
  a.instructions = "Summarise the \"event\".";
  a.target_json =
      R"({"type":"http","url":"https://agent.example/hook","headers":{},"timeout_ms":5000})";
  a.signing_secret = "whsec_abc";
  a.max_attempts = max_attempts;
  a.concurrency = concurrency;
  a.created_by = kOwner;
  a.created_at = created_at;
  a.updated_at = created_at + 1;
  return a;
}

Trigger MakeTrigger(const std::string& workspace_id, const std::string& id,
                    const std::string& source_id, const std::string& agent_id,
                    int64_t created_at = 200) {
  Trigger t;
  t.id = id;
  t.workspace_id = workspace_id;
  t.source_id = source_id;
  t.agent_id = agent_id;
  t.name = "trigger " + id;
  t.filter = R"((eq "action" "opened"))";
  t.event_types = {"pull_request", "issues"};
  t.include_payload = true;
  t.enabled = true;
  t.created_by = kOwner;
  t.created_at = created_at;
  t.updated_at = created_at;
  return t;
}

NewRun MakeRun(const std::string& id, const std::string& agent_id, int64_t created_at,
               const std::string& trigger_id = kTrigger, const std::string& owner = kOwner) {
  NewRun r;
  r.id = id;
  r.workspace_id = kWs;
  r.trigger_id = trigger_id;
  r.agent_id = agent_id;
  r.owner = owner;
  r.created_at = created_at;
  return r;  // max_attempts 0: the store copies the agent's
}

NewEvent MakeEvent(const std::string& id, const std::string& delivery_id = "",
                   int64_t received_at = 1000) {
  NewEvent e;
  e.id = id;
  e.workspace_id = kWs;
  e.source_id = kSrc;
  e.received_at = received_at;
  e.content_type = "application/json";
  e.event_type = "pull_request";
  e.delivery_id = delivery_id;
  e.body = R"({"action":"opened"})";
  e.verification = "hmac";
  return e;
}

Match MakeMatch(const std::string& trigger_id, MatchOutcome outcome, const std::string& run_id,
                int64_t at = 1000) {
  Match m;
  m.trigger_id = trigger_id;
  m.outcome = outcome;
  m.run_id = run_id;
  m.message = outcome == MatchOutcome::kFilterError ? "unknown operator" : "";
  m.evaluated_at = at;
  return m;
}

// An event with one matched run (and its match record) per entry of `runs`.
NewEvent EventWithRuns(const std::string& id, std::vector<NewRun> runs,
                       const std::string& delivery_id = "") {
  NewEvent e = MakeEvent(id, delivery_id);
  for (NewRun& r : runs) {
    e.matches.push_back(MakeMatch(r.trigger_id, MatchOutcome::kMatched, r.id));
    e.runs.push_back(std::move(r));
  }
  return e;
}

std::vector<std::string> RunIds(const std::vector<store::Run>& runs) {
  std::vector<std::string> ids;
  for (const store::Run& r : runs) ids.push_back(r.id);
  return ids;
}

// The fixture of both kinds of test; the backend is the parameter (StoreDispatchTest) or SQLite
// (SqliteDispatchTest).
class DispatchTestBase : public ::testing::Test {
 protected:
  virtual std::string BackendName() const = 0;

  void SetUp() override {
    backend_ = testing::RequireBackend(BackendName());
    if (backend_ == nullptr) return;  // skipped (or failed, under CI)
    options_.clock = &clock_;
    ASSERT_NO_FATAL_FAILURE(Reopen());
    ASSERT_OK(store_->CreateWorkspace(Workspace{kWs, "one", 1}));
    ASSERT_OK(store_->CreateWorkspace(Workspace{kOtherWs, "two", 2}));
    ASSERT_OK(store_->CreateSource(MakeSource(kWs, kSrc)));
    ASSERT_OK(store_->CreateSource(MakeSource(kOtherWs, kOtherSrc)));
    ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, kAgent, 2, 3)));
    ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, kTrigger, kSrc, kAgent)));
  }

  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<Store>> opened = backend_->Open(options_);
    ASSERT_OK(opened);
    store_ = std::move(opened).value();
  }

  Result<AppendOutcome> AppendSync(NewEvent event) {
    std::promise<Result<AppendOutcome>> done;
    auto future = done.get_future();
    store_->AppendEvent(std::move(event),
                        [&done](Result<AppendOutcome> r) { done.set_value(std::move(r)); });
    return future.get();
  }

  std::future<Result<AppendOutcome>> AppendAsync(NewEvent event) {
    auto done = std::make_shared<std::promise<Result<AppendOutcome>>>();
    auto future = done->get_future();
    store_->AppendEvent(std::move(event),
                        [done](Result<AppendOutcome> r) { done->set_value(std::move(r)); });
    return future;
  }

  // Holds the writer inside an append callback until released, so that requests queued meanwhile
  // are committed together in the next batch.
  class WriterGate {
   public:
    explicit WriterGate(Store& store) {
      auto entered = std::make_shared<std::promise<void>>();
      auto entered_future = entered->get_future();
      auto release = release_.get_future().share();
      store.AppendEvent(MakeEvent("evt_gate" + std::to_string(counter_++)),
                        [entered, release](Result<AppendOutcome> r) {
                          EXPECT_OK(r);
                          entered->set_value();
                          release.wait();
                        });
      entered_future.wait();
    }
    ~WriterGate() { Release(); }
    void Release() {
      if (!released_) release_.set_value();
      released_ = true;
    }

   private:
    static inline int counter_ = 0;
    std::promise<void> release_;
    bool released_ = false;
  };

  std::vector<store::Run> Claim(const std::string& owner, int64_t now, int limit = 100,
                                int64_t lease = kMinute) {
    ClaimRequest request;
    request.owner = owner;
    request.now = now;
    request.lease_micros = lease;
    request.limit = limit;
    Result<std::vector<store::Run>> runs = store_->ClaimRuns(request);
    EXPECT_OK(runs);
    return runs ? std::move(runs).value() : std::vector<store::Run>{};
  }

  store::Run GetRun(const std::string& id) {
    Result<store::Run> run = store_->GetRun(kWs, id);
    EXPECT_OK(run);
    return run ? std::move(run).value() : store::Run{};
  }

  AttemptResult Finish(const store::Run& claimed, AttemptOutcome outcome, int64_t at,
                       const std::string& message = "reply") {
    AttemptResult r;
    r.run_id = claimed.id;
    r.lease_owner = claimed.lease_owner;
    r.attempt = claimed.attempts;
    r.outcome = outcome;
    r.message = message;
    r.finished_at = at;
    r.next_attempt_at = at + kMinute;
    return r;
  }

  // Queues runs (one event per run) for `agent_id`, created at `created_at`, +1, +2, ….
  void QueueRuns(const std::string& prefix, const std::string& agent_id, int n,
                 int64_t created_at) {
    for (int i = 0; i < n; ++i) {
      std::string id = prefix + std::to_string(i);
      ASSERT_OK(
          AppendSync(EventWithRuns("evt_" + id, {MakeRun("run_" + id, agent_id, created_at + i)})));
    }
  }

  int64_t CountRows(const std::string& sql) { return backend_->Int(sql); }

  ManualClock clock_{5'000'000};
  std::unique_ptr<testing::StoreBackend> backend_;  // outlives store_ (declared first)
  testing::BackendOptions options_;
  std::unique_ptr<Store> store_;
};

class StoreDispatchTest : public DispatchTestBase,
                          public ::testing::WithParamInterface<std::string> {
 protected:
  std::string BackendName() const override { return GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreDispatchTest, ::testing::ValuesIn(BackendNames()),
                         BackendParamName);

class SqliteDispatchTest : public DispatchTestBase {
 protected:
  std::string BackendName() const override { return "sqlite"; }
};

// ---- Agents ----

TEST_P(StoreDispatchTest, AgentRoundTripsEveryField) {
  Agent want = MakeAgent(kWs, kAgent, 2, 3);
  Result<Agent> got = store_->GetAgent(kWs, kAgent);
  ASSERT_OK(got);
  EXPECT_EQ(got->id, want.id);
  EXPECT_EQ(got->workspace_id, want.workspace_id);
  EXPECT_EQ(got->name, want.name);
  EXPECT_EQ(got->instructions, want.instructions);
  EXPECT_EQ(got->target_json, want.target_json);
  EXPECT_EQ(got->signing_secret, want.signing_secret);
  EXPECT_EQ(got->max_attempts, 3);
  EXPECT_EQ(got->concurrency, 2);
  EXPECT_EQ(got->created_by, want.created_by);
  EXPECT_EQ(got->created_at, want.created_at);
  EXPECT_EQ(got->updated_at, want.updated_at);
}

TEST_P(StoreDispatchTest, ListsAgentsOfOneWorkspaceNewestFirst) {
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_new", 1, 1, 900)));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_mid", 1, 1, 500)));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kOtherWs, "agt_x", 1, 1, 999)));
  Result<std::vector<Agent>> agents = store_->ListAgents(kWs);
  ASSERT_OK(agents);
  std::vector<std::string> ids;
  for (const Agent& a : *agents) ids.push_back(a.id);
  EXPECT_THAT(ids, ElementsAre("agt_new", "agt_mid", kAgent));
}

TEST_P(StoreDispatchTest, UpdateAgentReplacesEveryField) {
  Agent a = MakeAgent(kWs, kAgent, 7, 9, 4);
  a.name = "renamed";
  a.instructions = "";
  a.target_json = R"({"type":"command","argv":["/bin/true"]})";
  a.signing_secret = "";
  a.created_by = "key_other";
  a.updated_at = 12345;
  ASSERT_OK(store_->UpdateAgent(a));
  Result<Agent> got = store_->GetAgent(kWs, kAgent);
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "renamed");
  EXPECT_EQ(got->instructions, "");
  EXPECT_EQ(got->target_json, a.target_json);
  EXPECT_EQ(got->signing_secret, "");
  EXPECT_EQ(got->concurrency, 7);
  EXPECT_EQ(got->max_attempts, 9);
  EXPECT_EQ(got->created_by, "key_other");
  EXPECT_EQ(got->created_at, 4);
  EXPECT_EQ(got->updated_at, 12345);
}

TEST_P(StoreDispatchTest, AgentOfAnotherWorkspaceIsNotFoundForEveryOperation) {
  EXPECT_EQ(store_->GetAgent(kOtherWs, kAgent).error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->UpdateAgent(MakeAgent(kOtherWs, kAgent, 1, 1)).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->DeleteAgent(kOtherWs, kAgent).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->DeleteAgent(kWs, "agt_nope").type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->GetAgent(kWs, kAgent)->concurrency, 2);
}

TEST_P(StoreDispatchTest, AgentConstraintsMapToTheirErrorTypes) {
  EXPECT_EQ(store_->CreateAgent(MakeAgent(kWs, kAgent, 1, 1)).type(), ErrorType::kConflict);
  EXPECT_EQ(store_->CreateAgent(MakeAgent("ws_nope", "agt_x", 1, 1)).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->CreateAgent(MakeAgent(kWs, "agt_x", 0, 1)).type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(store_->CreateAgent(MakeAgent(kWs, "agt_x", 1, 0)).type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(store_->UpdateAgent(MakeAgent(kWs, kAgent, -1, 1)).type(), ErrorType::kInvalidArgument);
}

TEST_P(StoreDispatchTest, DeleteAgentIsConflictWhileATriggerUsesIt) {
  Status s = store_->DeleteAgent(kWs, kAgent);
  EXPECT_EQ(s.type(), ErrorType::kConflict) << s.ToString();
  EXPECT_OK(store_->GetAgent(kWs, kAgent));
}

TEST_P(StoreDispatchTest, DeletingTriggerAndAgentCancelsWaitingRunsAndLeavesRunningOnes) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("r", kAgent, 3, 1000));
  std::vector<store::Run> running = Claim("disp_1", 2000, 1);
  ASSERT_THAT(RunIds(running), ElementsAre("run_r0"));
  // run_r1 becomes retrying: also waiting, so also cancelled.
  std::vector<store::Run> second = Claim("disp_1", 2000, 1);
  ASSERT_THAT(RunIds(second), ElementsAre("run_r1"));
  ASSERT_OK(store_->FinishAttempt(Finish(second[0], AttemptOutcome::kRetry, 2100)));

  clock_.Set(7'000'000);
  ASSERT_OK(store_->DeleteTrigger(kWs, kTrigger));
  ASSERT_OK(store_->DeleteAgent(kWs, kAgent));
  EXPECT_EQ(store_->GetAgent(kWs, kAgent).error().type(), ErrorType::kNotFound);

  // The trigger's deletion already cancelled them (the agent's would have, had the trigger only
  // moved to another agent).
  for (const char* id : {"run_r1", "run_r2"}) {
    store::Run run = GetRun(id);
    EXPECT_EQ(run.status, RunStatus::kCancelled) << id;
    EXPECT_EQ(run.finished_at, std::optional<int64_t>(7'000'000)) << id;
    EXPECT_EQ(run.last_error, "trigger deleted") << id;
  }
  EXPECT_EQ(GetRun("run_r0").status, RunStatus::kRunning);
  // The attempt in flight may still report; the run is kept.
  EXPECT_OK(store_->FinishAttempt(Finish(running[0], AttemptOutcome::kSucceeded, 2500)));
  EXPECT_EQ(GetRun("run_r0").status, RunStatus::kSucceeded);
}

// ---- Triggers ----

TEST_P(StoreDispatchTest, TriggerRoundTripsEveryField) {
  Trigger t = MakeTrigger(kWs, "trg_b", kSrc, kAgent, 300);
  t.name = "";
  t.filter = "";
  t.event_types = {};
  t.include_payload = false;
  t.enabled = false;
  ASSERT_OK(store_->CreateTrigger(t));
  for (const Trigger& want : {MakeTrigger(kWs, kTrigger, kSrc, kAgent), t}) {
    Result<Trigger> got = store_->GetTrigger(kWs, want.id);
    ASSERT_OK(got);
    EXPECT_EQ(got->id, want.id);
    EXPECT_EQ(got->workspace_id, want.workspace_id);
    EXPECT_EQ(got->source_id, want.source_id);
    EXPECT_EQ(got->agent_id, want.agent_id);
    EXPECT_EQ(got->name, want.name);
    EXPECT_EQ(got->filter, want.filter);
    EXPECT_EQ(got->event_types, want.event_types);
    EXPECT_EQ(got->include_payload, want.include_payload);
    EXPECT_EQ(got->enabled, want.enabled);
    EXPECT_EQ(got->created_by, want.created_by);
    EXPECT_EQ(got->created_at, want.created_at);
    EXPECT_EQ(got->updated_at, want.updated_at);
  }
}

TEST_P(StoreDispatchTest, ListsTriggersBySourceAndAgentNewestFirst) {
  ASSERT_OK(store_->CreateSource(MakeSource(kWs, "src_b")));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_b", 1, 1)));
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_sb_aa", "src_b", kAgent, 400)));
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_s1_ab", kSrc, "agt_b", 300)));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kOtherWs, "agt_x", 1, 1)));
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kOtherWs, "trg_x", kOtherSrc, "agt_x", 50)));

  auto ids = [&](std::string_view source, std::string_view agent) {
    std::vector<std::string> out;
    Result<std::vector<Trigger>> list = store_->ListTriggers(kWs, source, agent);
    EXPECT_OK(list);
    if (list) {
      for (const Trigger& t : *list) out.push_back(t.id);
    }
    return out;
  };
  EXPECT_THAT(ids("", ""), ElementsAre("trg_sb_aa", "trg_s1_ab", kTrigger));
  EXPECT_THAT(ids(kSrc, ""), ElementsAre("trg_s1_ab", kTrigger));
  EXPECT_THAT(ids("", kAgent), ElementsAre("trg_sb_aa", kTrigger));
  EXPECT_THAT(ids(kSrc, kAgent), ElementsAre(kTrigger));

  Result<std::vector<Trigger>> all = store_->ListAllTriggers();
  ASSERT_OK(all);
  std::vector<std::string> all_ids;
  for (const Trigger& t : *all) all_ids.push_back(t.id);
  EXPECT_THAT(all_ids, ElementsAre("trg_x", kTrigger, "trg_s1_ab", "trg_sb_aa"));  // oldest first
}

TEST_P(StoreDispatchTest, TriggerWithSourceOrAgentOfAnotherWorkspaceIsNotFound) {
  ASSERT_OK(store_->CreateAgent(MakeAgent(kOtherWs, "agt_x", 1, 1)));
  Status bad_source = store_->CreateTrigger(MakeTrigger(kWs, "trg_b", kOtherSrc, kAgent));
  EXPECT_EQ(bad_source.type(), ErrorType::kNotFound);
  EXPECT_THAT(bad_source.message(), HasSubstr("source"));
  Status bad_agent = store_->CreateTrigger(MakeTrigger(kWs, "trg_b", kSrc, "agt_x"));
  EXPECT_EQ(bad_agent.type(), ErrorType::kNotFound);
  EXPECT_THAT(bad_agent.message(), HasSubstr("agent"));
  EXPECT_EQ(store_->CreateTrigger(MakeTrigger(kWs, "trg_b", kSrc, "agt_nope")).type(),
            ErrorType::kNotFound);
  EXPECT_EQ(store_->GetTrigger(kWs, "trg_b").error().type(), ErrorType::kNotFound);

  EXPECT_EQ(store_->UpdateTrigger(MakeTrigger(kWs, kTrigger, kSrc, "agt_x")).type(),
            ErrorType::kNotFound);
  EXPECT_EQ(store_->GetTrigger(kWs, kTrigger)->agent_id, kAgent);
  EXPECT_EQ(store_->GetTrigger(kOtherWs, kTrigger).error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->DeleteTrigger(kOtherWs, kTrigger).type(), ErrorType::kNotFound);
}

TEST_P(StoreDispatchTest, UpdateTriggerReplacesEveryField) {
  ASSERT_OK(store_->CreateSource(MakeSource(kWs, "src_b")));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_b", 1, 1)));
  Trigger t = MakeTrigger(kWs, kTrigger, "src_b", "agt_b", 7);
  t.filter = "";
  t.event_types = {"push"};
  t.enabled = false;
  t.include_payload = false;
  t.updated_at = 999;
  ASSERT_OK(store_->UpdateTrigger(t));
  Result<Trigger> got = store_->GetTrigger(kWs, kTrigger);
  ASSERT_OK(got);
  EXPECT_EQ(got->source_id, "src_b");
  EXPECT_EQ(got->agent_id, "agt_b");
  EXPECT_EQ(got->filter, "");
  EXPECT_EQ(got->event_types, std::vector<std::string>{"push"});
  EXPECT_FALSE(got->enabled);
  EXPECT_FALSE(got->include_payload);
  EXPECT_EQ(got->updated_at, 999);
  EXPECT_EQ(store_->UpdateTrigger(MakeTrigger(kWs, "trg_nope", kSrc, kAgent)).type(),
            ErrorType::kNotFound);
}

TEST_P(StoreDispatchTest, DeletingSourceDeletesItsTriggersAndKeepsRunsAndMatches) {
  ASSERT_OK(store_->CreateSource(MakeSource(kWs, "src_b")));
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_b", "src_b", kAgent)));
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)})));

  ASSERT_OK(store_->DeleteSource(kWs, kSrc));
  EXPECT_EQ(store_->GetTrigger(kWs, kTrigger).error().type(), ErrorType::kNotFound);
  EXPECT_OK(store_->GetTrigger(kWs, "trg_b"));
  EXPECT_EQ(GetRun("run_1").trigger_id, kTrigger);
  // Its trigger's waiting run is cancelled with it.
  EXPECT_EQ(GetRun("run_1").status, RunStatus::kCancelled);
  EXPECT_EQ(GetRun("run_1").last_error, "trigger deleted");
  Result<std::vector<Match>> matches = store_->ListEventMatches(kWs, "evt_1");
  ASSERT_OK(matches);
  EXPECT_EQ(matches->size(), 1u);
  // With the trigger gone, the agent can be deleted.
  ASSERT_OK(store_->DeleteTrigger(kWs, "trg_b"));
  EXPECT_OK(store_->DeleteAgent(kWs, kAgent));
}

// ---- The outbox ----

TEST_P(StoreDispatchTest, AppendWritesMatchesAndRunsWithTheEvent) {
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_b", kSrc, kAgent)));
  ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_c", kSrc, kAgent)));
  NewEvent e = MakeEvent("evt_1");
  e.matches = {MakeMatch(kTrigger, MatchOutcome::kMatched, "run_1", 1001),
               MakeMatch("trg_b", MatchOutcome::kFilterError, "", 1002),
               MakeMatch("trg_c", MatchOutcome::kDisabled, "", 1003),
               MakeMatch("trg_d", MatchOutcome::kIgnored, "", 1004)};
  e.matches[3].message = "not subscribed: event type \"pull_request\"";
  e.matches[3].reason = "event_type";
  NewRun run = MakeRun("run_1", kAgent, 1001);
  run.include_payload = false;
  e.runs = {run};
  uint64_t runs_before = store_->Stats().runs_created;
  ASSERT_OK(AppendSync(e));
  EXPECT_EQ(store_->Stats().runs_created, runs_before + 1);

  Result<std::vector<Match>> matches = store_->ListEventMatches(kWs, "evt_1");
  ASSERT_OK(matches);
  ASSERT_EQ(matches->size(), 4u);
  EXPECT_EQ((*matches)[0].trigger_id, kTrigger);  // oldest first
  EXPECT_EQ((*matches)[0].event_id, "evt_1");
  EXPECT_EQ((*matches)[0].outcome, MatchOutcome::kMatched);
  EXPECT_EQ((*matches)[0].run_id, "run_1");
  EXPECT_EQ((*matches)[0].evaluated_at, 1001);
  EXPECT_FALSE((*matches)[0].replay);
  EXPECT_EQ((*matches)[1].outcome, MatchOutcome::kFilterError);
  EXPECT_EQ((*matches)[1].message, "unknown operator");
  EXPECT_EQ((*matches)[2].outcome, MatchOutcome::kDisabled);
  EXPECT_EQ((*matches)[0].reason, "");
  EXPECT_EQ((*matches)[3].outcome, MatchOutcome::kIgnored);
  EXPECT_EQ((*matches)[3].reason, "event_type");
  EXPECT_EQ((*matches)[3].message, "not subscribed: event type \"pull_request\"");
  EXPECT_LT((*matches)[0].seq, (*matches)[1].seq);
  EXPECT_TRUE(store_->ListEventMatches(kOtherWs, "evt_1")->empty());

  store::Run got = GetRun("run_1");
  EXPECT_GT(got.seq, 0);
  EXPECT_EQ(got.workspace_id, kWs);
  EXPECT_EQ(got.event_id, "evt_1");
  EXPECT_EQ(got.trigger_id, kTrigger);
  EXPECT_EQ(got.agent_id, kAgent);
  EXPECT_EQ(got.owner, kOwner);
  EXPECT_FALSE(got.include_payload);
  EXPECT_EQ(got.max_attempts, 3);  // copied from the agent
  EXPECT_EQ(got.created_at, 1001);
  EXPECT_EQ(got.status, RunStatus::kQueued);
  EXPECT_EQ(got.attempts, 0);
  EXPECT_EQ(got.next_attempt_at, 1001);
  EXPECT_EQ(got.lease_owner, "");
  EXPECT_EQ(got.lease_expires_at, 0);
  EXPECT_FALSE(got.started_at.has_value());
  EXPECT_FALSE(got.finished_at.has_value());
  EXPECT_EQ(got.last_error, "");
  EXPECT_EQ(store_->GetRun(kOtherWs, "run_1").error().type(), ErrorType::kNotFound);
}

TEST_P(StoreDispatchTest, ExplicitMaxAttemptsIsKept) {
  NewRun run = MakeRun("run_1", kAgent, 1000);
  run.max_attempts = 11;
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {run})));
  EXPECT_EQ(GetRun("run_1").max_attempts, 11);
}

TEST_P(StoreDispatchTest, DuplicateDeliveryWritesNoMatchesOrRuns) {
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)}, "dlv")));
  uint64_t runs_before = store_->Stats().runs_created;
  Result<AppendOutcome> dup =
      AppendSync(EventWithRuns("evt_2", {MakeRun("run_2", kAgent, 1000)}, "dlv"));
  ASSERT_OK(dup);
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->event_id, "evt_1");
  EXPECT_EQ(store_->GetRun(kWs, "run_2").error().type(), ErrorType::kNotFound);
  EXPECT_TRUE(store_->ListEventMatches(kWs, "evt_2")->empty());
  EXPECT_EQ(CountRows("SELECT count(*) FROM matches"), 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM runs"), 1);
  EXPECT_EQ(store_->Stats().runs_created, runs_before);
}

TEST_P(StoreDispatchTest, AppendWhoseRunFailsWritesNothingAndSparesTheRestOfTheBatch) {
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_taken", kAgent, 1000)})));
  std::future<Result<AppendOutcome>> bad, good;
  {
    WriterGate gate(*store_);
    // Its second run reuses a run id: the whole event fails, match records and first run too.
    bad = AppendAsync(EventWithRuns(
        "evt_bad", {MakeRun("run_new", kAgent, 1000), MakeRun("run_taken", kAgent, 1000)}, "d1"));
    good = AppendAsync(EventWithRuns("evt_good", {MakeRun("run_good", kAgent, 1000)}, "d2"));
  }
  Result<AppendOutcome> r_bad = bad.get();
  ASSERT_FALSE(r_bad.has_value());
  EXPECT_EQ(r_bad.error().type(), ErrorType::kConflict);
  EXPECT_THAT(r_bad.error().message(), HasSubstr("insert run"));
  EXPECT_OK(good.get());
  EXPECT_EQ(store_->GetEvent(kWs, "evt_bad").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->GetRun(kWs, "run_new").error().type(), ErrorType::kNotFound);
  EXPECT_TRUE(store_->ListEventMatches(kWs, "evt_bad")->empty());
  EXPECT_EQ(GetRun("run_good").status, RunStatus::kQueued);
  EXPECT_EQ(GetRun("run_taken").event_id, "evt_1");
  // The delivery id of the failed event is still free.
  Result<AppendOutcome> retry = AppendSync(MakeEvent("evt_bad2", "d1"));
  ASSERT_OK(retry);
  EXPECT_FALSE(retry->duplicate);
}

TEST_P(StoreDispatchTest, RunOfADeletedAgentGetsTheDefaultBudgetAndIsCancelledWhenDue) {
  // The ingest evaluated against a cached trigger whose agent has since been deleted.
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", "agt_gone", 1000)})));
  store::Run queued = GetRun("run_1");
  EXPECT_EQ(queued.status, RunStatus::kQueued);
  EXPECT_EQ(queued.max_attempts, Agent{}.max_attempts);

  EXPECT_TRUE(Claim("disp_1", 2000).empty());
  store::Run cancelled = GetRun("run_1");
  EXPECT_EQ(cancelled.status, RunStatus::kCancelled);
  EXPECT_EQ(cancelled.finished_at, std::optional<int64_t>(2000));
  EXPECT_EQ(cancelled.last_error, "agent deleted");
  Result<std::optional<int64_t>> next = store_->NextDueTime();
  ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());
}

TEST_P(StoreDispatchTest, AppendMatchesRecordsAReplayWithItsRuns) {
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)})));
  Match replayed = MakeMatch(kTrigger, MatchOutcome::kMatched, "run_2", 5000);
  replayed.replay = true;
  Match ignored = MakeMatch("trg_old", MatchOutcome::kIgnored, "", 5000);
  ignored.replay = true;
  ignored.message = "event type not subscribed";
  uint64_t runs_before = store_->Stats().runs_created;
  ASSERT_OK(
      store_->AppendMatches(kWs, "evt_1", {replayed, ignored}, {MakeRun("run_2", kAgent, 5000)}));
  EXPECT_EQ(store_->Stats().runs_created, runs_before + 1);

  Result<std::vector<Match>> matches = store_->ListEventMatches(kWs, "evt_1");
  ASSERT_OK(matches);
  ASSERT_EQ(matches->size(), 3u);
  EXPECT_FALSE((*matches)[0].replay);
  EXPECT_TRUE((*matches)[1].replay);
  EXPECT_EQ((*matches)[1].run_id, "run_2");
  EXPECT_EQ((*matches)[2].message, "event type not subscribed");
  store::Run run = GetRun("run_2");
  EXPECT_EQ(run.event_id, "evt_1");
  EXPECT_EQ(run.status, RunStatus::kQueued);
  EXPECT_EQ(run.max_attempts, 3);

  EXPECT_EQ(store_->AppendMatches(kOtherWs, "evt_1", {replayed}, {}).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->AppendMatches(kWs, "evt_nope", {replayed}, {}).type(), ErrorType::kNotFound);
  // A failing replay writes none of its records.
  EXPECT_EQ(
      store_->AppendMatches(kWs, "evt_1", {replayed}, {MakeRun("run_2", kAgent, 6000)}).type(),
      ErrorType::kConflict);
  EXPECT_EQ(store_->ListEventMatches(kWs, "evt_1")->size(), 3u);
}

// ---- The runs-queued listener ----

TEST_P(StoreDispatchTest, ListenerRunsOnceAfterACommitThatMadeRunsDue) {
  std::atomic<int> calls{0};
  store_->SetRunsQueuedListener([&calls] { calls.fetch_add(1); });

  ASSERT_OK(AppendSync(MakeEvent("evt_plain")));
  EXPECT_EQ(calls.load(), 0);  // no runs, no wake-up

  // Three appends with runs and one without, committed together: one call.
  std::vector<std::future<Result<AppendOutcome>>> futures;
  std::promise<int> calls_seen_by_callback;
  {
    WriterGate gate(*store_);
    for (int i = 0; i < 3; ++i) {
      std::string id = std::to_string(i);
      futures.push_back(
          AppendAsync(EventWithRuns("evt_" + id, {MakeRun("run_" + id, kAgent, 1000)})));
    }
    futures.push_back(AppendAsync(MakeEvent("evt_none")));
    store_->AppendEvent(MakeEvent("evt_probe"), [&](Result<AppendOutcome>) {
      calls_seen_by_callback.set_value(calls.load());
    });
  }
  for (auto& f : futures) EXPECT_OK(f.get());
  EXPECT_EQ(calls.load(), 1);
  // Told before any result of that commit was delivered.
  EXPECT_EQ(calls_seen_by_callback.get_future().get(), 1);

  // AppendMatches with runs and RetryRun wake; without runs, cancel, claim and finish do not.
  ASSERT_OK(store_->AppendMatches(kWs, "evt_plain", {}, {MakeRun("run_r", kAgent, 1000)}));
  EXPECT_EQ(calls.load(), 2);
  ASSERT_OK(store_->AppendMatches(kWs, "evt_plain",
                                  {MakeMatch(kTrigger, MatchOutcome::kIgnored, "")}, {}));
  ASSERT_OK(store_->CancelRun(kWs, "run_r", 1500));
  std::vector<store::Run> claimed = Claim("disp_1", 2000, 1);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(store_->FinishAttempt(Finish(claimed[0], AttemptOutcome::kFailed, 2100, "400")));
  EXPECT_EQ(calls.load(), 2);
  ASSERT_OK(store_->RetryRun(kWs, claimed[0].id, 3000));
  EXPECT_EQ(calls.load(), 3);

  // A failing request does not wake anyone.
  EXPECT_FALSE(AppendSync(EventWithRuns("evt_0", {MakeRun("run_x", kAgent, 1000)})).has_value());
  EXPECT_EQ(calls.load(), 3);

  store_->SetRunsQueuedListener(nullptr);
  ASSERT_OK(AppendSync(EventWithRuns("evt_9", {MakeRun("run_9", kAgent, 1000)})));
  EXPECT_EQ(calls.load(), 3);
}

TEST_P(StoreDispatchTest, ReplacingTheListenerWaitsForACallInProgress) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> listener_done{false};
  store_->SetRunsQueuedListener([&] {
    entered.set_value();
    released.wait();
    listener_done = true;
  });
  auto append = AppendAsync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)}));
  entered.get_future().wait();
  std::atomic<bool> replaced{false};
  std::thread replacer([&] {
    store_->SetRunsQueuedListener(nullptr);
    // The owner of the old listener may be destroyed now: it is not running any more.
    EXPECT_TRUE(listener_done.load());
    replaced = true;
  });
  EXPECT_FALSE(replaced.load());  // cannot return while the listener runs
  release.set_value();
  replacer.join();
  EXPECT_TRUE(replaced.load());
  EXPECT_OK(append.get());
}

// ---- Listing runs and match records ----

class StoreRunListTest : public StoreDispatchTest {
 protected:
  // 10 runs run_00..run_09, created 100, 200, …; odd ones for trg_odd/agt_odd, owned by
  // key_odd; run_03 and run_07 of event evt_shared.
  void SetUp() override {
    StoreDispatchTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_odd", 10, 1)));
    ASSERT_OK(store_->CreateTrigger(MakeTrigger(kWs, "trg_odd", kSrc, "agt_odd")));
    ASSERT_OK(AppendSync(MakeEvent("evt_shared")));
    for (int i = 0; i < 10; ++i) {
      char id[16];
      std::snprintf(id, sizeof(id), "run_%02d", i);
      NewRun run = i % 2 ? MakeRun(id, "agt_odd", (i + 1) * 100, "trg_odd", "key_odd")
                         : MakeRun(id, kAgent, (i + 1) * 100);
      if (i == 3 || i == 7) {
        ASSERT_OK(store_->AppendMatches(kWs, "evt_shared", {}, {run}));
      } else {
        ASSERT_OK(AppendSync(EventWithRuns(std::string("evt_") + id, {run})));
      }
    }
    ASSERT_OK(store_->CreateAgent(MakeAgent(kOtherWs, "agt_x", 1, 1)));
  }

  std::vector<std::string> List(const RunQuery& q, std::optional<int64_t>* cursor = nullptr) {
    Result<Page<store::Run>> page = store_->ListRuns(q);
    EXPECT_OK(page);
    if (!page) return {};
    if (cursor != nullptr) *cursor = page->next_cursor;
    return RunIds(page->items);
  }
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreRunListTest, ::testing::ValuesIn(BackendNames()),
                         BackendParamName);

TEST_P(StoreRunListTest, PagesNewestFirstWithCursorUntilTheEnd) {
  RunQuery q;
  q.workspace_id = kWs;
  q.limit = 4;
  std::optional<int64_t> cursor;
  EXPECT_THAT(List(q, &cursor), ElementsAre("run_09", "run_08", "run_07", "run_06"));
  ASSERT_TRUE(cursor.has_value());
  q.before_seq = cursor;
  EXPECT_THAT(List(q, &cursor), ElementsAre("run_05", "run_04", "run_03", "run_02"));
  q.before_seq = cursor;
  EXPECT_THAT(List(q, &cursor), ElementsAre("run_01", "run_00"));
  EXPECT_FALSE(cursor.has_value());

  q = RunQuery{};
  q.workspace_id = kWs;
  q.limit = 10;
  EXPECT_EQ(List(q, &cursor).size(), 10u);
  EXPECT_FALSE(cursor.has_value());  // an exactly full last page has no cursor
  q.workspace_id = kOtherWs;
  EXPECT_TRUE(List(q).empty());
}

TEST_P(StoreRunListTest, FiltersByTriggerAgentEventOwnerStatusAndTime) {
  RunQuery q;
  q.workspace_id = kWs;
  q.trigger_id = "trg_odd";
  EXPECT_THAT(List(q), ElementsAre("run_09", "run_07", "run_05", "run_03", "run_01"));
  q = RunQuery{};
  q.workspace_id = kWs;
  q.agent_id = kAgent;
  q.limit = 2;
  std::optional<int64_t> cursor;
  EXPECT_THAT(List(q, &cursor), ElementsAre("run_08", "run_06"));
  q.before_seq = cursor;
  EXPECT_THAT(List(q), ElementsAre("run_04", "run_02"));

  q = RunQuery{};
  q.workspace_id = kWs;
  q.event_id = "evt_shared";
  EXPECT_THAT(List(q), ElementsAre("run_07", "run_03"));

  // Visibility: a user sees the runs of the triggers it owns.
  q = RunQuery{};
  q.workspace_id = kWs;
  q.owner = "key_odd";
  EXPECT_THAT(List(q), ElementsAre("run_09", "run_07", "run_05", "run_03", "run_01"));
  q.owner = "key_nobody";
  EXPECT_TRUE(List(q).empty());

  q = RunQuery{};
  q.workspace_id = kWs;
  q.since = 300;  // inclusive: run_02
  q.until = 600;  // exclusive: run_05 is out
  EXPECT_THAT(List(q), ElementsAre("run_04", "run_03", "run_02"));

  ASSERT_OK(store_->CancelRun(kWs, "run_04", 5000));
  q = RunQuery{};
  q.workspace_id = kWs;
  q.status = RunStatus::kCancelled;
  EXPECT_THAT(List(q), ElementsAre("run_04"));
  q.status = RunStatus::kQueued;
  q.agent_id = kAgent;
  q.owner = kOwner;
  EXPECT_THAT(List(q), ElementsAre("run_08", "run_06", "run_02", "run_00"));
}

TEST_P(StoreRunListTest, ListsTriggerMatchesNewestFirstWithCursorAndOutcome) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store_->AppendMatches(
        kWs, "evt_shared", {MakeMatch("trg_odd", MatchOutcome::kIgnored, "", 7000 + i)}, {}));
  }
  MatchQuery q;
  q.workspace_id = kWs;
  q.trigger_id = "trg_odd";
  q.limit = 4;
  Result<Page<Match>> p1 = store_->ListTriggerMatches(q);
  ASSERT_OK(p1);
  ASSERT_EQ(p1->items.size(), 4u);
  EXPECT_EQ(p1->items[0].evaluated_at, 7002);
  EXPECT_EQ(p1->items[2].evaluated_at, 7000);
  EXPECT_EQ(p1->items[3].run_id, "run_09");
  ASSERT_TRUE(p1->next_cursor.has_value());
  q.before_seq = p1->next_cursor;
  Result<Page<Match>> p2 = store_->ListTriggerMatches(q);
  ASSERT_OK(p2);
  // run_03 and run_07 were added to evt_shared without match records, so the odd trigger's
  // records are the three ignored ones, then run_09, run_05 and run_01.
  ASSERT_EQ(p2->items.size(), 2u);
  EXPECT_EQ(p2->items[0].run_id, "run_05");
  EXPECT_EQ(p2->items[1].run_id, "run_01");
  EXPECT_FALSE(p2->next_cursor.has_value());

  q.before_seq.reset();
  q.outcome = MatchOutcome::kIgnored;
  Result<Page<Match>> ignored = store_->ListTriggerMatches(q);
  ASSERT_OK(ignored);
  EXPECT_EQ(ignored->items.size(), 3u);
  q.workspace_id = kOtherWs;
  EXPECT_TRUE(store_->ListTriggerMatches(q)->items.empty());
}

// ---- Claims ----

TEST_P(StoreDispatchTest, ClaimLeasesDueRunsOldestFirst) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 3, 1000));  // due 1000, 1001, 1002
  ASSERT_OK(AppendSync(EventWithRuns("evt_late", {MakeRun("run_late", kAgent, 900)})));
  ASSERT_OK(AppendSync(EventWithRuns("evt_future", {MakeRun("run_future", kAgent, 5000)})));

  std::vector<store::Run> first = Claim("disp_1", 2000, 2, kMinute);
  ASSERT_THAT(RunIds(first), ElementsAre("run_late", "run_a0"));  // due order, not insert order
  const store::Run& r = first[0];
  EXPECT_EQ(r.status, RunStatus::kRunning);
  EXPECT_EQ(r.lease_owner, "disp_1");
  EXPECT_EQ(r.lease_expires_at, 2000 + kMinute);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.started_at, std::optional<int64_t>(2000));
  EXPECT_EQ(r.max_attempts, 3);
  store::Run stored = GetRun("run_late");
  EXPECT_EQ(stored.status, RunStatus::kRunning);
  EXPECT_EQ(stored.lease_owner, "disp_1");
  EXPECT_EQ(stored.attempts, 1);

  EXPECT_THAT(RunIds(Claim("disp_2", 2000)), ElementsAre("run_a1", "run_a2"));
  EXPECT_TRUE(Claim("disp_2", 4999).empty());  // run_future is not due yet
  EXPECT_THAT(RunIds(Claim("disp_2", 5000)), ElementsAre("run_future"));
}

TEST_P(StoreDispatchTest, ClaimRejectsBadRequestsAndClaimsNothingAtLimitZero) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  ClaimRequest request;
  request.owner = "";
  request.now = 2000;
  request.lease_micros = kMinute;
  EXPECT_EQ(store_->ClaimRuns(request).error().type(), ErrorType::kInvalidArgument);
  request.owner = "disp_1";
  request.lease_micros = 0;
  EXPECT_EQ(store_->ClaimRuns(request).error().type(), ErrorType::kInvalidArgument);
  request.lease_micros = kMinute;
  request.limit = 0;
  ASSERT_OK(store_->ClaimRuns(request));
  EXPECT_TRUE(store_->ClaimRuns(request)->empty());
  EXPECT_EQ(GetRun("run_a0").status, RunStatus::kQueued);
}

TEST_P(StoreDispatchTest, ClaimEnforcesEachAgentsConcurrency) {
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_one", 1, 3)));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_three", 3, 3)));
  // Interleaved creation times, so oldest-first alone would not respect the limits.
  for (int i = 0; i < 5; ++i) {
    std::string n = std::to_string(i);
    ASSERT_OK(AppendSync(
        EventWithRuns("evt_" + n, {MakeRun("run_two_" + n, kAgent, 1000 + 3 * i),
                                   MakeRun("run_one_" + n, "agt_one", 1001 + 3 * i),
                                   MakeRun("run_three_" + n, "agt_three", 1002 + 3 * i)})));
  }
  std::vector<store::Run> claimed = Claim("disp_1", 2000);
  std::map<std::string, int> per_agent;
  for (const store::Run& r : claimed) ++per_agent[r.agent_id];
  EXPECT_EQ(per_agent[kAgent], 2);
  EXPECT_EQ(per_agent["agt_one"], 1);
  EXPECT_EQ(per_agent["agt_three"], 3);
  EXPECT_EQ(claimed.size(), 6u);
  for (size_t i = 1; i < claimed.size(); ++i) {
    EXPECT_LE(claimed[i - 1].next_attempt_at, claimed[i].next_attempt_at);  // oldest due first
  }
  EXPECT_TRUE(Claim("disp_2", 2000).empty());  // every agent is at its concurrency

  // Finishing one attempt of agt_one frees exactly one of its slots.
  auto one = std::find_if(claimed.begin(), claimed.end(),
                          [](const store::Run& r) { return r.agent_id == "agt_one"; });
  ASSERT_OK(store_->FinishAttempt(Finish(*one, AttemptOutcome::kSucceeded, 2100)));
  EXPECT_THAT(RunIds(Claim("disp_2", 2200)), ElementsAre("run_one_1"));
  EXPECT_TRUE(Claim("disp_2", 2200).empty());
}

// Issue 18, item 6: a workspace with nothing running goes before another's older backlog, and
// one owner holds at most max_per_agent runs of an agent whatever its concurrency.
TEST_P(StoreDispatchTest, ClaimIsFairAcrossWorkspacesAndKeepsTheOwnersSharePerAgent) {
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_busy", 1000, 3)));
  ASSERT_OK(store_->CreateAgent(MakeAgent(kOtherWs, "agt_b", 4, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("busy", "agt_busy", 6, 1000));
  NewEvent other = EventWithRuns("evt_b", {MakeRun("run_b", "agt_b", 1500)});
  other.workspace_id = kOtherWs;
  other.source_id = kOtherSrc;
  ASSERT_OK(AppendSync(other));

  auto claim = [&](const std::string& owner, int limit) {
    ClaimRequest request;
    request.owner = owner;
    request.now = 2000;
    request.lease_micros = kMinute;
    request.limit = limit;
    request.max_per_agent = 2;
    Result<std::vector<store::Run>> runs = store_->ClaimRuns(request);
    EXPECT_OK(runs);
    return runs ? RunIds(*runs) : std::vector<std::string>{};
  };
  // Nothing runs yet: the oldest due. Then the other workspace, which has nothing running,
  // before the rest of the older backlog.
  EXPECT_THAT(claim("disp_1", 1), ElementsAre("run_busy0"));
  EXPECT_THAT(claim("disp_1", 1), ElementsAre("run_b"));
  // disp_1's share of agt_busy is 2: one more, then none.
  EXPECT_THAT(claim("disp_1", 10), ElementsAre("run_busy1"));
  EXPECT_TRUE(claim("disp_1", 10).empty());
  // Another owner (another node's dispatcher) has a share of its own.
  EXPECT_THAT(claim("disp_2", 10), ElementsAre("run_busy2", "run_busy3"));
}

TEST_P(StoreDispatchTest, SaturatedAgentsBacklogDoesNotStarveAnotherAgent) {
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_slow", 1, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("slow", "agt_slow", 40, 1000));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("fast", kAgent, 1, 5000));
  EXPECT_THAT(RunIds(Claim("disp_1", 6000, 1)), ElementsAre("run_slow0"));
  EXPECT_THAT(RunIds(Claim("disp_1", 6000, 1)), ElementsAre("run_fast0"));
  EXPECT_TRUE(Claim("disp_1", 6000, 1).empty());
}

TEST_P(StoreDispatchTest, ExpiredLeaseIsReclaimedAndTheOldHolderIsFencedOff) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  std::vector<store::Run> first = Claim("disp_old", 2000, 1, kMinute);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(Claim("disp_new", 2000 + kMinute - 1).empty());  // lease still valid

  std::vector<store::Run> second = Claim("disp_new", 2000 + kMinute);
  ASSERT_THAT(RunIds(second), ElementsAre("run_a0"));
  EXPECT_EQ(second[0].lease_owner, "disp_new");
  EXPECT_EQ(second[0].attempts, 2);
  EXPECT_EQ(second[0].started_at, std::optional<int64_t>(2000));  // the first claim's
  EXPECT_EQ(second[0].last_error, "lease expired before the attempt finished");
  Result<std::vector<RunMessage>> messages = store_->ListRunMessages("run_a0");
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].attempt, 1);
  EXPECT_EQ((*messages)[0].role, "error");

  // The old holder's late result is dropped; the run is untouched.
  Status late = store_->FinishAttempt(Finish(first[0], AttemptOutcome::kSucceeded, 9000));
  EXPECT_EQ(late.type(), ErrorType::kConflict) << late.ToString();
  store::Run now = GetRun("run_a0");
  EXPECT_EQ(now.status, RunStatus::kRunning);
  EXPECT_EQ(now.lease_owner, "disp_new");
  EXPECT_EQ(now.attempts, 2);
  EXPECT_EQ(store_->ListRunMessages("run_a0")->size(), 1u);
  EXPECT_OK(store_->FinishAttempt(Finish(second[0], AttemptOutcome::kSucceeded, 9000)));
}

TEST_P(StoreDispatchTest, ExpiredLeaseOnTheLastAttemptMakesTheRunDead) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 2, 1)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  ASSERT_EQ(Claim("disp_1", 2000, 1, kMinute).size(), 1u);
  EXPECT_TRUE(Claim("disp_2", 2000 + kMinute).empty());
  store::Run dead = GetRun("run_a0");
  EXPECT_EQ(dead.status, RunStatus::kDead);
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(dead.finished_at, std::optional<int64_t>(2000 + kMinute));
  EXPECT_EQ(dead.last_error, "lease expired during the last attempt");
  EXPECT_EQ(dead.lease_owner, "");
  Result<std::vector<RunMessage>> messages = store_->ListRunMessages("run_a0");
  ASSERT_OK(messages);
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].content, "lease expired during the last attempt");
  EXPECT_FALSE(store_->NextDueTime()->has_value());
}

TEST_P(StoreDispatchTest, ExpiredLeaseNoLongerHoldsASlot) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 1, 5)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 2, 1000));
  ASSERT_THAT(RunIds(Claim("disp_1", 2000, 5, kMinute)), ElementsAre("run_a0"));
  // After the lease expired the agent has a free slot: the oldest due candidate — run_a1,
  // due since 1001, before run_a0's expiry — takes it, and run_a0 waits for the next one.
  EXPECT_THAT(RunIds(Claim("disp_2", 2000 + kMinute, 5)), ElementsAre("run_a1"));
  EXPECT_TRUE(Claim("disp_2", 2000 + kMinute, 5).empty());
}

// ---- Finishing attempts ----

TEST_P(StoreDispatchTest, FinishAttemptIsFencedByOwnerAndAttempt) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  std::vector<store::Run> claimed = Claim("disp_1", 2000, 1);
  ASSERT_EQ(claimed.size(), 1u);
  store::Run before = GetRun("run_a0");

  AttemptResult wrong_owner = Finish(claimed[0], AttemptOutcome::kSucceeded, 3000);
  wrong_owner.lease_owner = "disp_2";
  EXPECT_EQ(store_->FinishAttempt(wrong_owner).type(), ErrorType::kConflict);
  AttemptResult wrong_attempt = Finish(claimed[0], AttemptOutcome::kSucceeded, 3000);
  wrong_attempt.attempt = 2;
  EXPECT_EQ(store_->FinishAttempt(wrong_attempt).type(), ErrorType::kConflict);
  AttemptResult unknown = Finish(claimed[0], AttemptOutcome::kSucceeded, 3000);
  unknown.run_id = "run_nope";
  EXPECT_EQ(store_->FinishAttempt(unknown).type(), ErrorType::kNotFound);

  store::Run after = GetRun("run_a0");
  EXPECT_EQ(after.status, before.status);
  EXPECT_EQ(after.lease_owner, before.lease_owner);
  EXPECT_EQ(after.lease_expires_at, before.lease_expires_at);
  EXPECT_EQ(after.attempts, before.attempts);
  EXPECT_TRUE(store_->ListRunMessages("run_a0")->empty());

  ASSERT_OK(store_->FinishAttempt(Finish(claimed[0], AttemptOutcome::kSucceeded, 3000)));
  // Reporting twice: the run is no longer running.
  EXPECT_EQ(store_->FinishAttempt(Finish(claimed[0], AttemptOutcome::kSucceeded, 3001)).type(),
            ErrorType::kConflict);
  EXPECT_EQ(store_->ListRunMessages("run_a0")->size(), 1u);
}

// Many results in one write: each answered by its own Status, a conflict or an unknown run
// confined to itself, the others recorded.
TEST_P(StoreDispatchTest, FinishAttemptsRecordsManyResultsEachWithItsOwnStatus) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 3, 1000));
  std::vector<store::Run> claimed = Claim("disp_1", 2000, 3);
  ASSERT_EQ(claimed.size(), 3u);
  AttemptResult stale = Finish(claimed[1], AttemptOutcome::kSucceeded, 3000);
  stale.lease_owner = "disp_2";
  AttemptResult unknown = Finish(claimed[0], AttemptOutcome::kSucceeded, 3000);
  unknown.run_id = "run_nope";

  Result<std::vector<Status>> finished = store_->FinishAttempts(
      {Finish(claimed[0], AttemptOutcome::kSucceeded, 3000, "first"), stale, unknown,
       Finish(claimed[2], AttemptOutcome::kRetry, 3000, "busy")});
  ASSERT_OK(finished);
  ASSERT_EQ(finished->size(), 4u);
  EXPECT_OK((*finished)[0]);
  EXPECT_EQ((*finished)[1].type(), ErrorType::kConflict);
  EXPECT_EQ((*finished)[2].type(), ErrorType::kNotFound);
  EXPECT_OK((*finished)[3]);

  EXPECT_EQ(GetRun(claimed[0].id).status, RunStatus::kSucceeded);
  EXPECT_EQ(GetRun(claimed[1].id).status, RunStatus::kRunning);  // untouched by the stale result
  EXPECT_TRUE(store_->ListRunMessages(claimed[1].id)->empty());
  EXPECT_EQ(GetRun(claimed[2].id).status, RunStatus::kRetrying);
  ASSERT_EQ(store_->ListRunMessages(claimed[0].id)->size(), 1u);
  EXPECT_EQ(store_->ListRunMessages(claimed[0].id)->front().content, "first");
  EXPECT_TRUE(store_->FinishAttempts({}).has_value());  // nothing to record is fine
}

// The standing claim (SQLite): the commit that stores an event's runs also leases them for the
// registered dispatcher and hands them over after that commit; the listener is not told when
// the claim took every due run, and is when it was full. A commit that ends attempts claims the
// runs the freed slots admit.
TEST_P(StoreDispatchTest, StandingClaimLeasesRunsInTheCommitThatStoresThem) {
  std::mutex mu;
  std::vector<RunQueue::LeasedRun> handed;
  int want_calls = 0, claimed_calls = 0;
  int limit = 2;
  std::atomic<int> listener{0};
  store_->SetRunsQueuedListener([&] { listener.fetch_add(1); });
  const bool supported = store_->SetStandingClaim(
      {[&] {
         std::lock_guard<std::mutex> lock(mu);
         ++want_calls;
         ClaimRequest request;
         request.owner = "disp_s";
         request.now = 5000;
         request.lease_micros = kMinute;
         request.limit = limit;
         return request;
       },
       [&](std::vector<RunQueue::LeasedRun> runs) {
         std::lock_guard<std::mutex> lock(mu);
         ++claimed_calls;
         for (auto& run : runs) handed.push_back(std::move(run));
       }});
  if (!supported) {
    // PostgreSQL: dispatchers claim for themselves; the listener is told as before.
    ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)})));
    EXPECT_EQ(listener.load(), 1);
    EXPECT_EQ(GetRun("run_1").status, RunStatus::kQueued);
    return;
  }
  ASSERT_OK(AppendSync(MakeEvent("evt_plain")));
  EXPECT_EQ(want_calls, 0) << "no runs made due, no claim";

  // One run: leased by its own commit, handed over before the append's answer; not full, so
  // no wake-up.
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)})));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(want_calls, 1);
    EXPECT_EQ(claimed_calls, 1);
    ASSERT_EQ(handed.size(), 1u);
    EXPECT_EQ(handed[0].run.id, "run_1");
    EXPECT_EQ(handed[0].run.status, RunStatus::kRunning);
    EXPECT_EQ(handed[0].run.lease_owner, "disp_s");
    EXPECT_EQ(handed[0].run.attempts, 1);
    // With the event the same commit stored, as GetEvent reads it (but for seq): the attempt
    // need not read it back.
    ASSERT_NE(handed[0].event, nullptr);
    Result<Event> stored = store_->GetEvent(kWs, "evt_1");
    ASSERT_OK(stored);
    EXPECT_EQ(handed[0].event->id, stored->id);
    EXPECT_EQ(handed[0].event->source_id, stored->source_id);
    EXPECT_EQ(handed[0].event->received_at, stored->received_at);
    EXPECT_EQ(handed[0].event->event_type, stored->event_type);
    EXPECT_EQ(handed[0].event->delivery_id, stored->delivery_id);
    EXPECT_EQ(handed[0].event->content_type, stored->content_type);
    EXPECT_EQ(handed[0].event->headers, stored->headers);
    EXPECT_EQ(handed[0].event->body, stored->body);
    EXPECT_EQ(handed[0].event->payload_json, stored->payload_json);
    EXPECT_EQ(handed[0].event->verification, stored->verification);
    EXPECT_TRUE(handed[0].event->matches.empty());
    EXPECT_TRUE(handed[0].event->runs.empty());
  }
  EXPECT_EQ(GetRun("run_1").status, RunStatus::kRunning);
  EXPECT_EQ(listener.load(), 0);

  // Three more runs (the agent's concurrency is 2 and one is running): one leased, the claim
  // asked for two and took one — every run its policy allows — so still no wake-up.
  ASSERT_OK(AppendSync(EventWithRuns("evt_2", {MakeRun("run_2", kAgent, 1001),
                                               MakeRun("run_3", kAgent, 1002),
                                               MakeRun("run_4", kAgent, 1003)})));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(handed.size(), 2u);
    EXPECT_EQ(handed[1].run.id, "run_2");
    ASSERT_NE(handed[1].event, nullptr);
    EXPECT_EQ(handed[1].event->id, "evt_2");
  }
  EXPECT_EQ(listener.load(), 0);

  // Ending run_1's attempt frees a slot: the same commit leases run_3.
  ASSERT_OK(store_->FinishAttempt(Finish(GetRun("run_1"), AttemptOutcome::kSucceeded, 6000)));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(handed.size(), 3u);
    EXPECT_EQ(handed[2].run.id, "run_3");
    EXPECT_EQ(handed[2].event, nullptr) << "stored by an earlier commit: read when attempted";
  }
  EXPECT_EQ(GetRun("run_3").status, RunStatus::kRunning);

  // A claim that is full (asked for one, took one) wakes the listener: more may be due.
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 3)));
  {
    std::lock_guard<std::mutex> lock(mu);
    limit = 1;
  }
  ASSERT_OK(AppendSync(EventWithRuns("evt_3", {MakeRun("run_5", kAgent, 1004)})));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(handed.size(), 4u);
    EXPECT_EQ(handed[3].run.id, "run_4");  // the oldest due run first
    EXPECT_EQ(handed[3].event, nullptr);
  }
  EXPECT_EQ(listener.load(), 1);
  EXPECT_EQ(GetRun("run_5").status, RunStatus::kQueued);

  // Asking for nothing: no claim, and `claimed` is not called; removing it stops the claims.
  {
    std::lock_guard<std::mutex> lock(mu);
    limit = 0;
  }
  ASSERT_OK(AppendSync(EventWithRuns("evt_4", {MakeRun("run_6", kAgent, 1005)})));
  EXPECT_TRUE(store_->SetStandingClaim({}));
  ASSERT_OK(AppendSync(EventWithRuns("evt_5", {MakeRun("run_7", kAgent, 1006)})));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(want_calls, 5);
  EXPECT_EQ(claimed_calls, 4);
  EXPECT_EQ(GetRun("run_7").status, RunStatus::kQueued);
  store_->SetRunsQueuedListener(nullptr);
}

// A standing claim that asks for nothing sensible (no owner) claims nothing: the append still
// commits, its run stays queued and the listener is told.
TEST_P(StoreDispatchTest, AMalformedStandingClaimDoesNotFailTheBatch) {
  std::atomic<int> listener{0}, claimed{0};
  store_->SetRunsQueuedListener([&] { listener.fetch_add(1); });
  if (!store_->SetStandingClaim({[] {
                                   ClaimRequest request;  // no owner, no lease
                                   request.limit = 5;
                                   return request;
                                 },
                                 [&](std::vector<RunQueue::LeasedRun>) { claimed.fetch_add(1); }})) {
    GTEST_SKIP() << "this backend claims only through ClaimRuns";
  }
  ASSERT_OK(AppendSync(EventWithRuns("evt_1", {MakeRun("run_1", kAgent, 1000)})));
  EXPECT_EQ(GetRun("run_1").status, RunStatus::kQueued);
  EXPECT_EQ(claimed.load(), 0);
  EXPECT_EQ(listener.load(), 1);
  store_->SetStandingClaim({});
  store_->SetRunsQueuedListener(nullptr);
}

TEST_P(StoreDispatchTest, EachAttemptOutcomeSetsItsState) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 4, 1000));
  std::vector<store::Run> c = Claim("disp_1", 2000, 4);
  ASSERT_THAT(RunIds(c), ElementsAre("run_a0", "run_a1", "run_a2", "run_a3"));

  ASSERT_OK(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kSucceeded, 3000, "done!")));
  store::Run ok = GetRun("run_a0");
  EXPECT_EQ(ok.status, RunStatus::kSucceeded);
  EXPECT_EQ(ok.finished_at, std::optional<int64_t>(3000));
  EXPECT_EQ(ok.last_error, "");
  EXPECT_EQ(ok.lease_owner, "");
  EXPECT_EQ(ok.lease_expires_at, 0);
  Result<std::vector<RunMessage>> m = store_->ListRunMessages("run_a0");
  ASSERT_OK(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].run_id, "run_a0");
  EXPECT_EQ((*m)[0].attempt, 1);
  EXPECT_EQ((*m)[0].role, "agent");
  EXPECT_EQ((*m)[0].content, "done!");
  EXPECT_EQ((*m)[0].at, 3000);

  AttemptResult retry = Finish(c[1], AttemptOutcome::kRetry, 3000, "503 from target");
  retry.next_attempt_at = 8000;
  ASSERT_OK(store_->FinishAttempt(retry));
  store::Run retrying = GetRun("run_a1");
  EXPECT_EQ(retrying.status, RunStatus::kRetrying);
  EXPECT_EQ(retrying.next_attempt_at, 8000);
  EXPECT_FALSE(retrying.finished_at.has_value());
  EXPECT_EQ(retrying.last_error, "503 from target");
  EXPECT_EQ(store_->ListRunMessages("run_a1")->at(0).role, "error");

  ASSERT_OK(store_->FinishAttempt(Finish(c[2], AttemptOutcome::kFailed, 3000, "400")));
  EXPECT_EQ(GetRun("run_a2").status, RunStatus::kFailed);
  EXPECT_EQ(GetRun("run_a2").finished_at, std::optional<int64_t>(3000));
  ASSERT_OK(store_->FinishAttempt(Finish(c[3], AttemptOutcome::kDead, 3000, "timeout")));
  EXPECT_EQ(GetRun("run_a3").status, RunStatus::kDead);

  // The retrying run is due at its next_attempt_at, not before.
  EXPECT_TRUE(Claim("disp_1", 7999).empty());
  std::vector<store::Run> again = Claim("disp_1", 8000);
  ASSERT_THAT(RunIds(again), ElementsAre("run_a1"));
  EXPECT_EQ(again[0].attempts, 2);
  EXPECT_EQ(again[0].last_error, "503 from target");  // kept until the attempt ends
}

TEST_P(StoreDispatchTest, RetryOnTheLastAttemptMakesTheRunDead) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 2, 1)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  std::vector<store::Run> c = Claim("disp_1", 2000, 1);
  ASSERT_EQ(c.size(), 1u);
  ASSERT_OK(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kRetry, 3000, "503")));
  store::Run dead = GetRun("run_a0");
  EXPECT_EQ(dead.status, RunStatus::kDead);
  EXPECT_EQ(dead.finished_at, std::optional<int64_t>(3000));
  EXPECT_EQ(dead.last_error, "503");
}

// ---- Retry and cancel ----

TEST_P(StoreDispatchTest, RetryQueuesAFailedOrDeadRunWithAFreshBudget) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 2, 1000));
  std::vector<store::Run> c = Claim("disp_1", 2000, 2);
  ASSERT_EQ(c.size(), 2u);
  ASSERT_OK(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kFailed, 3000, "400")));
  ASSERT_OK(store_->FinishAttempt(Finish(c[1], AttemptOutcome::kDead, 3000, "gone")));
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 2, 5)));

  for (const char* id : {"run_a0", "run_a1"}) {
    ASSERT_OK(store_->RetryRun(kWs, id, 4000));
    store::Run run = GetRun(id);
    EXPECT_EQ(run.status, RunStatus::kQueued) << id;
    EXPECT_EQ(run.next_attempt_at, 4000) << id;
    EXPECT_EQ(run.max_attempts, 1 + 5) << id;  // attempts so far + the agent's budget
    EXPECT_FALSE(run.finished_at.has_value()) << id;
    EXPECT_EQ(run.attempts, 1) << id;
  }
  std::vector<store::Run> again = Claim("disp_1", 4000);
  EXPECT_THAT(RunIds(again), ElementsAre("run_a0", "run_a1"));
  EXPECT_EQ(again[0].attempts, 2);
}

TEST_P(StoreDispatchTest, RetryAndCancelAreConflictsInOtherStatesAndNotFoundElsewhere) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 3)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 4, 1000));
  // run_a0 retrying, run_a1 running, run_a2 succeeded, run_a3 cancelled.
  std::vector<store::Run> c = Claim("disp_1", 2000, 2);  // run_a0, run_a1
  ASSERT_EQ(c.size(), 2u);
  ASSERT_OK(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kRetry, 2100)));  // a0 retrying
  std::vector<store::Run> c2 = Claim("disp_1", 2000, 1);
  ASSERT_THAT(RunIds(c2), ElementsAre("run_a2"));
  ASSERT_OK(store_->FinishAttempt(Finish(c2[0], AttemptOutcome::kSucceeded, 2200)));
  ASSERT_OK(store_->CancelRun(kWs, "run_a3", 2300));

  for (const char* id : {"run_a0", "run_a1", "run_a2", "run_a3"}) {
    EXPECT_EQ(store_->RetryRun(kWs, id, 5000).type(), ErrorType::kConflict) << id;
  }
  for (const char* id : {"run_a1", "run_a2", "run_a3"}) {
    EXPECT_EQ(store_->CancelRun(kWs, id, 5000).type(), ErrorType::kConflict) << id;
  }
  EXPECT_EQ(store_->RetryRun(kOtherWs, "run_a0", 5000).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->CancelRun(kOtherWs, "run_a0", 5000).type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->CancelRun(kWs, "run_nope", 5000).type(), ErrorType::kNotFound);
  EXPECT_EQ(GetRun("run_a0").status, RunStatus::kRetrying);

  // A retrying run can be cancelled; a cancelled run is never claimed.
  ASSERT_OK(store_->CancelRun(kWs, "run_a0", 5000));
  store::Run cancelled = GetRun("run_a0");
  EXPECT_EQ(cancelled.status, RunStatus::kCancelled);
  EXPECT_EQ(cancelled.finished_at, std::optional<int64_t>(5000));
  EXPECT_TRUE(Claim("disp_1", 5000).empty());  // (run_a1 still holds its lease)
  EXPECT_EQ(GetRun("run_a0").status, RunStatus::kCancelled);
  EXPECT_EQ(GetRun("run_a3").status, RunStatus::kCancelled);
}

TEST_P(StoreDispatchTest, CancelledRunsResultIsDroppedByTheFence) {
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 1, 1000));
  std::vector<store::Run> c = Claim("disp_1", 2000, 1);
  ASSERT_OK(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kRetry, 2100)));
  ASSERT_OK(store_->CancelRun(kWs, "run_a0", 2200));
  EXPECT_EQ(store_->FinishAttempt(Finish(c[0], AttemptOutcome::kSucceeded, 2300)).type(),
            ErrorType::kConflict);
  EXPECT_EQ(GetRun("run_a0").status, RunStatus::kCancelled);
}

// ---- NextDueTime and ReleaseLeases ----

TEST_P(StoreDispatchTest, NextDueTimeFollowsWaitingRunsLeasesAndConcurrency) {
  Result<std::optional<int64_t>> next = store_->NextDueTime();
  ASSERT_OK(next);
  EXPECT_FALSE(next->has_value());

  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 3, 1000));  // concurrency 2
  EXPECT_EQ(*store_->NextDueTime(), std::optional<int64_t>(1000));
  ASSERT_EQ(Claim("disp_1", 2000, 1, kMinute).size(), 1u);  // run_a0, lease until 2000+kMinute
  EXPECT_EQ(*store_->NextDueTime(), std::optional<int64_t>(1001));  // a free slot: run_a1 waits
  ASSERT_EQ(Claim("disp_1", 3000, 1, kMinute).size(), 1u);  // run_a1, lease until 3000+kMinute
  // At its concurrency: run_a2 waits for a slot, i.e. the first lease's expiry (or a finish).
  EXPECT_EQ(*store_->NextDueTime(), std::optional<int64_t>(2000 + kMinute));

  // Another agent's future retry counts on its own.
  ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_b", 1, 3)));
  ASSERT_OK(AppendSync(EventWithRuns("evt_b", {MakeRun("run_b", "agt_b", 1500)})));
  EXPECT_EQ(*store_->NextDueTime(), std::optional<int64_t>(1500));
  std::vector<store::Run> b = Claim("disp_1", 4000, 5);
  ASSERT_THAT(RunIds(b), ElementsAre("run_b"));
  AttemptResult retry = Finish(b[0], AttemptOutcome::kRetry, 4100);
  retry.next_attempt_at = 50'000;
  ASSERT_OK(store_->FinishAttempt(retry));
  EXPECT_EQ(*store_->NextDueTime(), std::optional<int64_t>(50'000));
}

TEST_P(StoreDispatchTest, ReleaseLeasesRequeuesOtherOwnersRuns) {
  ASSERT_OK(store_->UpdateAgent(MakeAgent(kWs, kAgent, 10, 2)));
  ASSERT_NO_FATAL_FAILURE(QueueRuns("a", kAgent, 3, 1000));
  ASSERT_EQ(Claim("disp_old", 2000, 1).size(), 1u);  // run_a0, attempt 1 of 2
  ASSERT_EQ(Claim("disp_me", 2000, 1).size(), 1u);   // run_a1
  // run_a2: its first lease expired and it was reclaimed by disp_old: attempt 2 of 2.
  ASSERT_EQ(Claim("disp_old", 2000, 1, 10).size(), 1u);
  ASSERT_EQ(Claim("disp_old", 2010, 1).size(), 1u);
  ASSERT_EQ(GetRun("run_a2").attempts, 2);

  std::atomic<int> calls{0};
  store_->SetRunsQueuedListener([&calls] { calls.fetch_add(1); });
  ASSERT_OK(store_->ReleaseLeases("disp_me", 3000));
  EXPECT_EQ(calls.load(), 1);

  store::Run released = GetRun("run_a0");
  EXPECT_EQ(released.status, RunStatus::kRetrying);
  EXPECT_EQ(released.next_attempt_at, 3000);
  EXPECT_EQ(released.lease_owner, "");
  EXPECT_EQ(released.attempts, 1);
  EXPECT_THAT(released.last_error, HasSubstr("interrupted"));
  store::Run last = GetRun("run_a2");
  EXPECT_EQ(last.status, RunStatus::kDead);
  EXPECT_EQ(last.finished_at, std::optional<int64_t>(3000));
  EXPECT_EQ(GetRun("run_a1").status, RunStatus::kRunning);
  EXPECT_EQ(GetRun("run_a1").lease_owner, "disp_me");
  Result<std::vector<RunMessage>> m = store_->ListRunMessages("run_a0");
  ASSERT_OK(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].attempt, 1);
  EXPECT_EQ((*m)[0].role, "error");

  EXPECT_THAT(RunIds(Claim("disp_me", 3000)), ElementsAre("run_a0"));
  ASSERT_OK(store_->ReleaseLeases("disp_me", 4000));  // nothing of others' left
  EXPECT_EQ(calls.load(), 1);
}

// ---- Many dispatcher threads at once ----

TEST_P(StoreDispatchTest, ConcurrentClaimsAndFinishesClaimEveryRunExactlyOnce) {
  constexpr int kAgents = 4;
  constexpr int kConcurrency = 3;
  constexpr int kRunsPerAgent = 60;
  constexpr int kWorkers = 16;
  constexpr int64_t kNow = 1'000'000;
  for (int a = 0; a < kAgents; ++a) {
    ASSERT_OK(store_->CreateAgent(MakeAgent(kWs, "agt_" + std::to_string(a), kConcurrency, 3)));
  }
  {
    std::vector<std::future<Result<AppendOutcome>>> futures;
    for (int i = 0; i < kRunsPerAgent; ++i) {
      std::vector<NewRun> runs;
      for (int a = 0; a < kAgents; ++a) {
        runs.push_back(MakeRun("run_" + std::to_string(a) + "_" + std::to_string(i),
                               "agt_" + std::to_string(a), 1000 + i));
      }
      futures.push_back(AppendAsync(EventWithRuns("evt_" + std::to_string(i), runs)));
    }
    for (auto& f : futures) ASSERT_OK(f.get());
  }

  StoreStats before = store_->Stats();
  std::mutex mu;
  std::map<std::string, int> claims;                 // guarded by mu
  std::map<std::string, int> in_flight, max_flight;  // per agent, guarded by mu
  std::atomic<int> finished{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      const std::string owner = "disp_" + std::to_string(w);
      // Leases of an hour at a fixed `now`: none expires, so no run may be claimed twice.
      while (finished.load() < kAgents * kRunsPerAgent && errors.load() == 0) {
        ClaimRequest request{owner, kNow, 3'600'000'000, 2};
        Result<std::vector<store::Run>> runs = store_->ClaimRuns(request);
        if (!runs) {
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
          if (!store_->FinishAttempt(result).ok()) errors.fetch_add(1);
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
  RunQuery q;
  q.workspace_id = kWs;
  q.status = RunStatus::kSucceeded;
  q.limit = 500;
  EXPECT_EQ(store_->ListRuns(q)->items.size(), static_cast<size_t>(kAgents * kRunsPerAgent));

  StoreStats after = store_->Stats();
  const uint64_t writes = after.writes_committed - before.writes_committed;
  const uint64_t batches = after.batches - before.batches;
  EXPECT_GE(writes, static_cast<uint64_t>(kAgents * kRunsPerAgent));
  // SQLite: the dispatcher's small writes shared transactions (group commit). PostgreSQL runs
  // each write as a transaction of its own (it has concurrent writers), so this is SQLite's.
  if (backend_->sqlite()) {
    EXPECT_LT(batches, writes) << "batches=" << batches << " writes=" << writes;
  }
  RecordProperty("mean_batch", std::to_string(static_cast<double>(writes) / batches));
}

// ---- Durability: the outbox and a failed COMMIT ----

class SqliteDispatchFaultTest : public SqliteDispatchTest {
 protected:
  void SetUp() override {
    options_.vfs = testing::FaultInjectionVfs::Instance().name();
    SqliteDispatchTest::SetUp();
  }
  void TearDown() override { testing::FaultInjectionVfs::Instance().set_fail_sync(false); }
};

TEST_F(SqliteDispatchFaultTest, FailedCommitLeavesNoEventMatchOrRun) {
  auto& vfs = testing::FaultInjectionVfs::Instance();
  std::vector<std::future<Result<AppendOutcome>>> futures;
  std::future<Status> replay;
  ASSERT_OK(AppendSync(MakeEvent("evt_before")));
  {
    WriterGate gate(*store_);
    for (int i = 0; i < 5; ++i) {
      std::string n = std::to_string(i);
      futures.push_back(AppendAsync(
          EventWithRuns("evt_lost" + n, {MakeRun("run_lost" + n, kAgent, 1000)}, "dlv" + n)));
    }
    replay = std::async(std::launch::async, [this] {
      return store_->AppendMatches(kWs, "evt_before", {}, {MakeRun("run_replay", kAgent, 1000)});
    });
    while (store_->Stats().queue_depth < 6) std::this_thread::yield();
    vfs.set_fail_sync(true);
  }
  for (auto& f : futures) {
    Result<AppendOutcome> r = f.get();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().type(), ErrorType::kInternal);
  }
  Status replayed = replay.get();
  EXPECT_EQ(replayed.type(), ErrorType::kInternal);
  EXPECT_THAT(replayed.message(), HasSubstr("commit write batch"));
  vfs.set_fail_sync(false);

  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(store_->GetEvent(kWs, "evt_lost0").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(CountRows("SELECT count(*) FROM events WHERE id LIKE 'evt_lost%'"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM matches"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM runs"), 0);
  EXPECT_FALSE(store_->NextDueTime()->has_value());
}

// ---- Migration from schema version 1 ----

TEST(SqliteMigrationTest, VersionOneDatabaseMigratesToTheLatestKeepingItsData) {
  TempDir dir;
  const std::string path = (dir.path() / "v1.db").string();
  {
    Result<std::unique_ptr<sqlite::Connection>> db = sqlite::Connection::Open(path, "", true);
    ASSERT_OK(db);
    ASSERT_OK(sqlite::ApplyMigrations(**db, sqlite::BuiltinMigrations().first(1)));
    ASSERT_OK((*db)->Exec(
        "INSERT INTO workspaces VALUES ('ws_one', 'one', 1);"
        "INSERT INTO sources (id, workspace_id, name, kind, url_secret, enabled, auth_json, "
        "  signing_secret, token_hash, allowed_ips, allowed_origins, delivery_id_header, "
        "  max_body_bytes, created_by, created_at, updated_at) VALUES ('src_one', 'ws_one', "
        "  'old', 'custom', 'u', 1, '{}', '', '', '[]', '[]', '', 0, 'bootstrap', 2, 2);"
        "INSERT INTO events (id, workspace_id, source_id, received_at, content_type, event_type, "
        "  delivery_id, headers, body, payload_json, remote_addr, verification) VALUES "
        "  ('evt_old', 'ws_one', 'src_one', 3, 'application/json', 'push', 'd1', '[]', "
        "  X'7B7D', '', '', 'none');",
        "seed v1"));
    ASSERT_EQ(*(*db)->QueryInt64("PRAGMA user_version", "version"), 1);
  }
  SqliteOptions options;
  options.path = path;
  Result<std::unique_ptr<Store>> opened = OpenSqliteStore(options);
  ASSERT_OK(opened);
  Store& store = **opened;
  EXPECT_OK(store.GetWorkspace("ws_one"));
  EXPECT_EQ(store.GetSource("ws_one", "src_one")->name, "old");
  Result<Event> old = store.GetEvent("ws_one", "evt_old");
  ASSERT_OK(old);
  EXPECT_EQ(old->body, "{}");
  // The new tables work, with the old rows.
  ASSERT_OK(store.CreateAgent(MakeAgent("ws_one", "agt_new", 1, 1)));
  Trigger t = MakeTrigger("ws_one", "trg_new", "src_one", "agt_new");
  ASSERT_OK(store.CreateTrigger(t));
  NewRun run = MakeRun("run_new", "agt_new", 10, "trg_new");
  run.workspace_id = "ws_one";
  ASSERT_OK(store.AppendMatches("ws_one", "evt_old", {}, {run}));
  EXPECT_EQ(store.GetRun("ws_one", "run_new")->max_attempts, 1);
  store.Close();

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), sqlite::BuiltinMigrations().back().version);
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

}  // namespace
}  // namespace triggerd::store
