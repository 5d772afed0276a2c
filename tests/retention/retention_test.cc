// Retention over a real SQLite store: old events go with their match records, runs and run
// messages; events whose runs are still live stay whole; bodies go sooner when configured and
// their metadata stays; work is done in bounded steps; the live-run gauges count only live runs.
// Times come from a manual clock (no sleeps).
#include "retention/retention.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::retention {
namespace {

using triggerd::testing::TempDir;
constexpr int64_t kDay = 24LL * 3600 * 1'000'000;
constexpr char kWs[] = "ws_r";
constexpr char kSrc[] = "src_r";
constexpr char kAgent[] = "agt_r";
constexpr char kTrigger[] = "trg_r";

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = (dir_.path() / "triggerd.db").string();
    options.clock = &clock_;
    auto opened = store::OpenSqliteStore(options);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_->CreateWorkspace({kWs, "r", 1}).ok());
    store::Source source;
    source.id = kSrc;
    source.workspace_id = kWs;
    source.name = "s";
    source.url_secret = "u";
    ASSERT_TRUE(store_->CreateSource(source).ok());
    store::Agent agent;
    agent.id = kAgent;
    agent.workspace_id = kWs;
    agent.name = "a";
    agent.target_json = R"({"type":"http","url":"https://agent.example/"})";
    agent.concurrency = 100;
    ASSERT_TRUE(store_->CreateAgent(agent).ok());
    store::Trigger trigger;
    trigger.id = kTrigger;
    trigger.workspace_id = kWs;
    trigger.source_id = kSrc;
    trigger.agent_id = kAgent;
    trigger.name = "t";
    ASSERT_TRUE(store_->CreateTrigger(trigger).ok());
  }

  // An event received `days_ago`, with one matched run when `with_run`.
  void Append(const std::string& id, int64_t days_ago, bool with_run) {
    store::NewEvent e;
    e.id = "evt_" + id;
    e.workspace_id = kWs;
    e.source_id = kSrc;
    e.received_at = clock_.NowMicros() - days_ago * kDay;
    e.content_type = "application/json";
    e.event_type = "push";
    e.delivery_id = "d-" + id;
    e.body = R"({"n":")" + id + R"("})";
    e.verification = "none";
    if (with_run) {
      store::Match m;
      m.trigger_id = kTrigger;
      m.outcome = store::MatchOutcome::kMatched;
      m.run_id = "run_" + id;
      m.evaluated_at = e.received_at;
      e.matches.push_back(m);
      store::NewRun r;
      r.id = "run_" + id;
      r.workspace_id = kWs;
      r.trigger_id = kTrigger;
      r.agent_id = kAgent;
      r.owner = "key_o";
      r.created_at = e.received_at;
      e.runs.push_back(r);
    }
    std::promise<Result<store::AppendOutcome>> done;
    store_->AppendEvent(std::move(e), [&](Result<store::AppendOutcome> r) { done.set_value(r); });
    auto appended = done.get_future().get();
    ASSERT_TRUE(appended.has_value()) << appended.error().ToString();
  }

  // Claims every due run and finishes it as succeeded, with a message.
  void FinishAllRuns() {
    store::ClaimRequest claim;
    claim.owner = "dsp_test";
    claim.now = clock_.NowMicros();
    claim.lease_micros = kDay;
    claim.limit = 1000;
    auto runs = store_->ClaimRuns(claim);
    ASSERT_TRUE(runs.has_value());
    for (const store::Run& run : *runs) {
      store::AttemptResult r;
      r.run_id = run.id;
      r.lease_owner = run.lease_owner;
      r.attempt = run.attempts;
      r.outcome = store::AttemptOutcome::kSucceeded;
      r.message = "done";
      r.finished_at = claim.now;
      ASSERT_TRUE(store_->FinishAttempt(r).ok());
    }
  }

  bool EventExists(const std::string& id) { return store_->GetEvent(kWs, "evt_" + id).has_value(); }
  bool RunExists(const std::string& id) { return store_->GetRun(kWs, "run_" + id).has_value(); }

  TempDir dir_;
  ManualClock clock_{1'000 * kDay};
  std::unique_ptr<store::Store> store_;
};

