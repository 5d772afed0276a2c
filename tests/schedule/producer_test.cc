// The producer on real components: a SQLite file, the real Ingestor (matching + append), a manual
// clock. Ticks become events and runs through the webhooks' path; missed ticks are collapsed or
// skipped; restarting on the same file never makes a tick twice, even when the cursor write was
// lost. A poll against a real loopback HTTP server (tests/support RecordingTarget).
#include <gmock/gmock.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <atomic>

#include "common/clock.h"
#include "ingest/ingest.h"
#include "outbound/outbound.h"
#include "recording_target.h"
#include "schedule/internal.h"
#include "schedule/schedule.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::schedule {
namespace {

namespace json = boost::json;
constexpr int64_t kSecond = 1'000'000;
// 2026-11-23T14:00:00Z, a whole minute.
constexpr int64_t kT0 = 1'795'442'400LL * kSecond;

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenStore();
    ASSERT_OK(store_->CreateWorkspace({"ws_1", "w", kT0}));
    store::Agent agent;
    agent.id = "agt_1";
    agent.workspace_id = "ws_1";
    agent.name = "a";
    agent.target_json = R"({"type":"http","url":"http://127.0.0.1:9/"})";
    agent.created_at = agent.updated_at = kT0;
    ASSERT_OK(store_->CreateAgent(agent));
  }

  void OpenStore() {
    store::SqliteOptions options;
    options.path = (dir_.path() / "triggerd.db").string();
    options.clock = &clock_;
    auto store = store::OpenSqliteStore(options);
    ASSERT_OK(store);
    store_ = std::move(*store);
    ingestor_ = std::make_unique<ingest::Ingestor>(store_.get(), &clock_, ingest::Options{});
    ASSERT_OK(ingestor_->Reload());
    producer_ = std::make_unique<Producer>(store_.get(), ingestor_.get(), &clock_, options_);
    ASSERT_OK(producer_->Load());
  }

  // "Restart": everything closed and opened again on the same file.
  void Restart() {
    producer_.reset();
    ingestor_.reset();
    store_->Close();
    store_.reset();
    OpenStore();
  }

  // A source of `kind` with `config` and a trigger on it, as the API would make them.
  store::Source AddSource(const std::string& kind, const json::object& config,
                          const std::string& id = "src_1") {
    store::Source source;
    source.id = id;
    source.workspace_id = "ws_1";
    source.name = id;
    source.kind = kind;
    source.url_secret = "s";
    auto normalized = NormalizeConfig(kind, config, nullptr);
    EXPECT_TRUE(normalized.has_value()) << normalized.error().ToString();
    source.trigger_config_json = normalized ? *normalized : "{}";
    source.created_at = source.updated_at = clock_.NowMicros();
    EXPECT_OK(store_->CreateSource(source));
    store::Trigger trigger;
    trigger.id = "trg_" + id;
    trigger.workspace_id = "ws_1";
    trigger.source_id = id;
    trigger.agent_id = "agt_1";
    trigger.created_by = "key_1";
    trigger.created_at = trigger.updated_at = clock_.NowMicros();
    EXPECT_OK(store_->CreateTrigger(trigger));
    ingestor_->Upsert(source);
    ingestor_->UpsertTrigger(trigger);
    producer_->Upsert(source);
    return source;
  }

  std::vector<store::Event> Events(const std::string& source_id = "src_1") {
    store::EventQuery query;
    query.workspace_id = "ws_1";
    query.source_id = source_id;
    query.limit = 500;
    auto page = store_->ListEvents(query);
    EXPECT_TRUE(page.has_value());
    std::vector<store::Event> events;
    if (!page) return events;
    for (auto it = page->items.rbegin(); it != page->items.rend(); ++it) {  // oldest first
      auto event = store_->GetEvent(it->workspace_id, it->id);  // lists carry no bodies
      EXPECT_TRUE(event.has_value());
      if (event) events.push_back(std::move(event).value());
    }
    return events;
  }
  size_t Runs() {
    store::RunQuery query;
    query.workspace_id = "ws_1";
    query.limit = 500;
    auto page = store_->ListRuns(query);
    return page ? page->items.size() : 0;
  }
  static json::object Payload(const store::Event& event) {
    return json::parse(event.body).as_object();
  }

  testing::TempDir dir_;
  ManualClock clock_{kT0};
  ProducerOptions options_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(ProducerTest, EachTickOnTimeStartsOneRunWithItsScheduledTime) {
  AddSource("schedule", {{"interval_seconds", 60}});
  EXPECT_EQ(producer_->NextDue(), kT0 + 60 * kSecond);
  clock_.Set(kT0 + 59 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
  clock_.Set(kT0 + 60 * kSecond + 300'000);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(producer_->RunDue(), 0);  // the same tick is not due twice
  clock_.Advance(60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);

  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event_type, "schedule.tick");
  EXPECT_EQ(events[0].delivery_id, "tick:2026-11-23T14:01:00Z");
  EXPECT_EQ(events[0].verification, "schedule");
  EXPECT_EQ(json::serialize(Payload(events[0]).at("scheduled_at")), "\"2026-11-23T14:01:00Z\"");
  EXPECT_FALSE(Payload(events[0]).contains("missed_ticks"));
  EXPECT_EQ(events[1].delivery_id, "tick:2026-11-23T14:02:00Z");
  EXPECT_EQ(Runs(), 2u);
  EXPECT_EQ(producer_->stats().ticks_fired, 2u);

  auto cursor = store_->GetSourceCursor("src_1");
  ASSERT_OK(cursor);
  EXPECT_EQ(cursor->last_tick_at, kT0 + 120 * kSecond);
  EXPECT_EQ(cursor->next_due_at, kT0 + 180 * kSecond);
}

TEST_F(ProducerTest, CatchUpCollapsesTheMissedTicksIntoOneRun) {
  AddSource("schedule", {{"interval_seconds", 60}, {"missed", "catch_up"}});
  // Down for a while: ticks at 14:01 … 14:10 were missed; it is 14:15.
  clock_.Set(kT0 + 15 * 60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  json::object payload = Payload(events[0]);
  EXPECT_EQ(json::serialize(payload.at("scheduled_at")), "\"2026-11-23T14:15:00Z\"");
  EXPECT_EQ(payload.at("missed_ticks").as_int64(), 14);
  EXPECT_EQ(json::serialize(payload.at("first_missed_at")), "\"2026-11-23T14:01:00Z\"");
  EXPECT_EQ(Runs(), 1u);
  EXPECT_EQ(producer_->stats().ticks_missed, 14u);
  // Then back to one run per tick.
  clock_.Set(kT0 + 16 * 60 * kSecond + kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(Events().back().delivery_id, "tick:2026-11-23T14:16:00Z");
}

TEST_F(ProducerTest, CatchUpRunsALateTickOnce) {
  // A daily schedule whose only due tick is hours late is still run once (catch_up).
  clock_.Set(kT0);
  AddSource("schedule", {{"cron", "0 15 * * *"}, {"timezone", "UTC"}});
  clock_.Set(kT0 + 3 * 3600 * kSecond);  // 17:00, the 15:00 tick two hours late
  EXPECT_EQ(producer_->RunDue(), 1);
  json::object payload = Payload(Events().at(0));
  EXPECT_EQ(json::serialize(payload.at("scheduled_at")), "\"2026-11-23T15:00:00Z\"");
  EXPECT_EQ(json::serialize(payload.at("timezone")), "\"UTC\"");
}

TEST_F(ProducerTest, SkipDropsMissedTicksAndResumesAtTheNextOne) {
  AddSource("schedule", {{"interval_seconds", 600}, {"missed", "skip"}});
  // Down from before 14:10 until 14:37: 14:10, 14:20, 14:30 were missed, the latest 7 min late.
  clock_.Set(kT0 + 37 * 60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_TRUE(Events().empty());
  EXPECT_EQ(producer_->stats().ticks_missed, 3u);
  clock_.Set(kT0 + 40 * 60 * kSecond + 5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(Events().back().delivery_id, "tick:2026-11-23T14:40:00Z");
  // Down across 14:50 and back at 15:00:10: 15:00 is on time and fires; 14:50 is dropped.
  clock_.Set(kT0 + 60 * 60 * kSecond + 10 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(Events().back().delivery_id, "tick:2026-11-23T15:00:00Z");
  // Named apart from catch_up's missed_ticks: the dropped tick is not to be made up for.
  json::object payload = Payload(Events().back());
  EXPECT_EQ(payload.at("skipped_ticks").as_int64(), 1);
  EXPECT_EQ(json::serialize(payload.at("first_skipped_at")), "\"2026-11-23T14:50:00Z\"");
  EXPECT_FALSE(payload.contains("missed_ticks"));
  EXPECT_FALSE(payload.contains("first_missed_at"));
  EXPECT_EQ(Runs(), 2u);
}

TEST_F(ProducerTest, ServerDefaultAppliesWhenTheScheduleDoesNotSay) {
  options_.default_missed = MissedPolicy::kSkip;
  producer_ = std::make_unique<Producer>(store_.get(), ingestor_.get(), &clock_, options_);
  AddSource("schedule", {{"interval_seconds", 600}});
  clock_.Set(kT0 + 37 * 60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_TRUE(Events().empty());
}

TEST_F(ProducerTest, ATickIsNeverRunTwiceAcrossRestartsEvenWhenTheCursorWasLost) {
  AddSource("schedule", {{"interval_seconds", 60}});
  clock_.Set(kT0 + 60 * kSecond + kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  // Restart at the same moment: the cursor says the 14:01 tick is done.
  Restart();
  EXPECT_EQ(producer_->RunDue(), 0);
  // Now lose the cursor write (a crash right after the append): it is rewound to before the
  // tick. The tick is appended again and found to be a duplicate: no second event, no run.
  store::SourceCursor rewound;
  rewound.source_id = "src_1";
  rewound.last_tick_at = kT0;
  rewound.updated_at = kT0;
  ASSERT_OK(store_->PutSourceCursor(rewound));
  Restart();
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(producer_->stats().duplicates, 1u);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(Runs(), 1u);
  // A second producer on the same store (another node's view) finds the same tick a duplicate.
  ASSERT_OK(store_->PutSourceCursor(rewound));
  Producer other(store_.get(), ingestor_.get(), &clock_, options_);
  ASSERT_OK(other.Load());
  EXPECT_EQ(other.RunDue(), 0);
  EXPECT_EQ(other.stats().duplicates, 1u);
  EXPECT_EQ(Events().size(), 1u);
  EXPECT_EQ(Runs(), 1u);
  // And the schedule goes on.
  clock_.Set(kT0 + 120 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(ProducerTest, ADisabledOrRemovedSourceDoesNotTick) {
  store::Source source = AddSource("schedule", {{"interval_seconds", 60}});
  source.enabled = false;
  ingestor_->Upsert(source);
  producer_->Upsert(source);
  clock_.Set(kT0 + 10 * 60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_FALSE(producer_->NextDue().has_value());
  // Re-enabled: the time it was off is not replayed (ticks before updated_at are never due).
  source.enabled = true;
  source.updated_at = clock_.NowMicros();
  ingestor_->Upsert(source);
  producer_->Upsert(source);
  EXPECT_EQ(producer_->RunDue(), 0);
  clock_.Advance(60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  producer_->Remove("src_1");
  clock_.Advance(60 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
}

TEST_F(ProducerTest, ACursorLivesAndDiesWithItsSource) {
  AddSource("schedule", {{"interval_seconds", 60}});
  EXPECT_EQ(store_->GetSourceCursor("src_1").error().type(), ErrorType::kNotFound);
  store::SourceCursor cursor;
  cursor.source_id = "src_1";
  cursor.cursor_data = R"({"last_id":"x"})";
  cursor.last_tick_at = kT0;
  cursor.updated_at = kT0;
  ASSERT_OK(store_->PutSourceCursor(cursor));
  cursor.next_due_at = kT0 + 60 * kSecond;  // an upsert replaces it
  ASSERT_OK(store_->PutSourceCursor(cursor));
  auto stored = store_->GetSourceCursor("src_1");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->cursor_data, R"({"last_id":"x"})");
  EXPECT_EQ(stored->last_tick_at, kT0);
  EXPECT_EQ(stored->next_due_at, kT0 + 60 * kSecond);
  // Deleting the source deletes its cursor; writing one for it then is kNotFound.
  ASSERT_OK(store_->DeleteSource("ws_1", "src_1"));
  EXPECT_EQ(store_->GetSourceCursor("src_1").error().type(), ErrorType::kNotFound);
  EXPECT_EQ(store_->PutSourceCursor(cursor).type(), ErrorType::kNotFound);
}

TEST_F(ProducerTest, APollAppendsOneEventPerNewItemAndKeepsItsCursorAcrossRestarts) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto& request, const auto&) {
    EXPECT_EQ(request.method, "GET");
    // The configured header arrives (a credential: the test checks it, the producer never logs it).
    EXPECT_EQ(FindHeader(request.headers, "Authorization").value_or(""), "Bearer feed-token");
    std::string body = version == 1
                           ? R"({"data":{"items":[{"id":"a","n":1},{"id":"b","n":2}]}})"
                           : R"({"data":{"items":[{"id":"b","n":2},{"id":"c","n":3},
                                                   {"id":"d","n":4},{"id":"e","n":5}]}})";
    return testing::RecordingTarget::Reply(200, body);
  });
  AddSource("poll", {{"url", feed.Url("/feed")},
                     {"interval_seconds", 5},
                     {"headers", {{"Authorization", "Bearer feed-token"}}},
                     {"items_path", "data.items"}});
  EXPECT_EQ(producer_->RunDue(), 2);  // a new poll source is due at once
  EXPECT_EQ(producer_->RunDue(), 0);  // not again before its interval
  version = 2;
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 3);
  auto events = Events();
  ASSERT_EQ(events.size(), 5u);
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.delivery_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"item:a", "item:b", "item:c", "item:d", "item:e"}));
  EXPECT_EQ(events[2].event_type, "poll.item");
  EXPECT_EQ(Payload(events[2]).at("n").as_int64(), 3);
  EXPECT_EQ(Runs(), 5u);

  Restart();
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);  // the cursor survived: nothing is new
  EXPECT_EQ(feed.requests().size(), 3u);
  EXPECT_EQ(Events().size(), 5u);
  auto cursor = store_->GetSourceCursor("src_1");
  ASSERT_OK(cursor);
  EXPECT_THAT(cursor->cursor_data, ::testing::HasSubstr("\"last_id\":\"e\""));
}

