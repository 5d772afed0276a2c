#include "filter/path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filter_test_util.h"

namespace triggerd::filter {
namespace {

using testing::Eval;

std::vector<std::string> Keys(std::string_view text) {
  internal::Path path;
  std::string error;
  EXPECT_TRUE(internal::CompilePath(text, &path, &error)) << error;
  std::vector<std::string> keys;
  for (const auto& segment : path.segments) keys.push_back(segment.key);
  return keys;
}

using Strings = std::vector<std::string>;

TEST(FilterPathTest, SplitsOnceAtCompileTime) {
  EXPECT_EQ(Keys("pull_request.head.ref"), (Strings{"pull_request", "head", "ref"}));
  EXPECT_EQ(Keys("commits[0].id"), (Strings{"commits", "0", "id"}));
  EXPECT_EQ(Keys("a[1][2]"), (Strings{"a", "1", "2"}));
  EXPECT_EQ(Keys("[0]"), (Strings{"0"}));
  EXPECT_EQ(Keys("tags.*.name"), (Strings{"tags", "*", "name"}));
  EXPECT_EQ(Keys("a..b"), (Strings{"a", "", "b"}));
  EXPECT_EQ(Keys("a."), (Strings{"a", ""}));
  EXPECT_EQ(Keys(""), (Strings{""}));
  EXPECT_EQ(Keys("a[b"), (Strings{"a[b"}));  // no closing bracket: an ordinary character
}

TEST(FilterPathTest, RecognisesSpecialSources) {
  internal::Path path;
  std::string error;
  ASSERT_TRUE(internal::CompilePath("$headers.X-GitHub-Event", &path, &error));
  EXPECT_EQ(path.source, internal::Path::Source::kHeader);
  EXPECT_EQ(path.header, "X-GitHub-Event");
  ASSERT_TRUE(internal::CompilePath("$event", &path, &error));
  EXPECT_EQ(path.source, internal::Path::Source::kEvent);
  ASSERT_TRUE(internal::CompilePath("$source", &path, &error));
  EXPECT_EQ(path.source, internal::Path::Source::kSource);
  ASSERT_TRUE(internal::CompilePath("$eventually", &path, &error));
  EXPECT_EQ(path.source, internal::Path::Source::kPayload);
}

TEST(FilterPathTest, DotsDescendIntoObjects) {
  EXPECT_TRUE(Eval(R"((eq "a.b.c" 1))", R"({"a": {"b": {"c": 1}}})"));
  EXPECT_FALSE(Eval(R"((eq "a.B.c" 1))", R"({"a": {"b": {"c": 1}}})"));
}

TEST(FilterPathTest, NumericSegmentIndexesArrays) {
  const char* payload = R"({"commits": [{"id": "a1"}, {"id": "b2"}]})";
  EXPECT_TRUE(Eval(R"((eq "commits.1.id" "b2"))", payload));
  EXPECT_TRUE(Eval(R"((eq "commits[0].id" "a1"))", payload));
  EXPECT_FALSE(Eval(R"((exists "commits.2.id"))", payload));
  EXPECT_FALSE(Eval(R"((exists "commits.01.id"))", payload));  // not a canonical index
}

TEST(FilterPathTest, NumericSegmentIsAKeyInObjects) {
  EXPECT_TRUE(Eval(R"((eq "a.0" "zero"))", R"({"a": {"0": "zero"}})"));
}

TEST(FilterPathTest, LengthOfArraysAndStrings) {
  EXPECT_TRUE(Eval(R"((eq "labels.length" 2))", R"({"labels": ["a", "b"]})"));
  EXPECT_TRUE(Eval(R"((eq "labels.length" 0))", R"({"labels": []})"));
  EXPECT_TRUE(Eval(R"((gt "title.length" 4))", R"({"title": "hello"})"));
  EXPECT_FALSE(Eval(R"((exists "n.length"))", R"({"n": 5})"));
  EXPECT_FALSE(Eval(R"((exists "labels.length.x"))", R"({"labels": []})"));
}

TEST(FilterPathTest, LengthCountsUtf16UnitsLikeJavaScript) {
  EXPECT_TRUE(Eval(R"((eq "s.length" 3))", R"({"s": "été"})"));
  EXPECT_TRUE(Eval(R"((eq "s.length" 2))", R"({"s": "😀"})"));
}

TEST(FilterPathTest, RealLengthKeyWins) {
  EXPECT_TRUE(Eval(R"((eq "o.length" "long"))", R"({"o": {"length": "long"}})"));
  EXPECT_FALSE(Eval(R"((exists "o.length"))", R"({"o": {"size": 1}})"));
}

TEST(FilterPathTest, LiteralKeyEqualToRemainingPathWins) {
  EXPECT_TRUE(Eval(R"((eq "a.b" 1))", R"({"a.b": 1, "a": {"b": 2}})"));
  EXPECT_TRUE(Eval(R"((eq "x.a.b" 1))", R"({"x": {"a.b": 1, "a": {"b": 2}}})"));
  EXPECT_TRUE(Eval(R"((eq "a.b" 2))", R"({"a": {"b": 2}})"));
  EXPECT_TRUE(Eval(R"((eq "tags.*.name" "lit"))", R"({"tags.*.name": "lit"})"));
  EXPECT_TRUE(Eval(R"((eq "a[0]" "lit"))", R"({"a[0]": "lit", "a": ["x"]})"));
}

TEST(FilterPathTest, WildcardMapsOverArrayElements) {
  const char* payload = R"({"tags": [{"name": "bug"}, {"id": 3}, {"name": null}, {"name": "ui"}]})";
  EXPECT_TRUE(Eval(R"((has "tags.*.name" "ui"))", payload));
  EXPECT_TRUE(Eval(R"((has "tags.*.name" null))", payload));  // nulls kept
  EXPECT_TRUE(Eval(R"((has-all "tags.*.name" ("bug" "ui")))", payload));
  EXPECT_FALSE(Eval(R"((has "tags.*.id" "bug"))", payload));
}

TEST(FilterPathTest, WildcardResultNeverEqualsScalar) {
  const char* payload = R"({"tags": [{"name": "bug"}], "n": [{"v": 5}]})";
  EXPECT_FALSE(Eval(R"((eq "tags.*.name" "bug"))", payload));
  EXPECT_FALSE(Eval(R"((starts-with "tags.*.name" "b"))", payload));
  EXPECT_FALSE(Eval(R"((gt "n.*.v" 1))", payload));
  EXPECT_FALSE(Eval(R"((in "tags.*.name" ("bug")))", payload));
}

TEST(FilterPathTest, WildcardOverEmptyArrayExists) {
  EXPECT_TRUE(Eval(R"((exists "tags.*.name"))", R"({"tags": []})"));
  EXPECT_FALSE(Eval(R"((has "tags.*.name" "x"))", R"({"tags": []})"));
}

TEST(FilterPathTest, WildcardOverNonArrayIsMissing) {
  EXPECT_FALSE(Eval(R"((exists "user.*.name"))", R"({"user": {"name": "value"}})"));
  EXPECT_FALSE(Eval(R"((exists "user.*"))", R"({"user": "x"})"));
}

TEST(FilterPathTest, TrailingWildcardYieldsElements) {
  EXPECT_TRUE(Eval(R"((has "tags.*" "bug"))", R"({"tags": ["bug"]})"));
  EXPECT_TRUE(Eval(R"((has-any "tags.*" ("x" 2)))", R"({"tags": [1, 2]})"));
}

TEST(FilterPathTest, SeveralWildcardsFlatten) {
  const char* payload =
      R"({"commits": [{"files": ["a.cc", "b.cc"]}, {"files": ["README.md"]}, {"files": "x"},
                      {"nofiles": 1}]})";
  EXPECT_TRUE(Eval(R"((has "commits.*.files.*" "README.md"))", payload));
  EXPECT_TRUE(Eval(R"((has-all "commits.*.files.*" ("a.cc" "README.md")))", payload));
  EXPECT_FALSE(Eval(R"((has "commits.*.files.*" "x"))", payload));  // "x" is not an array
  EXPECT_TRUE(Eval(R"((has "a.*.b.*.c" 1))", R"({"a": [{"b": [{"c": 1}]}]})"));
}

