// The dispatcher in process, on a real SQLite store and a loopback agent: what an attempt reads.
#include "dispatch/dispatch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/clock.h"
#include "recording_target.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::dispatch {
namespace {

using namespace std::chrono_literals;
using testing::RecordingTarget;
using testing::TempDir;

// An EventLog that forwards to the store and counts GetEvent: the read an attempt makes when
// its run was not handed over with its event.
class CountingEvents final : public store::EventLog {
 public:
  explicit CountingEvents(store::EventLog* inner) : inner_(inner) {}
  int reads() const { return reads_.load(); }

  void AppendEvent(store::NewEvent event, AppendCallback done) override {
    inner_->AppendEvent(std::move(event), std::move(done));
  }
  Result<store::Event> GetEvent(std::string_view workspace_id, std::string_view id) override {
    reads_.fetch_add(1);
    return inner_->GetEvent(workspace_id, id);
  }
  Result<store::Page<store::EventSummary>> ListEvents(const store::EventQuery& query) override {
    return inner_->ListEvents(query);
  }
  Result<std::vector<store::Match>> ListEventMatches(std::string_view workspace_id,
                                                     std::string_view event_id) override {
    return inner_->ListEventMatches(workspace_id, event_id);
  }
  Result<store::Page<store::Match>> ListTriggerMatches(const store::MatchQuery& query) override {
    return inner_->ListTriggerMatches(query);
  }
  Status AppendMatches(std::string_view workspace_id, std::string_view event_id,
                       std::vector<store::Match> matches,
                       std::vector<store::NewRun> runs) override {
    return inner_->AppendMatches(workspace_id, event_id, std::move(matches), std::move(runs));
  }

 private:
  store::EventLog* const inner_;
  std::atomic<int> reads_{0};
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore({(dir_.path() / "triggerd.db").string()});
    ASSERT_OK(opened);
    store_ = std::move(opened).value();
    const int64_t now = SystemClock::Instance().NowMicros();
    ASSERT_OK(store_->CreateWorkspace({"ws_d", "dispatch", now}));
    store::Source source;
    source.id = "src_d";
    source.workspace_id = "ws_d";
    source.name = "hooks";
    source.url_secret = "s";
    ASSERT_OK(store_->CreateSource(source));
    store::Agent agent;
    agent.id = "agt_d";
    agent.workspace_id = "ws_d";
    agent.name = "reviewer";
    agent.target_json = R"({"type":"http","url":")" + target_.Url("/agent") + R"("})";
    agent.signing_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    ASSERT_OK(store_->CreateAgent(agent));
    events_ = std::make_unique<CountingEvents>(store_.get());
    Options options;
    options.workers = 2;
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), store_.get(), events_.get(),
                                               &SystemClock::Instance(), options);
    ASSERT_OK(dispatcher_->Start());
  }
  void TearDown() override {
    if (dispatcher_) dispatcher_->Stop();
    if (store_) store_->Close();
    target_.Stop();
  }

  // Appends an event with one run of agt_d, durably.
  void AppendWithRun(const std::string& event_id, const std::string& run_id,
                     const std::string& body) {
    store::NewEvent event;
    event.id = event_id;
    event.workspace_id = "ws_d";
    event.source_id = "src_d";
    event.received_at = SystemClock::Instance().NowMicros();
    event.content_type = "application/json";
    event.event_type = "pull_request";
    event.body = body;
    event.verification = "none";
    store::Match match;
    match.trigger_id = "trg_d";
    match.outcome = store::MatchOutcome::kMatched;
    match.run_id = run_id;
    match.evaluated_at = event.received_at;
    event.matches.push_back(match);
    store::NewRun run;
    run.id = run_id;
    run.trigger_id = "trg_d";
    run.agent_id = "agt_d";
    run.created_at = event.received_at;
    event.runs.push_back(run);
    std::promise<Status> appended;
    store_->AppendEvent(std::move(event), [&](Result<store::AppendOutcome> outcome) {
      appended.set_value(outcome ? Status::Ok() : outcome.error());
    });
    ASSERT_OK(appended.get_future().get());
  }

  bool WaitForRequests(size_t n) {
    return target_.WaitFor([n](const auto& requests) { return requests.size() >= n; }, 10s);
  }

  TempDir dir_;
  // Fails the first request (a permanent 400), then answers 200.
  RecordingTarget target_{[](const RecordingTarget::Received&,
                             const std::vector<RecordingTarget::Received>& earlier) {
    return RecordingTarget::Reply(earlier.empty() ? 400 : 200, "{}");
  }};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CountingEvents> events_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// A run leased by the commit that stored its event (the standing claim) comes with that event:
// its attempt sends the payload without reading the event back. A run made due by a later
// commit (a retry by hand) reads it, and sends the same message.
TEST_F(DispatcherTest, ARunHandedOverWithItsEventIsDeliveredWithoutReadingItBack) {
  const std::string body = R"({"action":"opened","number":12345678901234567890})";
  ASSERT_NO_FATAL_FAILURE(AppendWithRun("evt_d1", "run_d1", body));
  ASSERT_TRUE(WaitForRequests(1));
  std::string first = target_.requests()[0].body;
  EXPECT_NE(first.find(R"("payload":)" + body), std::string::npos) << first;
  EXPECT_NE(first.find(R"("id":"evt_d1")"), std::string::npos) << first;
  EXPECT_EQ(events_->reads(), 0);

  // The 400 failed the run; retried by hand, it is made due by a write that did not store its
  // event.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (store_->GetRun("ws_d", "run_d1")->status != store::RunStatus::kFailed &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(store_->GetRun("ws_d", "run_d1")->status, store::RunStatus::kFailed);
  ASSERT_OK(store_->RetryRun("ws_d", "run_d1", SystemClock::Instance().NowMicros()));
  ASSERT_TRUE(WaitForRequests(2));
  EXPECT_EQ(events_->reads(), 1);
  EXPECT_EQ(target_.requests()[1].body, first);
}

}  // namespace
}  // namespace triggerd::dispatch
