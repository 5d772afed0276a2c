// Finding the expression in a model's answer: fenced or bare, with the rest as explanation.
#include <gtest/gtest.h>

#include "nlfilter/nlfilter.h"

namespace triggerd::nlfilter {
namespace {

TEST(ExtractTest, FencedBlockWithInfoString) {
  const Extracted e = ExtractExpression(
      "```filter\n(and (eq \"action\" \"opened\")\n     (gt \"pull_request.changed_files\" 20))\n"
      "```\nMatches opened PRs with more than 20 changed files.");
  EXPECT_EQ(e.expression,
            "(and (eq \"action\" \"opened\")\n     (gt \"pull_request.changed_files\" 20))");
  EXPECT_EQ(e.explanation, "Matches opened PRs with more than 20 changed files.");
}

TEST(ExtractTest, FencedBlockWithoutInfoStringAndTextBefore) {
  const Extracted e = ExtractExpression("Here it is:\n```\n(exists \"a\")\n```\n");
  EXPECT_EQ(e.expression, "(exists \"a\")");
  EXPECT_EQ(e.explanation, "Here it is:");
}

TEST(ExtractTest, FenceClosedOnTheSameLine) {
  EXPECT_EQ(ExtractExpression("```(eq \"a\" 1)```").expression, "(eq \"a\" 1)");
}

TEST(ExtractTest, SkipsBlocksWithoutAnExpression) {
  const Extracted e =
      ExtractExpression("```json\n{\"a\": 1}\n```\nthen\n```lisp\n(eq \"a\" 1)\n```");
  EXPECT_EQ(e.expression, "(eq \"a\" 1)");
}

TEST(ExtractTest, UnclosedFenceRunsToTheEnd) {
  EXPECT_EQ(ExtractExpression("```filter\n(eq \"a\" 1)\n").expression, "(eq \"a\" 1)");
}

TEST(ExtractTest, BareExpressionIsBalancedOverStringsAndComments) {
  const Extracted e = ExtractExpression(
      "The filter is (and (eq \"t\" \"a)b\") ; a comment with )\n (exists \"x\")) which "
      "matches.");
  EXPECT_EQ(e.expression, "(and (eq \"t\" \"a)b\") ; a comment with )\n (exists \"x\"))");
  EXPECT_EQ(e.explanation, "The filter is\nwhich matches.");
}

TEST(ExtractTest, EscapedQuoteDoesNotEndTheString) {
  EXPECT_EQ(ExtractExpression(R"((eq "t" "say \")\"") tail)").expression,
            R"((eq "t" "say \")\""))");
}

TEST(ExtractTest, UnbalancedBareExpressionIsKeptForTheCompilerToJudge) {
  EXPECT_EQ(ExtractExpression("(eq \"a\" 1").expression, "(eq \"a\" 1");
}

TEST(ExtractTest, NoExpressionAtAll) {
  const Extracted e = ExtractExpression("I cannot help with that.");
  EXPECT_TRUE(e.expression.empty());
  EXPECT_TRUE(ExtractExpression("").expression.empty());
  EXPECT_TRUE(ExtractExpression("```\n\n```").expression.empty());
}

TEST(ExtractTest, ExplanationIsBounded) {
  const std::string answer = "```\n(exists \"a\")\n```\n" + std::string(10'000, 'w');
  EXPECT_EQ(ExtractExpression(answer).explanation.size(), kMaxExplanationBytes);
}

}  // namespace
}  // namespace triggerd::nlfilter
