// Matching an event against the triggers of its source (Ingestor::EvaluateTriggers), and the
// outbox rows the pipeline commits with the event.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <future>
#include <set>

#include "common/crypto.h"
#include "ingest/ingest.h"
#include "test_util.h"

namespace triggerd::ingest {
namespace {

using store::MatchOutcome;

store::Trigger MakeTrigger(std::string id, std::string filter, int64_t created_at,
                           std::string source_id = "src_a") {
  store::Trigger t;
  t.id = std::move(id);
  t.workspace_id = "ws_a";
  t.source_id = std::move(source_id);
  t.agent_id = "agt_" + t.id;
  t.filter = std::move(filter);
  t.created_by = "key_owner";
  t.created_at = created_at;
  return t;
}

class EvaluateTest : public ::testing::Test {
 protected:
  Evaluation Evaluate(std::string_view payload_text, std::string_view event_type = "",
                      bool replay = false) {
    payload_ = boost::json::parse(payload_text);
    return ingestor_.EvaluateTriggers(
        EventToMatch{"ws_a", "src_a", "evt_1", event_type, &payload_, &headers_}, 42, replay);
  }

  ManualClock clock_{1'700'000'000'000'000};
  Ingestor ingestor_{nullptr, &clock_, Options{}};  // evaluation reads only the caches
  boost::json::value payload_;
  Headers headers_ = {{"X-GitHub-Event", "pull_request"}};
};

TEST_F(EvaluateTest, NoTriggersNoRecords) {
  Evaluation e = Evaluate(R"({"action":"opened"})");
  EXPECT_TRUE(e.matches.empty());
  EXPECT_TRUE(e.runs.empty());
}

TEST_F(EvaluateTest, EveryTriggerGetsARecordInCreationOrder) {
  store::Trigger disabled = MakeTrigger("trg_d", "", 4);
  disabled.enabled = false;
  store::Trigger typed = MakeTrigger("trg_t", "", 5);
  typed.event_types = {"issues"};
  ingestor_.UpsertTrigger(MakeTrigger("trg_m", R"((eq "action" "opened"))", 2));
  ingestor_.UpsertTrigger(MakeTrigger("trg_i", R"((eq "action" "closed"))", 1));
  ingestor_.UpsertTrigger(disabled);
  ingestor_.UpsertTrigger(typed);
  ingestor_.UpsertTrigger(MakeTrigger("trg_e", "", 3));  // empty filter: every event
  ingestor_.UpsertTrigger(MakeTrigger("trg_bad", "(eq \"action\"", 6));  // does not compile

  Evaluation e = Evaluate(R"({"action":"opened"})", "pull_request");
  // trg_t subscribes to "issues" only: not evaluated, but recorded as ignored with the reason,
  // so the records list every trigger of the source (issue 20).
  ASSERT_EQ(e.matches.size(), 6u);
  EXPECT_EQ(e.matches[0].trigger_id, "trg_i");
  EXPECT_EQ(e.matches[0].outcome, MatchOutcome::kIgnored);
  EXPECT_EQ(e.matches[0].message, "");
  EXPECT_EQ(e.matches[1].trigger_id, "trg_m");
  EXPECT_EQ(e.matches[1].outcome, MatchOutcome::kMatched);
  EXPECT_EQ(e.matches[2].trigger_id, "trg_e");
  EXPECT_EQ(e.matches[2].outcome, MatchOutcome::kMatched);
  EXPECT_EQ(e.matches[3].outcome, MatchOutcome::kDisabled);
  EXPECT_EQ(e.matches[4].trigger_id, "trg_t");
  EXPECT_EQ(e.matches[4].outcome, MatchOutcome::kIgnored);
  EXPECT_EQ(e.matches[4].message,
            "not subscribed: event type \"pull_request\" is not among the trigger's event_types "
            "(issues)");
  EXPECT_EQ(e.matches[5].trigger_id, "trg_bad");
  EXPECT_EQ(e.matches[5].outcome, MatchOutcome::kFilterError);
  EXPECT_FALSE(e.matches[5].message.empty());
  // An "issues" event reaches it, in creation order among the others.
  Evaluation issues = Evaluate(R"({"action":"opened"})", "issues");
  ASSERT_EQ(issues.matches.size(), 6u);
  EXPECT_EQ(issues.matches[4].trigger_id, "trg_t");
  EXPECT_EQ(issues.matches[4].outcome, MatchOutcome::kMatched);

  // One run per matched trigger, linked both ways, carrying the trigger's choices.
  ASSERT_EQ(e.runs.size(), 2u);
  EXPECT_EQ(e.runs[0].id, e.matches[1].run_id);
  EXPECT_EQ(e.runs[1].id, e.matches[2].run_id);
  EXPECT_NE(e.runs[0].id, e.runs[1].id);
  EXPECT_EQ(e.runs[0].id.rfind("run_", 0), 0u);
  EXPECT_EQ(e.runs[0].event_id, "evt_1");
  EXPECT_EQ(e.runs[0].agent_id, "agt_trg_m");
  EXPECT_EQ(e.runs[0].owner, "key_owner");
  EXPECT_EQ(e.runs[0].created_at, 42);
  for (const auto& m : e.matches) {
    EXPECT_EQ(m.event_id, "evt_1");
    EXPECT_EQ(m.evaluated_at, 42);
    EXPECT_FALSE(m.replay);
    if (m.outcome != MatchOutcome::kMatched) EXPECT_TRUE(m.run_id.empty());
  }
}

TEST_F(EvaluateTest, SubscribedEventTypesAndReplayMarks) {
  store::Trigger typed = MakeTrigger("trg_t", "", 1);
  typed.event_types = {"issues", "pull_request"};
  typed.include_payload = false;
  ingestor_.UpsertTrigger(typed);
  Evaluation e = Evaluate(R"({})", "pull_request", /*replay=*/true);
  ASSERT_EQ(e.runs.size(), 1u);
  EXPECT_FALSE(e.runs[0].include_payload);
  EXPECT_TRUE(e.matches[0].replay);
  // An event without a type, or of another type, never reaches (starts no run of) a trigger
  // that subscribes to types; its record says why it ignored the event.
  for (const char* type : {"", "push"}) {
    Evaluation skipped = Evaluate(R"({})", type);
    EXPECT_TRUE(skipped.runs.empty());
    ASSERT_EQ(skipped.matches.size(), 1u);
    EXPECT_EQ(skipped.matches[0].outcome, MatchOutcome::kIgnored);
    EXPECT_TRUE(skipped.matches[0].run_id.empty());
  }
  EXPECT_EQ(Evaluate(R"({})", "").matches[0].message,
            "not subscribed: the event has no type; the trigger takes only its event_types "
            "(issues, pull_request)");
}

TEST_F(EvaluateTest, TheTypeIndexKeepsCreationOrderAcrossTypedAndUntypedTriggers) {
  for (int i = 0; i < 50; ++i) {
    store::Trigger t = MakeTrigger("trg_" + std::to_string(100 + i), "", i);
    if (i % 3 == 1) t.event_types = {"push"};
    if (i % 3 == 2) t.event_types = {"issues", "push", "push"};  // a type listed twice
    ingestor_.UpsertTrigger(t);
  }
  Evaluation push = Evaluate(R"({})", "push");
  ASSERT_EQ(push.matches.size(), 50u);
  for (size_t i = 0; i < push.matches.size(); ++i) {
    EXPECT_EQ(push.matches[i].trigger_id, "trg_" + std::to_string(100 + i));
  }
  // Every trigger has its record, in creation order; those the type does not reach are ignored.
  auto runs_and_ignored = [&](std::string_view type) {
    Evaluation e = Evaluate(R"({})", type);
    EXPECT_EQ(e.matches.size(), 50u);
    size_t ignored = 0;
    for (size_t i = 0; i < e.matches.size(); ++i) {
      EXPECT_EQ(e.matches[i].trigger_id, "trg_" + std::to_string(100 + i));
      ignored += e.matches[i].outcome == MatchOutcome::kIgnored ? 1 : 0;
    }
    return std::make_pair(e.runs.size(), ignored);
  };
  EXPECT_EQ(runs_and_ignored("issues"), std::make_pair(size_t{33}, size_t{17}));  // 17 untyped
                                                                                  // + 16 issues
  EXPECT_EQ(runs_and_ignored(""), std::make_pair(size_t{17}, size_t{33}));
  // Only the reached triggers count as filter evaluations.
  const uint64_t before = ingestor_.stats().filter_evaluations;
  Evaluate(R"({})", "issues");
  EXPECT_EQ(ingestor_.stats().filter_evaluations - before, 33u);
}

TEST_F(EvaluateTest, FiltersSeeHeadersAndEventType) {
  ingestor_.UpsertTrigger(MakeTrigger(
      "trg_h", R"((and (eq "$headers.x-github-event" "pull_request") (eq "$event" "push")))", 1));
  EXPECT_EQ(Evaluate(R"({})", "push").matches[0].outcome, MatchOutcome::kMatched);
  EXPECT_EQ(Evaluate(R"({})", "issues").matches[0].outcome, MatchOutcome::kIgnored);
}

TEST_F(EvaluateTest, UpsertReplacesMovesAndRemoveForgets) {
  ingestor_.UpsertTrigger(MakeTrigger("trg_1", R"((eq "a" 1))", 1));
  EXPECT_EQ(Evaluate(R"({"a":2})").matches[0].outcome, MatchOutcome::kIgnored);
  ingestor_.UpsertTrigger(MakeTrigger("trg_1", R"((eq "a" 2))", 1));  // the filter changed
  Evaluation e = Evaluate(R"({"a":2})");
  ASSERT_EQ(e.matches.size(), 1u);
  EXPECT_EQ(e.matches[0].outcome, MatchOutcome::kMatched);
  // Moved to another source: gone from this one.
  ingestor_.UpsertTrigger(MakeTrigger("trg_1", "", 1, "src_b"));
  EXPECT_TRUE(Evaluate(R"({"a":2})").matches.empty());
  ingestor_.UpsertTrigger(MakeTrigger("trg_2", "", 2));
  ingestor_.RemoveTrigger("trg_2");
  EXPECT_TRUE(Evaluate(R"({"a":2})").matches.empty());
  // Removing a source drops its triggers.
  ingestor_.UpsertTrigger(MakeTrigger("trg_3", "", 3));
  ingestor_.Remove("src_a");
  EXPECT_TRUE(Evaluate(R"({"a":2})").matches.empty());
}

TEST_F(EvaluateTest, ATriggerOfAnotherWorkspaceNeverMatches) {
  store::Trigger other = MakeTrigger("trg_x", "", 1);
  other.workspace_id = "ws_other";
  ingestor_.UpsertTrigger(other);
  EXPECT_TRUE(Evaluate(R"({})").matches.empty());
}

// Issue 18, item 2: each filter has its evaluation budget, and an event's triggers share
// kMaxEventEvalSteps; an evaluation over budget is that trigger's filter_error, never a stall.
TEST_F(EvaluateTest, EvaluationsOverBudgetAreTheirTriggersFailures) {
  std::string values = "(";
  for (int i = 0; i < 2000; ++i) values += "2 ";
  values += ")";
  // 3,000 elements x 2,000 values: 6M steps, over one filter's budget.
  const std::string heavy = "(has-any \"n\" " + values + ")";
  // 1,500 elements x 2,000 values: 3M steps, within it, but two of these spend the event's
  // budget of four filters' worth at the third.
  const std::string costly = "(has-any \"m\" " + values + ")";
  ingestor_.UpsertTrigger(MakeTrigger("trg_1", heavy, 1));
  ingestor_.UpsertTrigger(MakeTrigger("trg_2", R"((exists "n"))", 2));
  for (int i = 3; i <= 8; ++i) {
    ingestor_.UpsertTrigger(MakeTrigger("trg_" + std::to_string(i), costly, i));
  }
  std::string payload = R"({"n":[)";
  for (int i = 0; i < 3000; ++i) payload += i ? ",1" : "1";
  payload += R"(],"m":[)";
  for (int i = 0; i < 1500; ++i) payload += i ? ",1" : "1";
  payload += "]}";
  Evaluation e = Evaluate(payload);
  ASSERT_EQ(e.matches.size(), 8u);
  EXPECT_EQ(e.matches[0].outcome, MatchOutcome::kFilterError);
  EXPECT_NE(e.matches[0].message.find("evaluation budget"), std::string::npos)
      << e.matches[0].message;
  EXPECT_EQ(e.matches[1].outcome, MatchOutcome::kMatched);  // unaffected by the one before
  int ignored = 0, failed = 0;
  for (size_t i = 2; i < e.matches.size(); ++i) {
    if (e.matches[i].outcome == MatchOutcome::kIgnored) ++ignored;
    if (e.matches[i].outcome == MatchOutcome::kFilterError) ++failed;
  }
  // 16.8M steps: ~4.2M spent by trg_1, then 3M each; the rest are not evaluated.
  EXPECT_EQ(ignored, 4);
  EXPECT_EQ(failed, 2);
  EXPECT_NE(e.matches.back().message.find("not evaluated"), std::string::npos)
      << e.matches.back().message;
}

// Issue 18, item 1: filters see the headers as the event stores them, credentials redacted.
// The triggers are written to the store directly, as one saved before the save-time refusal.
TEST(IngestRedactionTest, FiltersSeeTheHeadersAsStored) {
  testing::TempDir dir;
  auto opened = store::OpenSqliteStore({(dir.path() / "t.db").string()});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto store = std::move(opened).value();
  ASSERT_OK(store->CreateWorkspace({"ws_a", "a", 1}));
  store::Source source;
  source.id = "src_a";
  source.workspace_id = "ws_a";
  source.name = "a";
  source.url_secret = "s";
  source.auth_json = R"({"hmac":{"header":"X-Hook-Digest"}})";
  source.signing_secret = "k";
  ASSERT_OK(store->CreateSource(source));
  store::Agent agent;
  agent.id = "agt_1";
  agent.workspace_id = "ws_a";
  agent.name = "a";
  agent.target_json = R"({"type":"http","url":"http://127.0.0.1:9/"})";
  ASSERT_OK(store->CreateAgent(agent));
  const std::string body = R"({"a":1})";
  const std::string digest =
      crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, "k", body));
  const std::vector<std::pair<std::string, std::string>> filters = {
      {"trg_1", R"((starts-with "$headers.Authorization" "Bearer tdt_"))"},
      {"trg_2", R"((eq "$headers.X-Hook-Digest" ")" + digest + R"("))"},
      {"trg_3", R"((exists "$headers.X-Shopify-Hmac-Sha256"))"},  // present, as the marker
      {"trg_4", R"((eq "$headers.X-Shopify-Hmac-Sha256" "[redacted]"))"},
      {"trg_5", R"((eq "$headers.X-Request-Id" "r1"))"},
  };
  int64_t created = 1;
  for (const auto& [id, filter] : filters) {
    store::Trigger trigger = MakeTrigger(id, filter, created++);
    trigger.agent_id = "agt_1";
    ASSERT_OK(store->CreateTrigger(trigger));
  }
  ManualClock clock(1'700'000'000'000'000);
  Ingestor ingestor(store.get(), &clock, Options{});
  ASSERT_OK(ingestor.Reload());
  HeadRequest head;
  head.workspace_id = "ws_a";
  head.source_id = "src_a";
  head.url_secret = "s";
  head.method = "POST";
  Headers none;
  head.headers = &none;
  head.remote_ip = "127.0.0.1";
  auto admitted = ingestor.Admit(head);
  ASSERT_TRUE(admitted.has_value());
  std::promise<Result<IngestOutcome>> done;
  ingestor.Ingest({admitted->source, "POST", "/x",
                   {{"Content-Type", "application/json"},
                    {"Authorization", "Bearer tdt_secret"},
                    {"X-Hook-Digest", digest},
                    {"X-Shopify-Hmac-Sha256", "c2lnbmF0dXJl"},
                    {"X-Request-Id", "r1"}},
                   "127.0.0.1", body},
                  [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
  auto outcome = done.get_future().get();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  std::set<std::string> started;
  for (const auto& run : outcome->runs) started.insert(run.trigger_id);
  EXPECT_EQ(started, (std::set<std::string>{"trg_3", "trg_4", "trg_5"}));
  auto event = store->GetEvent("ws_a", outcome->event_id);
  ASSERT_TRUE(event.has_value());
  for (const Header& h : event->headers) {
    if (h.name != "Content-Type" && h.name != "X-Request-Id") {
      EXPECT_EQ(h.value, "[redacted]") << h.name;
    }
  }
}

// The whole pipeline: the event, its match records and its runs are committed together.
TEST(IngestOutboxTest, RunsAreCommittedWithTheEventAndADuplicateStartsNone) {
  testing::TempDir dir;
  auto opened = store::OpenSqliteStore({(dir.path() / "t.db").string()});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto store = std::move(opened).value();
  ASSERT_OK(store->CreateWorkspace({"ws_a", "a", 1}));
  store::Source source;
  source.id = "src_a";
  source.workspace_id = "ws_a";
  source.name = "a";
  source.url_secret = "s";
  source.delivery_id_header = "X-Delivery";
  ASSERT_OK(store->CreateSource(source));
  store::Agent agent;
  agent.id = "agt_1";
  agent.workspace_id = "ws_a";
  agent.name = "a";
  agent.target_json = R"({"type":"http","url":"http://127.0.0.1:9/"})";
  agent.max_attempts = 5;
  ASSERT_OK(store->CreateAgent(agent));
  store::Trigger match = MakeTrigger("trg_1", R"((eq "action" "opened"))", 1);
  match.agent_id = "agt_1";
  store::Trigger ignore = MakeTrigger("trg_2", R"((eq "action" "closed"))", 2);
  ignore.agent_id = "agt_1";
  ASSERT_OK(store->CreateTrigger(match));
  ASSERT_OK(store->CreateTrigger(ignore));

  ManualClock clock(1'700'000'000'000'000);
  Ingestor ingestor(store.get(), &clock, Options{});
  ASSERT_OK(ingestor.Reload());
  auto ingest = [&](std::string delivery) {
    HeadRequest head;
    head.workspace_id = "ws_a";
    head.source_id = "src_a";
    head.url_secret = "s";
    head.method = "POST";
    Headers none;
    head.headers = &none;
    head.remote_ip = "127.0.0.1";
    auto admitted = ingestor.Admit(head);
    EXPECT_TRUE(admitted.has_value());
    std::promise<Result<IngestOutcome>> done;
    ingestor.Ingest({admitted->source, "POST", "/x",
                     {{"Content-Type", "application/json"}, {"X-Delivery", delivery}},
                     "127.0.0.1", R"({"action":"opened"})"},
                    [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto first = ingest("d-1");
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  ASSERT_EQ(first->runs.size(), 1u);
  EXPECT_EQ(first->runs[0].trigger_id, "trg_1");

  auto run = store->GetRun("ws_a", first->runs[0].run_id);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->status, store::RunStatus::kQueued);
  EXPECT_EQ(run->event_id, first->event_id);
  EXPECT_EQ(run->max_attempts, 5);  // copied from the agent in the same transaction
  auto matches = store->ListEventMatches("ws_a", first->event_id);
  ASSERT_TRUE(matches.has_value());
  ASSERT_EQ(matches->size(), 2u);
  EXPECT_EQ((*matches)[0].outcome, MatchOutcome::kMatched);
  EXPECT_EQ((*matches)[0].run_id, run->id);
  EXPECT_EQ((*matches)[1].outcome, MatchOutcome::kIgnored);

  auto again = ingest("d-1");
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);
  EXPECT_TRUE(again->runs.empty());
  store::RunQuery query;
  query.workspace_id = "ws_a";
  auto runs = store->ListRuns(query);
  ASSERT_TRUE(runs.has_value());
  EXPECT_EQ(runs->items.size(), 1u);
}

}  // namespace
}  // namespace triggerd::ingest
