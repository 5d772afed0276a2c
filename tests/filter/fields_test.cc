#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "filter/filter.h"
#include "test_util.h"

namespace triggerd::filter {
namespace {

using Fields = std::vector<std::string>;

Fields FieldsOf(std::string_view text) {
  auto compiled = Compile(text);
  EXPECT_TRUE(compiled.has_value()) << text;
  return compiled ? ReferencedFields(*compiled) : Fields{};
}

TEST(ReferencedFieldsTest, EmptyFilterReadsNothing) {
  EXPECT_EQ(FieldsOf(""), Fields{});
  EXPECT_EQ(ReferencedFields(CompiledFilter()), Fields{});
}

TEST(ReferencedFieldsTest, ListsEveryComparisonInOrderOfFirstAppearance) {
  EXPECT_EQ(FieldsOf(R"((and (eq "action" "opened")
                             (gt "pull_request.changed_files" 20)
                             (not (has-any "pull_request.labels.*.name" ("wip")))
                             (or (exists "pull_request.merged_at") (eq "action" "closed"))))"),
            (Fields{"action", "pull_request.changed_files", "pull_request.labels.*.name",
                    "pull_request.merged_at"}));
}

TEST(ReferencedFieldsTest, KeepsPathsAsWritten) {
  EXPECT_EQ(FieldsOf(R"((or (eq "commits[0].id" "a") (eq "commits.0.id" "a")
                            (gt "title.length" 3)))"),
            (Fields{"commits[0].id", "commits.0.id", "title.length"}));
}

TEST(ReferencedFieldsTest, SkipsHeadersEventAndSource) {
  EXPECT_EQ(FieldsOf(R"((and (eq "$headers.X-GitHub-Event" "push") (eq "$event" "push")
                             (eq "$source" "src_1") (starts-with "ref" "refs/tags/")))"),
            (Fields{"ref"}));
}

TEST(ReferencedFieldsTest, CoversEveryComparisonOperator) {
  EXPECT_EQ(FieldsOf(R"((and (eq "a" 1) (starts-with "b" "x") (contains "c" "x")
                             (ends-with "d" "x") (matches "e" "^x") (has "f" 1)
                             (has-all "g" (1)) (has-any "h" (1)) (in "i" (1)) (gt "j" 1)
                             (gte "k" 1) (lt "l" 1) (lte "m" 1) (exists "n")))"),
            (Fields{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"}));
}

}  // namespace
}  // namespace triggerd::filter
