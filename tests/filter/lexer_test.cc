#include "filter/lexer.h"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace triggerd::filter::internal {
namespace {

std::vector<Token> Tokens(std::string_view text) {
  Lexer lexer(text);
  std::vector<Token> tokens;
  for (;;) {
    tokens.push_back(lexer.Next());
    Token::Kind kind = tokens.back().kind;
    if (kind == Token::Kind::kEnd || kind == Token::Kind::kError) return tokens;
  }
}

TEST(FilterLexerTest, SplitsParenthesesStringsAndAtoms) {
  auto tokens = Tokens(R"((eq "a b" c))");
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].kind, Token::Kind::kOpen);
  EXPECT_EQ(tokens[1].kind, Token::Kind::kAtom);
  EXPECT_EQ(tokens[1].text, "eq");
  EXPECT_EQ(tokens[2].kind, Token::Kind::kString);
  EXPECT_EQ(tokens[2].text, "a b");
  EXPECT_EQ(tokens[3].text, "c");
  EXPECT_EQ(tokens[4].kind, Token::Kind::kClose);
  EXPECT_EQ(tokens[5].kind, Token::Kind::kEnd);
}

TEST(FilterLexerTest, BackslashMakesTheNextCharacterLiteral) {
  auto tokens = Tokens(R"f("a\"b" "c\\d" "\n" "\()")f");
  EXPECT_EQ(tokens[0].text, "a\"b");
  EXPECT_EQ(tokens[1].text, "c\\d");
  EXPECT_EQ(tokens[2].text, "n");  // Dust's rule: no escape sequences, just literal characters
  EXPECT_EQ(tokens[3].text, "()");
}

TEST(FilterLexerTest, ParenthesesInsideStringsAreOrdinary) {
  auto tokens = Tokens(R"(")(" x)");
  EXPECT_EQ(tokens[0].kind, Token::Kind::kString);
  EXPECT_EQ(tokens[0].text, ")(");
  EXPECT_EQ(tokens[1].text, "x");
}

TEST(FilterLexerTest, SkipsCommentsToEndOfLine) {
  auto tokens = Tokens("; whole line (eq\n  a;trailing \"quote\n b");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].text, "a");
  EXPECT_EQ(tokens[1].text, "b");
}

TEST(FilterLexerTest, SemicolonInsideStringIsNotAComment) {
  EXPECT_EQ(Tokens(R"("a;b")")[0].text, "a;b");
}

TEST(FilterLexerTest, ReportsPositionsAsLineAndColumn) {
  auto tokens = Tokens("(a\n\t  \"b\"\r\n c)");
  EXPECT_EQ(tokens[0].pos.line, 1);
  EXPECT_EQ(tokens[0].pos.column, 1);
  EXPECT_EQ(tokens[1].pos.column, 2);
  EXPECT_EQ(tokens[2].pos.line, 2);
  EXPECT_EQ(tokens[2].pos.column, 4);  // a tab counts as one column
  EXPECT_EQ(tokens[3].pos.line, 3);
  EXPECT_EQ(tokens[3].pos.column, 2);
}

TEST(FilterLexerTest, CountsColumnsInCharactersNotBytes) {
  auto tokens = Tokens("\"été\" x");
  EXPECT_EQ(tokens[1].pos.column, 7);
}

TEST(FilterLexerTest, UnterminatedStringPointsAtItsOpeningQuote) {
  auto tokens = Tokens("(eq \"a\"\n   \"opened");
  Token last = tokens.back();
  EXPECT_EQ(last.kind, Token::Kind::kError);
  EXPECT_EQ(last.text, "unterminated string");
  EXPECT_EQ(last.pos.line, 2);
  EXPECT_EQ(last.pos.column, 4);
}

TEST(FilterLexerTest, BackslashAtEndLeavesStringUnterminated) {
  EXPECT_EQ(Tokens("\"abc\\").back().kind, Token::Kind::kError);
}