// Two nodes on one database (two producers on one store): each turn one of them polls, from the
// cursor the other left; the feed is fetched once per interval, not once per node.
TEST_F(ProducerTest, NodesSharingADatabasePollEachFeedOncePerTurn) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    return testing::RecordingTarget::Reply(
        200, version == 1 ? R"([{"id":"a"},{"id":"b"}])" : R"([{"id":"b"},{"id":"c"}])");
  });
  AddSource("poll", {{"url", feed.Url("/feed")}, {"interval_seconds", 5}});
  Producer other(store_.get(), ingestor_.get(), &clock_, options_);
  ASSERT_OK(other.Load());
  EXPECT_EQ(producer_->RunDue(), 2);
  EXPECT_EQ(other.RunDue(), 0);  // this turn is taken
  EXPECT_EQ(feed.requests().size(), 1u);
  // The next turn: whichever node comes first polls, from the stored cursor ("b" is not new).
  version = 2;
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(other.RunDue(), 1);
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(feed.requests().size(), 2u);
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);  // polls: nothing new since the other node's turn
  EXPECT_EQ(other.RunDue(), 0);
  EXPECT_EQ(feed.requests().size(), 3u);
  EXPECT_EQ(producer_->stats().polls + other.stats().polls, 3u);
  EXPECT_EQ(producer_->stats().duplicates + other.stats().duplicates, 0u);
  EXPECT_EQ(Events().size(), 3u);
  EXPECT_EQ(Runs(), 3u);
}

