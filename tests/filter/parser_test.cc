#include "filter/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "filter_test_util.h"

namespace triggerd::filter::internal {
namespace {

using filter::testing::CompileErrorOf;

std::string ParseError(std::string_view text) {
  ParseResult result = Parse(text);
  return result.ok ? "parsed" : result.error.ToString();
}

TEST(FilterParserTest, BuildsNestedListsWithPositions) {
  ParseResult result = Parse("(and\n  (eq \"a\" 1))");
  ASSERT_TRUE(result.ok);
  ASSERT_TRUE(result.expression.has_value());
  const Sexp& root = *result.expression;
  ASSERT_EQ(root.kind, Sexp::Kind::kList);
  ASSERT_EQ(root.items.size(), 2u);
  const Sexp& eq = root.items[1];
  EXPECT_EQ(eq.pos.line, 2);
  EXPECT_EQ(eq.pos.column, 3);
  ASSERT_EQ(eq.items.size(), 3u);
  EXPECT_TRUE(eq.items[1].quoted);
  EXPECT_EQ(eq.items[2].kind, Sexp::Kind::kNumber);
}

TEST(FilterParserTest, EmptyWhitespaceAndCommentOnlyFiltersHaveNoExpression) {
  for (const char* text : {"", "   \n\t", "; nothing here\n  ; or here"}) {
    ParseResult result = Parse(text);
    EXPECT_TRUE(result.ok) << text;
    EXPECT_FALSE(result.expression.has_value()) << text;
  }
}

TEST(FilterParserTest, RejectsTrailingTextAfterExpression) {
  EXPECT_EQ(ParseError(R"((eq "action" "opened") trailing garbage)"),
            "1:24: unexpected text after the expression");
  EXPECT_EQ(ParseError("(exists \"x\")\n  (exists \"y\")"),
            "2:3: unexpected text after the expression");
  EXPECT_EQ(ParseError(R"f((eq "a" "(") ))f"), "1:14: unexpected text after the expression");
}

TEST(FilterParserTest, AllowsCommentsAfterExpression) {
  EXPECT_TRUE(Parse("(exists \"x\") ; why\n; more\n").ok);
}

TEST(FilterParserTest, RejectsEndOfInputInsideList) {
  // Dust's parser looped forever on this one.
  EXPECT_EQ(ParseError(R"f((eq "a" ")")f"), "1:1: \"(\" is never closed");
  EXPECT_EQ(ParseError(R"f((eq "a" "b")f"), "1:1: \"(\" is never closed");
  EXPECT_EQ(ParseError("(and (or (exists \"a\")"), "1:6: \"(\" is never closed");
}

TEST(FilterParserTest, RejectsUnexpectedCloseParenthesis) {
  EXPECT_EQ(ParseError(") (exists \"a\")"), "1:1: unexpected \")\"");
}

TEST(FilterParserTest, ReportsUnterminatedStringOnItsLine) {
  EXPECT_EQ(ParseError("(and (eq \"a\" \"b\")\n     (eq \"c\" \"d))"), "2:14: unterminated string");
}

std::string Nested(int depth) {
  std::string text;
  for (int i = 1; i < depth; ++i) text += "(not ";
  text += "(exists \"a\")";
  for (int i = 1; i < depth; ++i) text += ")";
  return text;
}

TEST(FilterParserTest, AcceptsNestingAtDepthLimit) {
  EXPECT_EQ(CompileErrorOf(Nested(kMaxDepth)), "compiled");
}

TEST(FilterParserTest, RejectsNestingBeyondDepthLimit) {
  EXPECT_EQ(ParseError(Nested(kMaxDepth + 1)), "1:321: nesting deeper than 64 levels");
}

TEST(FilterParserTest, CountsValueListsInDepth) {
  std::string deep_list = "(has \"a\" ";
  for (int i = 1; i < kMaxDepth; ++i) deep_list += "(";
  for (int i = 1; i < kMaxDepth; ++i) deep_list += ")";
  EXPECT_EQ(ParseError(deep_list + ")"), "parsed");
  EXPECT_EQ(ParseError("(has \"a\" (" + deep_list.substr(9) + "))"),
            "1:73: nesting deeper than 64 levels");
}

TEST(FilterParserTest, SurvivesHugeNestingWithoutRecursingDeeply) {
  std::string text(1 << 15, '(');
  EXPECT_EQ(ParseError(text), "1:65: nesting deeper than 64 levels");
}

TEST(FilterParserTest, RejectsInvalidUtf8WithItsPosition) {
  EXPECT_EQ(ParseError("(eq \"é\"\n  \"x\xff\")"), "2:5: the filter is not valid UTF-8");
  EXPECT_EQ(ParseError("; \xc0\xaf overlong in a comment"), "1:3: the filter is not valid UTF-8");
  EXPECT_EQ(ParseError("(eq \"\xed\xa0\x80\" 1)"), "1:6: the filter is not valid UTF-8");
  EXPECT_EQ(ParseError("(eq \"\xf0\x9f\x98\x80\" 1)"), "parsed");
}

TEST(FilterParserTest, AcceptsTextAtSizeLimit) {
  std::string text = "(exists \"a\")";
  text.resize(kMaxFilterBytes, ' ');
  EXPECT_TRUE(Parse(text).ok);
}

TEST(FilterParserTest, RejectsTextBeyondSizeLimit) {
  std::string text = "(exists \"a\")";
  text.resize(kMaxFilterBytes + 1, ' ');
  EXPECT_EQ(ParseError(text), "1:1: the filter is longer than 65536 bytes");
}

}  // namespace
}  // namespace triggerd::filter::internal
