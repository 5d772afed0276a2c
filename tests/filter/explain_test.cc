#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <string>

#include "filter/filter.h"
#include "filter_test_util.h"
#include "test_util.h"

namespace triggerd::filter {
namespace {

boost::json::value ExplainOf(std::string_view filter, std::string_view payload,
                             const Headers* headers = nullptr) {
  Result<CompiledFilter> compiled = Compile(filter);
  EXPECT_TRUE(compiled.has_value()) << compiled.status().ToString();
  if (!compiled) return nullptr;
  boost::json::value v = testing::Json(payload);
  Result<boost::json::value> explained = Explain(*compiled, {v, headers, "", ""});
  EXPECT_TRUE(explained.has_value()) << explained.status().ToString();
  return explained ? *explained : boost::json::value(nullptr);
}

TEST(FilterExplainTest, ReportsEveryClauseWithFieldFoundAndExpected) {
  boost::json::value got =
      ExplainOf("(and (eq \"action\" \"opened\")\n     (gt \"pull_request.changed_files\" 20))",
                R"({"action": "opened", "pull_request": {"changed_files": 3}})");
  EXPECT_EQ(got, testing::Json(R"({
    "result": false,
    "expression": {"op": "and", "result": false, "line": 1, "column": 1, "children": [
      {"op": "eq", "result": true, "field": "action", "expected": "opened", "found": "opened",
       "line": 1, "column": 6},
      {"op": "gt", "result": false, "field": "pull_request.changed_files", "expected": 20,
       "found": 3, "line": 2, "column": 6}
    ]}})"))
      << boost::json::serialize(got);
}

TEST(FilterExplainTest, MarksMissingFields) {
  boost::json::value got = ExplainOf("(not (exists \"merged_by\"))", "{}");
  const boost::json::object& child = got.at("expression").at("children").at(0).as_object();
  EXPECT_EQ(got.at("result"), true);
  EXPECT_EQ(child.at("missing"), true);
  EXPECT_FALSE(child.contains("found"));
  EXPECT_FALSE(child.contains("expected"));  // exists has no expected value
}

TEST(FilterExplainTest, ExplainsEveryChildWithoutShortCircuit) {
  boost::json::value got = ExplainOf("(or (eq a 1) (eq b 2))", R"({"a": 1, "b": 3})");
  const boost::json::array& children = got.at("expression").at("children").as_array();
  ASSERT_EQ(children.size(), 2u);
  EXPECT_EQ(children[0].at("result"), true);
  EXPECT_EQ(children[1].at("result"), false);
  EXPECT_EQ(children[1].at("found"), 3);
}

TEST(FilterExplainTest, ShowsWildcardResultsAsArray) {
  boost::json::value got = ExplainOf(R"((has "tags.*.name" "ui"))",
                                     R"({"tags": [{"name": "bug"}, {"id": 1}, {"name": "ui"}]})");
  EXPECT_EQ(got.at("expression").at("found"), testing::Json(R"(["bug", "ui"])"));
  EXPECT_EQ(got.at("result"), true);
}

TEST(FilterExplainTest, ShowsListsLengthsAndHeaders) {
  Headers headers = {{"X-GitHub-Event", "push"}};
  boost::json::value got = ExplainOf(
      R"((and (in "a" ("x" "y")) (eq "l.length" 2) (eq "$headers.x-github-event" "push")))",
      R"({"a": "y", "l": [1, 2]})", &headers);
  const boost::json::array& children = got.at("expression").at("children").as_array();
  EXPECT_EQ(children[0].at("expected"), testing::Json(R"(["x", "y"])"));
  EXPECT_EQ(children[1].at("found"), 2);
  EXPECT_EQ(children[2].at("found"), "push");
  EXPECT_EQ(got.at("result"), true);
}

TEST(FilterExplainTest, RepairsHeaderValuesThatAreNotUtf8) {
  Headers headers = {{"X-Raw", "a\xff"}};
  boost::json::value got = ExplainOf(R"((exists "$headers.x-raw"))", "{}", &headers);
  EXPECT_EQ(got.at("expression").at("found"), "a\xEF\xBF\xBD");
}

TEST(FilterExplainTest, TruncatesFoundValuesPastBudget) {
  // 2,000 clauses naming a ~2 KB object would copy ~4 MB; the budget is 1 MiB.
  std::string payload = R"({"big": {"s": ")" + std::string(2000, 'x') + R"("}, "l": [")" +
                        std::string(2000, 'y') + R"("]})";
  std::string filter = "(and";
  for (int i = 0; i < 1000; ++i) filter += R"( (exists "big") (has "l.*" "z"))";
  filter += ")";
  boost::json::value got = ExplainOf(filter, payload);
  const boost::json::array& children = got.at("expression").at("children").as_array();
  ASSERT_EQ(children.size(), 2000u);
  EXPECT_EQ(children.front().at("found").at("s").as_string().size(), 2000u);
  const boost::json::object& last_exists = children[1998].as_object();
  EXPECT_FALSE(last_exists.contains("found"));
  EXPECT_EQ(last_exists.at("found_truncated"), true);
  EXPECT_EQ(last_exists.at("found_kind"), "object");
  EXPECT_EQ(last_exists.at("found_size"), 1);
  const boost::json::object& last_has = children[1999].as_object();
  EXPECT_EQ(last_has.at("found_kind"), "array");
  EXPECT_EQ(last_has.at("found_size"), 1);
  EXPECT_EQ(got.at("result"), false);
}

TEST(FilterExplainTest, EchoesInfinitePayloadNumbersAsPrintableJson) {
  // Boost.JSON reads 1e999 as an infinite double, which JSON cannot print.
  boost::json::value got = ExplainOf(R"((exists "n"))", R"({"n": {"a": [1e999, -1e999]}})");
  EXPECT_EQ(got.at("expression").at("found"), testing::Json(R"({"a": ["Infinity", "-Infinity"]})"));
  boost::system::error_code ec;
  boost::json::parse(boost::json::serialize(got), ec);
  EXPECT_FALSE(ec);
}

TEST(FilterExplainTest, EmptyFilterExplainsAsMatchAll) {
  EXPECT_EQ(ExplainOf("", "{}"), testing::Json(R"({"result": true, "expression": null})"));
}

}  // namespace
}  // namespace triggerd::filter
