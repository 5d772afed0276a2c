#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "filter/filter.h"
#include "filter_test_util.h"
#include "test_util.h"

namespace triggerd::filter {
namespace {

using testing::Eval;

TEST(FilterEvalTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(Eval("", "{}"));
  EXPECT_TRUE(Eval("  ; comment only", "[1]"));
}

TEST(FilterEvalTest, AndOrNot) {
  const char* payload = R"({"a": 1, "b": 2})";
  EXPECT_TRUE(Eval("(and (eq a 1) (eq b 2))", payload));
  EXPECT_FALSE(Eval("(and (eq a 1) (eq b 3))", payload));
  EXPECT_TRUE(Eval("(or (eq a 5) (eq b 2))", payload));
  EXPECT_FALSE(Eval("(or (eq a 5) (eq b 5))", payload));
  EXPECT_TRUE(Eval("(and)", payload));
  EXPECT_FALSE(Eval("(or)", payload));
  EXPECT_TRUE(Eval("(not (eq a 2))", payload));
  EXPECT_TRUE(Eval("(not (exists x))", payload));
}

TEST(FilterEvalTest, EqComparesWithoutCoercion) {
  const char* payload = R"({"n": 42, "s": "42", "t": true, "ts": "true", "z": null, "f": 1.5})";
  EXPECT_TRUE(Eval("(eq n 42)", payload));
  EXPECT_FALSE(Eval("(eq n \"42\")", payload));
  EXPECT_TRUE(Eval("(eq s \"42\")", payload));
  EXPECT_FALSE(Eval("(eq s 42)", payload));
  EXPECT_TRUE(Eval("(eq t true)", payload));
  EXPECT_FALSE(Eval("(eq ts true)", payload));
  EXPECT_FALSE(Eval("(eq t \"true\")", payload));
  EXPECT_TRUE(Eval("(eq z null)", payload));
  EXPECT_FALSE(Eval("(eq missing null)", payload));
  EXPECT_FALSE(Eval("(eq z \"null\")", payload));
  EXPECT_TRUE(Eval("(eq f 1.5)", payload));
  EXPECT_TRUE(Eval("(eq f 15e-1)", payload));
}

TEST(FilterEvalTest, NumbersCompareAcrossRepresentations) {
  EXPECT_TRUE(Eval("(eq n 1.0)", R"({"n": 1})"));
  EXPECT_TRUE(Eval("(eq n 1)", R"({"n": 1.0})"));
  EXPECT_TRUE(Eval("(eq n 0x10)", R"({"n": 16})"));
  EXPECT_TRUE(Eval("(eq n 0o17)", R"({"n": 15})"));
  EXPECT_TRUE(Eval("(eq n 0b101)", R"({"n": 5})"));
  EXPECT_TRUE(Eval("(eq n +5)", R"({"n": 5})"));
  EXPECT_TRUE(Eval("(eq n .5)", R"({"n": 0.5})"));
  EXPECT_TRUE(Eval("(eq n 1e3)", R"({"n": 1000})"));
  EXPECT_TRUE(Eval("(eq n 18446744073709551615)", R"({"n": 18446744073709551615})"));
  // Exact, not through doubles: 2^53 + 1 is not 2^53.
  EXPECT_FALSE(Eval("(eq n 9007199254740993)", R"({"n": 9007199254740992})"));
  EXPECT_FALSE(Eval("(eq n 9007199254740993)", R"({"n": 9007199254740992.0})"));
  EXPECT_TRUE(Eval("(gt n 9007199254740992.0)", R"({"n": 9007199254740993})"));
  EXPECT_TRUE(Eval("(lt n -9223372036854775807)", R"({"n": -9223372036854775808})"));
  EXPECT_TRUE(Eval("(gt n -1)", R"({"n": 18446744073709551615})"));
  EXPECT_TRUE(Eval("(lt n 1e308)", R"({"n": 1e300})"));
}

TEST(FilterEvalTest, OrderingOperators) {
  const char* payload = R"({"n": 10, "s": "20"})";
  EXPECT_TRUE(Eval("(gt n 9)", payload));
  EXPECT_FALSE(Eval("(gt n 10)", payload));
  EXPECT_TRUE(Eval("(gte n 10)", payload));
  EXPECT_TRUE(Eval("(lt n 10.5)", payload));
  EXPECT_FALSE(Eval("(lt n 10)", payload));
  EXPECT_TRUE(Eval("(lte n 10)", payload));
  EXPECT_FALSE(Eval("(gt s 5)", payload));  // a string is not a number
  EXPECT_FALSE(Eval("(gt missing 5)", payload));
  EXPECT_FALSE(Eval("(lt missing 5)", payload));
}

TEST(FilterEvalTest, StringOperators) {
  const char* payload = R"({"ref": "feature/login", "n": 5, "arr": ["a"]})";
  EXPECT_TRUE(Eval(R"((starts-with ref "feature/"))", payload));
  EXPECT_FALSE(Eval(R"((starts-with ref "Feature/"))", payload));
  EXPECT_TRUE(Eval(R"((ends-with ref "login"))", payload));
  EXPECT_FALSE(Eval(R"((ends-with ref "feature"))", payload));
  EXPECT_TRUE(Eval(R"((contains ref "e/l"))", payload));
  EXPECT_TRUE(Eval(R"((contains ref ""))", payload));
  EXPECT_FALSE(Eval(R"((contains arr "a"))", payload));
  EXPECT_FALSE(Eval(R"((starts-with n "5"))", payload));
  EXPECT_FALSE(Eval(R"((ends-with missing "x"))", payload));
}

TEST(FilterEvalTest, MatchesFindsRegexAnywhere) {
  const char* payload = R"({"title": "Fix race in dispatcher", "n": 5})";
  EXPECT_TRUE(Eval(R"((matches title "race"))", payload));
  EXPECT_TRUE(Eval(R"f((matches title "^Fix (race|leak)"))f", payload));
  EXPECT_FALSE(Eval(R"((matches title "^fix"))", payload));
  EXPECT_TRUE(Eval(R"((matches title "(?i)^fix"))", payload));
  EXPECT_FALSE(Eval(R"((matches n "5"))", payload));
}

TEST(FilterEvalTest, HasFamily) {
  const char* payload = R"({"labels": ["bug", "critical", 3, null], "s": "bug", "o": {"bug": 1}})";
  EXPECT_TRUE(Eval(R"((has labels "bug"))", payload));
  EXPECT_TRUE(Eval(R"((has labels 3))", payload));
  EXPECT_TRUE(Eval(R"((has labels null))", payload));
  EXPECT_FALSE(Eval(R"((has labels "3"))", payload));
  EXPECT_FALSE(Eval(R"((has s "bug"))", payload));
  EXPECT_FALSE(Eval(R"((has o "bug"))", payload));
  EXPECT_TRUE(Eval(R"((has-all labels ("bug" "critical")))", payload));
  EXPECT_FALSE(Eval(R"((has-all labels ("bug" "wontfix")))", payload));
  EXPECT_TRUE(Eval(R"((has-any labels ("wontfix" "critical")))", payload));
  EXPECT_FALSE(Eval(R"((has-any labels ("wontfix" "dup")))", payload));
  EXPECT_FALSE(Eval(R"((has-any missing ("bug")))", payload));
  EXPECT_FALSE(Eval(R"((has-all s ("bug")))", payload));
}

TEST(FilterEvalTest, ListLiteralsNeverEqualPayloadValues) {
  EXPECT_FALSE(Eval(R"((eq x ("a")))", R"({"x": ["a"]})"));
  EXPECT_FALSE(Eval(R"((has x ("a")))", R"({"x": [["a"]]})"));
  EXPECT_FALSE(Eval(R"((has-any x (("a"))))", R"({"x": ["a"]})"));
}

TEST(FilterEvalTest, InWantsAScalarFromTheList) {
  const char* payload = R"({"action": "opened", "n": 2, "arr": ["opened"], "o": {}})";
  EXPECT_TRUE(Eval(R"((in action ("opened" "reopened")))", payload));
  EXPECT_FALSE(Eval(R"((in action ("closed")))", payload));
  EXPECT_TRUE(Eval(R"((in n (1 2.0 3)))", payload));
  EXPECT_FALSE(Eval(R"((in arr ("opened")))", payload));
  EXPECT_FALSE(Eval(R"((in o ("opened")))", payload));
  EXPECT_FALSE(Eval(R"((in missing (null)))", payload));
}

TEST(FilterEvalTest, ExistsMeansPresentAndNotNull) {
  const char* payload = R"({"f": false, "z": 0, "e": "", "a": [], "o": {}, "n": null})";
  for (const char* field : {"f", "z", "e", "a", "o"}) {
    EXPECT_TRUE(Eval(std::string("(exists ") + field + ")", payload)) << field;
  }
  EXPECT_FALSE(Eval("(exists n)", payload));
  EXPECT_FALSE(Eval("(exists missing)", payload));
}

TEST(FilterEvalTest, TypeMismatchIsFalseNotError) {
  const char* payload = R"({"o": {"a": 1}, "a": [1]})";
  EXPECT_FALSE(Eval("(eq o 1)", payload));
  EXPECT_FALSE(Eval("(eq a 1)", payload));
  EXPECT_FALSE(Eval("(gt o 1)", payload));
  EXPECT_FALSE(Eval("(eq o.a.b 1)", payload));
}

TEST(FilterEvalTest, ScalarPayloadsHaveNoFields) {
  EXPECT_FALSE(Eval("(exists a)", "42"));
  EXPECT_FALSE(Eval("(exists a)", "null"));
  EXPECT_TRUE(Eval("(not (exists a))", "\"a\""));
}

TEST(FilterEvalTest, EvaluatesConcurrentlyFromManyThreads) {
  Result<CompiledFilter> compiled =
      Compile(R"((and (matches "t" "^a+b$") (has "l.*.n" "x") (gt "c" 3)))");
  ASSERT_OK(compiled);
  boost::json::value yes = testing::Json(R"({"t": "aaab", "l": [{"n": "x"}], "c": 4})");
  boost::json::value no = testing::Json(R"({"t": "aaac", "l": [{"n": "x"}], "c": 4})");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, filter = *compiled] {
      for (int i = 0; i < 2000; ++i) {
        if (!*Evaluate(filter, {yes}) || *Evaluate(filter, {no})) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---- The evaluation budget (issue 18, item 2). ---------------------------------------------

// The steps an evaluation of `filter` over `payload` spends, with a budget large enough.
std::uint64_t StepsOf(const CompiledFilter& filter, const boost::json::value& payload) {
  std::uint64_t left = std::uint64_t{1} << 40;
  Result<bool> r = Evaluate(filter, {payload}, &left);
  EXPECT_TRUE(r.has_value()) << r.status().ToString();
  return (std::uint64_t{1} << 40) - left;
}

TEST(FilterEvalBudgetTest, SucceedsAtTheLimitAndFailsOneStepShort) {
  Result<CompiledFilter> f = Compile(R"((and (contains "t" "needle") (has "l" 3)))");
  ASSERT_OK(f);
  boost::json::value payload = testing::Json(R"({"t": "hay needle", "l": [1, 2, 3]})");
  const std::uint64_t used = StepsOf(*f, payload);
  EXPECT_GT(used, 10u);  // the bytes of the string, the elements, the nodes
  std::uint64_t exact = used;
  Result<bool> at_limit = Evaluate(*f, {payload}, &exact);
  ASSERT_OK(at_limit);
  EXPECT_TRUE(*at_limit);
  EXPECT_EQ(exact, 0u);
  std::uint64_t short_by_one = used - 1;
  Result<bool> over = Evaluate(*f, {payload}, &short_by_one);
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().type(), ErrorType::kUnprocessable);
  EXPECT_EQ(over.error().code(), "filter_budget_exceeded");
  EXPECT_NE(over.error().message().find("1:"), std::string::npos) << over.error().message();
}

TEST(FilterEvalBudgetTest, HasAnyOverManyElementsAndValuesRunsOut) {
  std::string values = "(";
  for (int i = 0; i < 5000; ++i) values += "2 ";
  values += ")";
  Result<CompiledFilter> f = Compile("(or (eq \"x\" 1) (has-any \"n\" " + values + "))");
  ASSERT_OK(f);
  boost::json::array numbers(1000, 1);  // 1,000 x 5,000 = 5M comparisons > kMaxEvalSteps
  boost::json::value payload = boost::json::object{{"n", numbers}};
  Result<bool> r = Evaluate(*f, {payload});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), "filter_budget_exceeded");
  EXPECT_NE(r.error().message().find("1:16: has-any \"n\""), std::string::npos)
      << r.error().message();
  // Explain runs out the same way (and never succeeds where Evaluate fails).
  EXPECT_FALSE(Explain(*f, {payload}).has_value());
  // A short circuit before it spends nothing there.
  boost::json::value early = boost::json::object{{"x", 1}, {"n", numbers}};
  EXPECT_TRUE(*Evaluate(*f, {early}));
}

TEST(FilterEvalBudgetTest, RegexIsChargedBytesTimesProgramSizeBeforeItRuns) {
  Result<CompiledFilter> f = Compile(R"((matches "t" "a[ab]{500}c"))");
  ASSERT_OK(f);
  // 450 KB through ~500 instructions took seconds in RE2's NFA; now refused before RE2 runs.
  boost::json::value big = boost::json::object{{"t", std::string(450 * 1000, 'a')}};
  Result<bool> r = Evaluate(*f, {big});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), "filter_budget_exceeded");
  // The same regex over a short string is well within.
  boost::json::value small = boost::json::object{{"t", "a" + std::string(500, 'b') + "c"}};
  EXPECT_TRUE(*Evaluate(*f, {small}));
}

TEST(FilterEvalBudgetTest, ContainsIsLinearAndChargedByBytes) {
  // std::string_view::find compared the needle at every offset: 450 KB x 30 KB.
  Result<CompiledFilter> f =
      Compile(R"((contains "t" ")" + std::string(30 * 1000, 'a') + R"(b"))");
  ASSERT_OK(f);
  boost::json::value payload = boost::json::object{{"t", std::string(450 * 1000, 'a')}};
  EXPECT_LT(StepsOf(*f, payload), 500u * 1000u);
  EXPECT_FALSE(*Evaluate(*f, {payload}));
  boost::json::value hit =
      boost::json::object{{"t", std::string(450 * 1000, 'a') + "b"}};
  EXPECT_TRUE(*Evaluate(*f, {hit}));
  // An empty needle is in every string.
  EXPECT_TRUE(Eval(R"((contains "t" ""))", R"({"t": "x"})"));
}

}  // namespace
}  // namespace triggerd::filter
