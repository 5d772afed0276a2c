#include "filter/compile.h"

#include <gtest/gtest.h>

#include <string>

#include "filter/filter.h"
#include "filter_test_util.h"
#include "test_util.h"

namespace triggerd::filter {
namespace {

using testing::CompileErrorOf;

TEST(FilterCompileTest, ReturnsInvalidFilterStatusWithPosition) {
  CompileError error;
  Result<CompiledFilter> compiled = Compile("(and (eq \"a\" 1)\n     (eqq \"number\" 7))", &error);
  ASSERT_FALSE(compiled.has_value());
  EXPECT_EQ(compiled.error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(compiled.error().code(), "invalid_filter");
  EXPECT_EQ(compiled.error().message(), "2:7: unknown operator \"eqq\"");
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.column, 7);
  EXPECT_EQ(error.message, "unknown operator \"eqq\"");
}

TEST(FilterCompileTest, EmptyFilterMatchesEverything) {
  for (const char* text : {"", "  \n ", "; only a comment"}) {
    Result<CompiledFilter> compiled = Compile(text);
    ASSERT_OK(compiled);
    EXPECT_TRUE(compiled->matches_everything());
  }
  EXPECT_TRUE(CompiledFilter().matches_everything());
}

TEST(FilterCompileTest, RejectsUnknownOperator) {
  EXPECT_EQ(CompileErrorOf("(or (eqq \"a\" 1))"), "1:6: unknown operator \"eqq\"");
  EXPECT_EQ(CompileErrorOf("(unknown \"field\" \"value\")"), "1:2: unknown operator \"unknown\"");
}

TEST(FilterCompileTest, OperatorsAreCaseSensitive) {
  EXPECT_EQ(CompileErrorOf("(EQ \"a\" 1)"), "1:2: unknown operator \"EQ\"");
}

TEST(FilterCompileTest, AcceptsQuotedOperator) {
  EXPECT_EQ(CompileErrorOf("(\"eq\" \"a\" 1)"), "compiled");
}

TEST(FilterCompileTest, RejectsNonNameOperators) {
  EXPECT_EQ(CompileErrorOf("(42 \"a\")"), "1:2: unknown operator \"42\"");
  EXPECT_EQ(CompileErrorOf("(true)"), "1:2: unknown operator \"true\"");
  EXPECT_EQ(CompileErrorOf("((eq \"a\" 1))"), "1:2: expected an operator name, found a list");
}

TEST(FilterCompileTest, RejectsEmptyExpression) {
  EXPECT_EQ(CompileErrorOf("()"), "1:1: empty expression \"()\"");
}

TEST(FilterCompileTest, RejectsBareValueAtTopLevel) {
  EXPECT_EQ(CompileErrorOf("\"eq\""), "1:1: expected an expression in parentheses");
  EXPECT_EQ(CompileErrorOf("true"), "1:1: expected an expression in parentheses");
}

TEST(FilterCompileTest, ChecksNotArity) {
  EXPECT_EQ(CompileErrorOf("(not (eq \"a\" \"1\") (eq \"b\" \"2\"))"),
            "1:1: not requires exactly one expression");
  EXPECT_EQ(CompileErrorOf("(not)"), "1:1: not requires exactly one expression");
}

TEST(FilterCompileTest, RejectsValuesAsLogicalOperands) {
  EXPECT_EQ(CompileErrorOf("(and (eq \"a\" 1) \"x\")"), "1:17: and takes expressions, not values");
  EXPECT_EQ(CompileErrorOf("(not \"x\")"), "1:6: not takes expressions, not values");
  EXPECT_EQ(CompileErrorOf("(or 1)"), "1:5: or takes expressions, not values");
}

TEST(FilterCompileTest, AcceptsEmptyAndOr) {
  EXPECT_EQ(CompileErrorOf("(and)"), "compiled");
  EXPECT_EQ(CompileErrorOf("(or)"), "compiled");
}

TEST(FilterCompileTest, ChecksComparisonArity) {
  EXPECT_EQ(CompileErrorOf("(eq)"), "1:1: eq requires a field and a value");
  EXPECT_EQ(CompileErrorOf("(gt \"a\")"), "1:1: gt requires a field and a value");
  EXPECT_EQ(CompileErrorOf("(starts-with \"a\" \"b\" \"c\")"),
            "1:1: starts-with requires a field and a value");
  EXPECT_EQ(CompileErrorOf("(exists \"field\" \"extra\")"),
            "1:1: exists requires exactly one field");
  EXPECT_EQ(CompileErrorOf("(exists)"), "1:1: exists requires exactly one field");
  EXPECT_EQ(CompileErrorOf("(in \"a\")"), "1:1: in requires a field and a list of values");
}

TEST(FilterCompileTest, RequiresStringField) {
  EXPECT_EQ(CompileErrorOf("(eq 123 456)"), "1:5: field must be a string for eq");
  EXPECT_EQ(CompileErrorOf("(exists true)"), "1:9: field must be a string for exists");
  EXPECT_EQ(CompileErrorOf("(has (\"a\") 1)"), "1:6: field must be a string for has");
  EXPECT_EQ(CompileErrorOf("(eq action opened)"), "compiled");  // bare atoms are strings
}

TEST(FilterCompileTest, RequiresNonEmptyListForListOperators) {
  EXPECT_EQ(CompileErrorOf("(has-all \"f\" ())"),
            "1:14: has-all requires a non-empty list of values");
  EXPECT_EQ(CompileErrorOf("(has-all \"f\" \"single\")"),
            "1:14: has-all requires a non-empty list of values");
  EXPECT_EQ(CompileErrorOf("(has-any \"f\" ())"),
            "1:14: has-any requires a non-empty list of values");
  EXPECT_EQ(CompileErrorOf("(in \"f\" 1)"), "1:9: in requires a non-empty list of values");
  EXPECT_EQ(CompileErrorOf("(in \"f\" (1 \"a\" true null))"), "compiled");
}

TEST(FilterCompileTest, RequiresStringForStringOperators) {
  EXPECT_EQ(CompileErrorOf("(starts-with \"a\" 5)"),
            "1:18: value must be a string for starts-with");
  EXPECT_EQ(CompileErrorOf("(contains \"a\" (\"x\"))"),
            "1:15: value must be a string for contains");
  EXPECT_EQ(CompileErrorOf("(ends-with \"a\" null)"), "1:16: value must be a string for ends-with");
  EXPECT_EQ(CompileErrorOf("(ends-with a b)"), "compiled");
}

TEST(FilterCompileTest, NumberBeyondDoubleRangeIsNotANumber) {
  EXPECT_EQ(CompileErrorOf("(gt \"a\" 1e999)"), "1:9: value must be a number for gt");
}

TEST(FilterCompileTest, RequiresNumberForOrderingOperators) {
  EXPECT_EQ(CompileErrorOf("(gt \"a\" \"5\")"), "1:9: value must be a number for gt");
  EXPECT_EQ(CompileErrorOf("(lte \"a\" true)"), "1:10: value must be a number for lte");
  EXPECT_EQ(CompileErrorOf("(gte \"a\" 0x10)"), "compiled");
}

TEST(FilterCompileTest, AcceptsAnyLiteralForEqAndHas) {
  for (const char* text : {"(eq a 1)", "(eq a \"1\")", "(eq a true)", "(eq a null)",
                           "(eq a (\"x\"))", "(has a null)", "(has-any a ((\"x\")))"}) {
    EXPECT_EQ(CompileErrorOf(text), "compiled") << text;
  }
}

// A list where one value belongs compiles (Dust's filters do; vectors dust-096/097), but never
// matches: said as a warning with the comparison's place, so the trigger's author learns it.
TEST(FilterCompileTest, ListsThatNeverMatchAreWarnedAboutNotRefused) {
  auto warnings_of = [](const std::string& text) {
    auto compiled = Compile(text);
    EXPECT_TRUE(compiled.has_value()) << text;
    return compiled ? Warnings(*compiled) : std::vector<std::string>{};
  };
  EXPECT_EQ(warnings_of("(eq \"action\" (\"opened\" \"closed\"))"),
            std::vector<std::string>{"1:1: eq with a list never matches (a payload value is never "
                                     "a list literal): use in for several values"});
  auto has = warnings_of("(and (eq \"a\" 1)\n  (has \"labels\" (\"bug\")))");
  ASSERT_EQ(has.size(), 1u);
  EXPECT_EQ(has[0].rfind("2:3: has with a list never matches", 0), 0u) << has[0];
  EXPECT_NE(has[0].find("use has-any or has-all"), std::string::npos);
  auto nested = warnings_of("(has-any \"x\" ((\"a\") \"b\"))");
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0], "1:1: has-any with a list inside its values: that item never matches");
  for (const char* fine : {"(eq a 1)", "(in a (1 2))", "(has-all a (\"x\" \"y\"))",
                           "(not (has a \"x\"))", ""}) {
    EXPECT_TRUE(warnings_of(fine).empty()) << fine;
  }
}