TEST_F(ProducerTest, AFailedPollIsRetriedAtTheNextInterval) {
  std::atomic<int> status{500};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    return testing::RecordingTarget::Reply(status, R"([{"id":1}])");
  });
  AddSource("poll", {{"url", feed.Url("/feed")}, {"interval_seconds", 5}});
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(producer_->stats().poll_errors, 1u);
  status = 200;
  EXPECT_EQ(producer_->RunDue(), 0);  // not before the interval
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(producer_->stats().polls, 1u);
}

// A wrong id_field: no item has an id. That is a failed poll (counted as an error, the cursor
// does not move), not a healthy empty feed; a poll where only some items lack one is ok, and the
// items without an id are counted either way.
TEST_F(ProducerTest, AFeedWhoseItemsHaveNoIdAtIdFieldIsNotAHealthyPoll) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    return testing::RecordingTarget::Reply(
        200, version == 1 ? R"([{"uuid":"a"},{"uuid":"b"}])" : R"([{"id":"c"},{"uuid":"d"}])");
  });
  AddSource("poll", {{"url", feed.Url("/feed")}, {"interval_seconds", 5}});
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(producer_->stats().poll_errors, 1u);
  EXPECT_EQ(producer_->stats().polls, 0u);
  EXPECT_EQ(producer_->stats().items_without_id, 2u);
  EXPECT_FALSE(store_->GetSourceCursor("src_1")->last_tick_at.has_value());
  version = 2;
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(producer_->stats().polls, 1u);
  EXPECT_EQ(producer_->stats().poll_errors, 1u);
  EXPECT_EQ(producer_->stats().items_without_id, 3u);
  EXPECT_EQ(Events().at(0).delivery_id, "item:c");
}

