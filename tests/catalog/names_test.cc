// The rules every name follows (catalog::CheckName): length in code points, and no character
// that vanishes or acts where names are shown.
#include <gtest/gtest.h>

#include <string>

#include "catalog/validate.h"

namespace triggerd::catalog {
namespace {

std::string ErrorOf(std::string_view name) { return CheckName(name, true).message(); }

TEST(CheckNameTest, AcceptsOrdinaryTextInAnyScript) {
  EXPECT_TRUE(CheckName("github-main", true).ok());
  EXPECT_TRUE(CheckName("déploiement → prod", true).ok());
  EXPECT_TRUE(CheckName("\u05e9\u05dc\u05d5\u05dd", true).ok());  // Hebrew letters: right to left
  EXPECT_TRUE(CheckName("\xf0\x9f\x9a\x80 launches", true).ok());   // an emoji, four bytes
  EXPECT_TRUE(CheckName("", false).ok());
}

TEST(CheckNameTest, CountsCodePointsNotBytes) {
  EXPECT_TRUE(CheckName(std::string(200, 'a'), true).ok());
  EXPECT_FALSE(CheckName(std::string(201, 'a'), true).ok());
  std::string accents;
  for (int i = 0; i < 200; ++i) accents += "\xc3\xa9";  // é: two bytes, one character
  EXPECT_TRUE(CheckName(accents, true).ok());
  EXPECT_EQ(ErrorOf(""), "name must be 1 to 200 characters");
}

TEST(CheckNameTest, RefusesControlCharacters) {
  EXPECT_EQ(ErrorOf("a\nb"), "name must not contain control characters (U+000A at character 2)");
  EXPECT_NE(ErrorOf("a\x7f").find("U+007F"), std::string::npos);
  EXPECT_NE(ErrorOf("a\xc2\x85").find("U+0085"), std::string::npos);  // NEL, a C1 control
}

TEST(CheckNameTest, RefusesBidiZeroWidthAndSeparators) {
  EXPECT_EQ(ErrorOf("admin\u202egnp.exe"),
            "name must not contain bidirectional control characters (U+202E at character 6)");
  EXPECT_NE(ErrorOf("a\u2066b\u2069").find("bidirectional"), std::string::npos);
  EXPECT_NE(ErrorOf("a\u200fb").find("U+200F"), std::string::npos);
  EXPECT_NE(ErrorOf("pay\u200broll").find("zero-width characters (U+200B"), std::string::npos);
  EXPECT_NE(ErrorOf("\ufeffname").find("U+FEFF"), std::string::npos);
  EXPECT_NE(ErrorOf("a\u2028b").find("line or paragraph separators"), std::string::npos);
  EXPECT_NE(ErrorOf("a\u2029b").find("U+2029"), std::string::npos);
}

}  // namespace
}  // namespace triggerd::catalog