TEST(FilterCompileTest, CompilesRegexAndRejectsBadOnes) {
  EXPECT_EQ(CompileErrorOf("(matches \"t\" \"^Fix (race|leak)\\\\b\")"), "compiled");
  EXPECT_EQ(CompileErrorOf("(matches \"t\" \"(unclosed\")"),
            "1:14: invalid regular expression for matches: missing ): (unclosed");
  EXPECT_EQ(CompileErrorOf("(matches \"t\" 5)"),
            "1:14: regular expression must be a string for matches");
}

TEST(FilterCompileTest, RejectsRegexNeedingTooMuchMemory) {
  std::string message = CompileErrorOf("(matches \"t\" \"((((a{100}){100}){100}){100})\")");
  EXPECT_NE(message.find("invalid regular expression for matches"), std::string::npos) << message;
}

TEST(FilterCompileTest, LimitsRegexCount) {
  std::string text = "(or";
  for (int i = 0; i < kMaxRegexes; ++i) text += " (matches \"t\" \"x\")";
  EXPECT_EQ(CompileErrorOf(text + ")"), "compiled");
  EXPECT_EQ(
      CompileErrorOf(text + " (matches \"t\" \"x\"))"),
      "1:" + std::to_string(text.size() + 15) + ": more than 32 regular expressions in one filter");
}