// QA: a cursor_field feed whose item is updated above the cursor. The update is a new event and a
// run (not a duplicate of the first version); fetching the same version again is a duplicate.
TEST_F(ProducerTest, AnItemUpdatedAboveTheCursorIsANewEvent) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    return testing::RecordingTarget::Reply(
        200, version == 1 ? R"([{"id":"a","updated_at":"2026-01-05T10:00:00Z"},
                                {"id":"b","updated_at":"2026-01-05T11:00:00Z"}])"
                          : R"([{"id":"a","updated_at":"2026-01-05T10:00:00Z"},
                                {"id":"b","updated_at":"2026-01-06T09:30:00Z"}])");
  });
  AddSource("poll",
            {{"url", feed.Url("/feed")}, {"interval_seconds", 5}, {"cursor_field", "updated_at"}});
  EXPECT_EQ(producer_->RunDue(), 2);
  version = 2;
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  std::vector<std::string> ids;
  for (const auto& e : Events()) ids.push_back(e.delivery_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"item:a@2026-01-05T10:00:00Z",
                                           "item:b@2026-01-05T11:00:00Z",
                                           "item:b@2026-01-06T09:30:00Z"}));
  EXPECT_EQ(Payload(Events().back()).at("updated_at").as_string(), "2026-01-06T09:30:00Z");
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);  // the same answer again: nothing new, not even a duplicate
  EXPECT_EQ(producer_->stats().duplicates, 0u);
  EXPECT_EQ(Runs(), 3u);
  // The cursor lost (a crash before its write): the same versions again are duplicates.
  store::SourceCursor rewound;
  rewound.source_id = "src_1";
  rewound.cursor_data = "{}";
  rewound.updated_at = clock_.NowMicros();
  ASSERT_OK(store_->PutSourceCursor(rewound));
  Restart();
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(producer_->stats().duplicates, 2u);
  EXPECT_EQ(Events().size(), 3u);
  EXPECT_EQ(Runs(), 3u);
}