TEST(FilterPathTest, SingleWildcardDoesNotFlattenInnerArrays) {
  EXPECT_FALSE(Eval(R"((has "commits.*.files" "a.cc"))", R"({"commits": [{"files": ["a.cc"]}]})"));
}

TEST(FilterPathTest, LengthThroughWildcard) {
  EXPECT_TRUE(Eval(R"((has "tags.*.name.length" 3))", R"({"tags": [{"name": "bug"}]})"));
}

TEST(FilterPathTest, HeadersAreCaseInsensitive) {
  Headers headers = {{"X-GitHub-Event", "pull_request"}, {"Content-Type", "application/json"}};
  EXPECT_TRUE(Eval(R"((eq "$headers.x-github-event" "pull_request"))", "{}", &headers));
  EXPECT_TRUE(Eval(R"((eq "$headers.X-GITHUB-EVENT" "pull_request"))", "{}", &headers));
  EXPECT_FALSE(Eval(R"((exists "$headers.x-missing"))", "{}", &headers));
  EXPECT_FALSE(Eval(R"((exists "$headers.x-github-event"))", "{}", nullptr));
  EXPECT_TRUE(Eval(R"((starts-with "$headers.content-type" "application/"))", "{}", &headers));
}

TEST(FilterPathTest, HeaderPathDoesNotReadPayload) {
  EXPECT_FALSE(Eval(R"((exists "$headers.a"))", R"({"$headers": {"a": 1}, "$headers.a": 1})"));
}

TEST(FilterPathTest, EventAndSourceComeFromContext) {
  EXPECT_TRUE(Eval(R"((eq "$event" "pull_request"))", "{}", nullptr, "pull_request", "src_1"));
  EXPECT_TRUE(Eval(R"((eq "$source" "src_1"))", "{}", nullptr, "pull_request", "src_1"));
  EXPECT_FALSE(Eval(R"((exists "$event"))", R"({"$event": "x"})"));
}

TEST(FilterPathTest, TopLevelArrayPayload) {
  EXPECT_TRUE(Eval(R"((eq "0.a" 1))", R"([{"a": 1}])"));
  EXPECT_TRUE(Eval(R"((has "*.a" 1))", R"([{"a": 1}])"));
}

}  // namespace
}  // namespace triggerd::filter