TEST_F(RetentionTest, OldEventsGoWithTheirRunsAndLiveOnesStay) {
  Append("old_done", 40, true);
  Append("old_plain", 35, false);
  Append("new", 2, true);
  FinishAllRuns();
  Append("old_live", 31, true);  // queued: dispatch still needs its event

  Job job(store_.get(), &clock_, {.events_max_age = std::chrono::hours(24 * 30)});
  ASSERT_TRUE(job.enabled());
  Result<Totals> pass = job.RunOnce();
  ASSERT_TRUE(pass.has_value()) << pass.error().ToString();
  EXPECT_EQ(pass->events_deleted, 2);
  EXPECT_EQ(pass->runs_deleted, 1);
  EXPECT_FALSE(EventExists("old_done"));
  EXPECT_FALSE(RunExists("old_done"));
  EXPECT_FALSE(EventExists("old_plain"));
  EXPECT_TRUE(EventExists("old_live"));
  EXPECT_TRUE(RunExists("old_live"));
  EXPECT_TRUE(EventExists("new"));
  EXPECT_TRUE(RunExists("new"));
  auto matches = store_->ListEventMatches(kWs, "evt_old_done");
  EXPECT_TRUE(!matches.has_value() || matches->empty());

  // Once its run has finished, the kept event goes at the next pass; a second pass over nothing
  // old is a no-op.
  FinishAllRuns();
  pass = job.RunOnce();
  ASSERT_TRUE(pass.has_value());
  EXPECT_EQ(pass->events_deleted, 1);
  EXPECT_FALSE(EventExists("old_live"));
  EXPECT_EQ(job.RunOnce()->events_deleted, 0);
  EXPECT_EQ(job.totals().events_deleted, 3);

  // A delivery id whose event was deleted is new again (the dedup window is the retention).
  Append("old_done", 0, false);
  EXPECT_TRUE(EventExists("old_done"));
}

TEST_F(RetentionTest, BodiesGoSoonerAndTheMetadataStays) {
  Append("a", 10, true);
  Append("b", 9, false);
  Append("c", 1, false);
  FinishAllRuns();
  Job job(store_.get(), &clock_,
          {.events_max_age = std::chrono::hours(24 * 30),
           .bodies_max_age = std::chrono::hours(24 * 7)});
  Result<Totals> pass = job.RunOnce();
  ASSERT_TRUE(pass.has_value()) << pass.error().ToString();
  EXPECT_EQ(pass->events_deleted, 0);
  EXPECT_EQ(pass->bodies_emptied, 2);
  auto a = store_->GetEvent(kWs, "evt_a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->body, "");
  EXPECT_EQ(a->payload_json, "null");
  EXPECT_EQ(a->delivery_id, "d-a");
  EXPECT_EQ(a->event_type, "push");
  EXPECT_TRUE(RunExists("a"));
  EXPECT_EQ(store_->GetEvent(kWs, "evt_c")->body, R"({"n":"c"})");
  // The cursor: nothing is emptied twice.
  EXPECT_EQ(job.RunOnce()->bodies_emptied, 0);
  clock_.Advance(7 * kDay);
  EXPECT_EQ(job.RunOnce()->bodies_emptied, 1);  // c's turn
}

TEST_F(RetentionTest, WorkIsDoneInBoundedSteps) {
  for (int i = 0; i < 25; ++i) Append("e" + std::to_string(i), 60, false);
  store::PurgeRequest request;
  request.events_before = clock_.NowMicros() - 30 * kDay;
  request.limit = 10;
  auto first = store_->Purge(request);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->events_deleted, 10);
  EXPECT_TRUE(first->more);
  // The job repeats the step until nothing is left.
  Job job(store_.get(), &clock_, {.events_max_age = std::chrono::hours(24 * 30), .batch = 10});
  EXPECT_EQ(job.RunOnce()->events_deleted, 15);
  auto last = store_->Purge(request);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->events_deleted, 0);
  EXPECT_FALSE(last->more);
}

TEST_F(RetentionTest, NothingConfiguredMeansNothingDeleted) {
  Append("x", 3650, false);
  Job job(store_.get(), &clock_, {});
  EXPECT_FALSE(job.enabled());
  job.Start();  // no thread: nothing to do
  job.Stop();
  EXPECT_EQ(job.RunOnce()->events_deleted, 0);
  EXPECT_TRUE(EventExists("x"));
}

TEST_F(RetentionTest, TheBackgroundPassRunsAtStart) {
  Append("y", 100, false);
  Job job(store_.get(), &clock_, {.events_max_age = std::chrono::hours(24)});
  job.Start();
  // The first pass runs at once; wait for it (bounded: "did not hang").
  for (int i = 0; i < 2000 && job.totals().events_deleted == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  job.Stop();
  EXPECT_EQ(job.totals().events_deleted, 1);
}

TEST_F(RetentionTest, LiveRunCountsCountOnlyLiveRuns) {
  Append("q1", 0, true);
  Append("q2", 0, true);
  auto counts = store_->CountLiveRuns();
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->queued, 2);
  EXPECT_EQ(counts->running, 0);
  store::ClaimRequest claim;
  claim.owner = "dsp";
  claim.now = clock_.NowMicros();
  claim.lease_micros = kDay;
  claim.limit = 1;
  ASSERT_EQ(store_->ClaimRuns(claim)->size(), 1u);
  counts = store_->CountLiveRuns();
  EXPECT_EQ(counts->queued, 1);
  EXPECT_EQ(counts->running, 1);
  FinishAllRuns();
  counts = store_->CountLiveRuns();
  EXPECT_EQ(counts->queued + counts->retrying + counts->running, 1);  // the claimed one runs on
}

}  // namespace
}  // namespace triggerd::retention
