// A poll's new items against its cursor (schedule/internal.h ScanFeed): ids seen in the previous
// answer, a timestamp cursor with ties, feed order, and the per-poll cap.
#include <gmock/gmock.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "schedule/internal.h"
#include "test_util.h"

namespace triggerd::schedule::internal {
namespace {

namespace json = boost::json;

std::vector<std::string> Ids(const FeedScan& scan) {
  std::vector<std::string> ids;
  for (const auto& item : scan.fresh) ids.push_back(item.id);
  return ids;
}

PollConfig Config(const std::string& items_path, const std::string& cursor_field = "") {
  PollConfig config;
  config.url = "http://127.0.0.1/feed";
  config.items_path = items_path;
  config.cursor_field = cursor_field;
  return config;
}

TEST(FeedTest, OnlyItemsNotSeenBeforeAreNewAcrossPolls) {
  PollConfig config = Config("data.items");
  auto first = ScanFeed(config, json::parse(R"({"data":{"items":[{"id":"a"},{"id":"b"}]}})"), {},
                        1000);
  ASSERT_OK(first);
  EXPECT_EQ(Ids(*first), (std::vector<std::string>{"a", "b"}));
  // The feed changes: b again, and c, d, e.
  auto second = ScanFeed(
      config,
      json::parse(R"({"data":{"items":[{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}]}})"),
      first->next_cursor, 1000);
  ASSERT_OK(second);
  EXPECT_EQ(Ids(*second), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(json::serialize(second->next_cursor.at("last_id")), "\"e\"");
  // Nothing changed: nothing new.
  auto third = ScanFeed(
      config,
      json::parse(R"({"data":{"items":[{"id":"b"},{"id":"c"},{"id":"d"},{"id":"e"}]}})"),
      second->next_cursor, 1000);
  ASSERT_OK(third);
  EXPECT_TRUE(third->fresh.empty());
}

TEST(FeedTest, IntegerIdsNestedIdFieldsAndUnusableItems) {
  PollConfig config = Config("");
  config.id_field = "meta.id";
  auto scan = ScanFeed(config,
                       json::parse(R"([{"meta":{"id":7}},{"meta":{}},"text",{"meta":{"id":7}},
                                       {"meta":{"id":"x"}}])"),
                       {}, 1000);
  ASSERT_OK(scan);
  EXPECT_EQ(Ids(*scan), (std::vector<std::string>{"7", "x"}));  // 7 listed twice: once
  EXPECT_EQ(scan->skipped, 2);
}

TEST(FeedTest, NewestFirstFeedsAreAppendedOldestFirst) {
  PollConfig config = Config("items");
  config.newest_first = true;
  auto scan = ScanFeed(config, json::parse(R"({"items":[{"id":3},{"id":2},{"id":1}]})"), {}, 1000);
  ASSERT_OK(scan);
  EXPECT_EQ(Ids(*scan), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(FeedTest, TimestampCursorTakesItemsAboveItAndUnseenTiesAtIt) {
  PollConfig config = Config("items", "updated");
  auto first = ScanFeed(config, json::parse(R"({"items":[
      {"id":"b","updated":"2026-01-01T10:00:02Z"},{"id":"a","updated":"2026-01-01T10:00:01Z"}]})"),
                        {}, 1000);
  ASSERT_OK(first);
  EXPECT_EQ(Ids(*first), (std::vector<std::string>{"a", "b"}));  // sorted by the cursor field
  EXPECT_EQ(json::serialize(first->next_cursor.at("cursor")), "\"2026-01-01T10:00:02Z\"");
  // "a" dropped out of the feed: the cursor still says it is old. "c" ties with "b".
  auto second = ScanFeed(config, json::parse(R"({"items":[
      {"id":"a","updated":"2026-01-01T10:00:01Z"},{"id":"c","updated":"2026-01-01T10:00:02Z"},
      {"id":"b","updated":"2026-01-01T10:00:02Z"},{"id":"d","updated":"2026-01-01T10:00:03Z"}]})"),
                         json::object{{"cursor", first->next_cursor.at("cursor")},
                                      {"ids_at_cursor", first->next_cursor.at("ids_at_cursor")}},
                         1000);
  ASSERT_OK(second);
  EXPECT_EQ(Ids(*second), (std::vector<std::string>{"c", "d"}));
}