TEST(FilterCompileTest, LimitsPathSegments) {
  std::string path = "a";
  for (int i = 1; i < kMaxPathSegments; ++i) path += ".a";
  EXPECT_EQ(CompileErrorOf("(exists \"" + path + "\")"), "compiled");
  EXPECT_EQ(CompileErrorOf("(exists \"" + path + ".a\")"),
            "1:9: field path has more than 64 segments");
}

TEST(FilterCompileTest, CompiledFilterIsCheapToCopyAndShare) {
  Result<CompiledFilter> compiled = Compile("(eq \"a\" 1)");
  ASSERT_OK(compiled);
  CompiledFilter copy = *compiled;
  boost::json::value payload = testing::Json(R"({"a": 1})");
  EXPECT_TRUE(*Evaluate(copy, {payload}));
  EXPECT_TRUE(*Evaluate(*compiled, {payload}));
}

// Issue 18, item 2: `a[ab]{1000}c` compiles within RE2's memory limit, but its program of ~1000
// instructions runs every byte through each in RE2's NFA (seconds over 450 KB).
TEST(FilterCompileTest, RefusesRegexProgramsOverTheSizeCap) {
  std::string message = testing::CompileErrorOf(R"((matches "t" "a[ab]{1000}c"))");
  EXPECT_NE(message.find("1:14: regular expression for matches is too large"), std::string::npos)
      << message;
  EXPECT_NE(message.find("at most 1000"), std::string::npos) << message;
  EXPECT_EQ(testing::CompileErrorOf(R"((matches "t" "a[ab]{900}c"))"), "compiled");
  EXPECT_EQ(testing::CompileErrorOf(
                R"((matches "m" "^(feat|fix|chore|docs|refactor|test|perf|ci|build|style)(\\([a-z0-9-]+\\))?!?: .{1,72}$"))"),
            "compiled");
}

}  // namespace
}  // namespace triggerd::filter