// The outbound policy (outbound/outbound.h) holds for polls: a feed on a denied network is never
// fetched (its answer would become events the workspace reads); the poll fails like any failed
// poll (counted, logged, tried again at its next interval) with the policy's reason.
TEST_F(ProducerTest, APollTheOutboundPolicyDeniesFetchesNothingUntilAnAllowCoversIt) {
  testing::RecordingTarget feed([](const auto&, const auto&) {
    return testing::RecordingTarget::Reply(200, R"([{"id":"a"}])");
  });
  auto deny = outbound::Policy::Make({"loopback"}, {});
  ASSERT_OK(deny);
  std::optional<outbound::ScopedProcessPolicy> policy(std::in_place, *deny);
  AddSource("poll", {{"url", feed.Url("/feed")}, {"interval_seconds", 5}});
  EXPECT_EQ(producer_->RunDue(), 0);
  EXPECT_EQ(producer_->stats().poll_errors, 1u);
  EXPECT_EQ(producer_->stats().polls, 0u);
  EXPECT_EQ(internal::HttpGet(feed.Url("/feed"), {}, 1000, 1 << 20).error,
            "outbound policy refused 127.0.0.1 (outbound.deny_networks: loopback)");
  EXPECT_TRUE(feed.requests().empty());

  auto allow = outbound::Policy::Make({"loopback"}, {"127.0.0.1"});
  ASSERT_OK(allow);
  policy.reset();
  policy.emplace(*allow);
  clock_.Advance(5 * kSecond);
  EXPECT_EQ(producer_->RunDue(), 1);
  EXPECT_EQ(feed.requests().size(), 1u);
  EXPECT_EQ(Events().size(), 1u);
}

}  // namespace
}  // namespace triggerd::schedule