TEST(FilterLexerTest, AtomsEndAtDelimiters) {
  auto tokens = Tokens("ab(cd)ef\"g\"h;i");
  std::vector<std::string> texts;
  for (const Token& t : tokens) texts.push_back(t.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"ab", "", "cd", "", "ef", "g", "h", ""}));
}

TEST(FilterLexerTest, DecimalUnderflowReadsAsZero) {
  Sexp atom = ClassifyAtom("0." + std::string(400, '0') + "1", {});
  ASSERT_EQ(atom.kind, Sexp::Kind::kNumber);
  EXPECT_EQ(atom.number.as_double(), 0.0);
  EXPECT_EQ(ClassifyAtom("1" + std::string(400, '0'), {}).kind, Sexp::Kind::kString);
}

struct AtomCase {
  const char* text;
  Sexp::Kind kind;
  const char* json;  // expected number as JSON, for numbers
};

class FilterAtomTest : public ::testing::TestWithParam<AtomCase> {};

TEST_P(FilterAtomTest, ClassifiesAtom) {
  const AtomCase& c = GetParam();
  Sexp atom = ClassifyAtom(c.text, {});
  EXPECT_EQ(atom.kind, c.kind) << c.text;
  if (c.kind == Sexp::Kind::kNumber) {
    EXPECT_EQ(boost::json::serialize(atom.number), c.json) << c.text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Atoms, FilterAtomTest,
    ::testing::Values(
        AtomCase{"true", Sexp::Kind::kBool, ""}, AtomCase{"false", Sexp::Kind::kBool, ""},
        AtomCase{"null", Sexp::Kind::kNull, ""}, AtomCase{"True", Sexp::Kind::kString, ""},
        AtomCase{"42", Sexp::Kind::kNumber, "42"}, AtomCase{"-42", Sexp::Kind::kNumber, "-42"},
        AtomCase{"+5", Sexp::Kind::kNumber, "5"}, AtomCase{".5", Sexp::Kind::kNumber, "5E-1"},
        AtomCase{"-.5", Sexp::Kind::kNumber, "-5E-1"}, AtomCase{"5.", Sexp::Kind::kNumber, "5E0"},
        AtomCase{"1e3", Sexp::Kind::kNumber, "1E3"}, AtomCase{"1E+3", Sexp::Kind::kNumber, "1E3"},
        AtomCase{"2.5e-1", Sexp::Kind::kNumber, "2.5E-1"},
        AtomCase{"0x10", Sexp::Kind::kNumber, "16"}, AtomCase{"0X1f", Sexp::Kind::kNumber, "31"},
        AtomCase{"0o7", Sexp::Kind::kNumber, "7"}, AtomCase{"0b11", Sexp::Kind::kNumber, "3"},
        AtomCase{"9223372036854775807", Sexp::Kind::kNumber, "9223372036854775807"},
        AtomCase{"-9223372036854775808", Sexp::Kind::kNumber, "-9223372036854775808"},
        AtomCase{"18446744073709551615", Sexp::Kind::kNumber, "18446744073709551615"},
        AtomCase{"1e999", Sexp::Kind::kString, ""}, AtomCase{"1e-999", Sexp::Kind::kNumber, "0E0"},
        AtomCase{"0x1ffffffffffffffff", Sexp::Kind::kNumber, "3.6893488147419103E19"},
        AtomCase{"NaN", Sexp::Kind::kString, ""}, AtomCase{"Infinity", Sexp::Kind::kString, ""},
        AtomCase{"0x", Sexp::Kind::kString, ""}, AtomCase{"0x1g", Sexp::Kind::kString, ""},
        AtomCase{"-0x10", Sexp::Kind::kString, ""}, AtomCase{"0b2", Sexp::Kind::kString, ""},
        AtomCase{"1e", Sexp::Kind::kString, ""}, AtomCase{".", Sexp::Kind::kString, ""},
        AtomCase{"+", Sexp::Kind::kString, ""}, AtomCase{"1.2.3", Sexp::Kind::kString, ""},
        AtomCase{"12abc", Sexp::Kind::kString, ""}, AtomCase{"opened", Sexp::Kind::kString, ""}));

}  // namespace
}  // namespace triggerd::filter::internal
