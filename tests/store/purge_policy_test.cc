// The retention policy (store/purge_policy.h) on an in-memory table: what one Purge step deletes,
// empties and keeps. The contract tests run it end to end on both backends.
#include "store/purge_policy.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace triggerd::store {
namespace {

struct FakeEvent {
  int64_t seq;
  int64_t received_at;
  bool live_runs = false;
  bool body_emptied = false;
};

class FakePurgeTable final : public PurgeTable {
 public:
  std::vector<FakeEvent> events;  // by seq
  std::vector<int64_t> deleted, emptied;

  // PurgeTable
  Result<std::vector<PurgeCandidate>> OldEvents(int64_t before, int64_t after, int limit) override {
    std::vector<PurgeCandidate> out;
    for (const FakeEvent& e : events) {
      if (e.received_at < before && e.seq > after && static_cast<int>(out.size()) < limit) {
        out.push_back({e.seq, "evt_" + std::to_string(e.seq), "ws", e.body_emptied});
      }
    }
    return out;
  }
  Result<bool> HasLiveRuns(std::string_view, std::string_view event_id) override {
    for (const FakeEvent& e : events) {
      if ("evt_" + std::to_string(e.seq) == event_id) return e.live_runs;
    }
    return false;
  }
  Result<int64_t> DeleteEvent(const PurgeCandidate& event) override {
    deleted.push_back(event.seq);
    std::erase_if(events, [&](const FakeEvent& e) { return e.seq == event.seq; });
    return 2;
  }
  Status EmptyBody(int64_t seq) override {
    emptied.push_back(seq);
    for (FakeEvent& e : events) {
      if (e.seq == seq) e.body_emptied = true;
    }
    return Status::Ok();
  }
};

TEST(PurgePolicyTest, DeletesOldEventsInBoundedStepsKeepingThoseWithLiveRuns) {
  FakePurgeTable table;
  table.events = {{1, 10}, {2, 11, true}, {3, 12}, {4, 13}, {5, 99}};
  Result<PurgeResult> first = PurgeStep(table, {50, 0, 2, 0});
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(table.deleted, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(first->events_deleted, 2);
  EXPECT_EQ(first->runs_deleted, 4);
  EXPECT_TRUE(first->more);
  Result<PurgeResult> second = PurgeStep(table, {50, 0, 2, 0});
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(table.deleted, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_FALSE(second->more);
}

TEST(PurgePolicyTest, EmptiesBodiesFromTheCursorAndStopsAtAnEventWithLiveRuns) {
  FakePurgeTable table;
  table.events = {{1, 10, false, true}, {2, 11}, {3, 12, true}, {4, 13}};
  Result<PurgeResult> step = PurgeStep(table, {0, 50, 10, 0});
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(table.emptied, (std::vector<int64_t>{2}));
  EXPECT_EQ(step->bodies_emptied, 1);
  EXPECT_EQ(step->bodies_after_seq, 2);  // the event with live runs is looked at again next time
  EXPECT_FALSE(step->more);
}

TEST(PurgePolicyTest, BodiesWaitForTheDeletesToFinish) {
  FakePurgeTable table;
  table.events = {{1, 10}, {2, 11}, {3, 12}};
  Result<PurgeResult> step = PurgeStep(table, {50, 50, 1, 0});
  ASSERT_TRUE(step.has_value());
  EXPECT_TRUE(step->more);
  EXPECT_TRUE(table.emptied.empty());
}

}  // namespace
}  // namespace triggerd::store