// With a cursor field the delivery id names the item's version: an update above the cursor is a
// new event, the same version fetched again the same delivery id (so a duplicate in the store).
TEST(FeedTest, WithACursorFieldTheDeliveryIdCarriesTheCursorValue) {
  PollConfig config = Config("", "updated_at");
  auto first = ScanFeed(config, json::parse(R"([{"id":"b","updated_at":"2026-01-05T10:00:00Z"},
      {"id":7,"updated_at":12},{"id":"n"}])"), {}, 1000);
  ASSERT_OK(first);
  std::vector<std::string> delivery;
  for (const auto& item : first->fresh) delivery.push_back(item.delivery_id);
  // (A string and a number do not compare: the feed's order.) No cursor value: the id alone.
  EXPECT_EQ(delivery, (std::vector<std::string>{"item:b@2026-01-05T10:00:00Z", "item:7@12",
                                                "item:n"}));
  auto second = ScanFeed(config, json::parse(R"([{"id":"b","updated_at":"2026-01-06T08:00:00Z"}])"),
                         first->next_cursor, 1000);
  ASSERT_OK(second);
  ASSERT_EQ(second->fresh.size(), 1u);
  EXPECT_EQ(second->fresh[0].delivery_id, "item:b@2026-01-06T08:00:00Z");
  // The cursor moved to that version; the same answer again has nothing new (b was taken at the
  // old position too, which must not keep it out of the ids taken at the new one).
  auto third = ScanFeed(config, json::parse(R"([{"id":"b","updated_at":"2026-01-06T08:00:00Z"}])"),
                        second->next_cursor, 1000);
  ASSERT_OK(third);
  EXPECT_TRUE(third->fresh.empty()) << json::serialize(second->next_cursor);
  // Without a cursor field: the id alone.
  auto plain = ScanFeed(Config(""), json::parse(R"([{"id":"b","updated_at":"x"}])"), {}, 1000);
  ASSERT_OK(plain);
  EXPECT_EQ(plain->fresh.at(0).delivery_id, "item:b");
  // A value too long for the store's 256-byte delivery ids is named by its digest.
  const std::string id(200, 'i');
  json::array long_item{json::object{{"id", id}, {"updated_at", std::string(100, 'v')}}};
  auto hashed = ScanFeed(config, long_item, {}, 1000);
  ASSERT_OK(hashed);
  const std::string& hashed_id = hashed->fresh.at(0).delivery_id;
  EXPECT_LE(hashed_id.size(), 256u);
  EXPECT_THAT(hashed_id, ::testing::StartsWith("item:" + id + "@sha256:"));
}

// Ids are compared as text: 1 and "1" are one item; what has no id is counted, not hidden.
TEST(FeedTest, IdsAreComparedAsTextAndItemsWithoutOneAreCounted) {
  auto scan = ScanFeed(Config(""), json::parse(R"([{"id":1},{"id":"1"},{"key":2}])"), {}, 1000);
  ASSERT_OK(scan);
  EXPECT_EQ(Ids(*scan), (std::vector<std::string>{"1"}));
  EXPECT_EQ(scan->total, 3);
  EXPECT_EQ(scan->skipped, 1);
}

TEST(FeedTest, ItemsBeyondTheCapWaitForTheNextPoll) {
  PollConfig config = Config("");
  auto first = ScanFeed(config, json::parse(R"([{"id":1},{"id":2},{"id":3}])"), {}, 2);
  ASSERT_OK(first);
  EXPECT_EQ(Ids(*first), (std::vector<std::string>{"1", "2"}));
  auto second =
      ScanFeed(config, json::parse(R"([{"id":1},{"id":2},{"id":3}])"), first->next_cursor, 2);
  ASSERT_OK(second);
  EXPECT_EQ(Ids(*second), (std::vector<std::string>{"3"}));
}

TEST(FeedTest, RefusesADocumentWithoutAnArrayAtThePath) {
  auto scan = ScanFeed(Config("data.items"), json::parse(R"({"data":{"items":{}}})"), {}, 10);
  ASSERT_FALSE(scan.has_value());
  EXPECT_THAT(scan.error().message(), ::testing::HasSubstr("data.items"));
}

TEST(FeedTest, FindPathWalksObjectsAndArrayIndexes) {
  json::value doc = json::parse(R"({"a":{"b":[{"c":1},{"c":2}]}})");
  ASSERT_NE(FindPath(doc, "a.b.1.c"), nullptr);
  EXPECT_EQ(FindPath(doc, "a.b.1.c")->as_int64(), 2);
  EXPECT_EQ(FindPath(doc, "a.b.2.c"), nullptr);
  EXPECT_EQ(FindPath(doc, "a.x"), nullptr);
  EXPECT_EQ(FindPath(doc, ""), &doc);
}

}  // namespace
}  // namespace triggerd::schedule::internal
