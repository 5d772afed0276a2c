#include "store/sqlite/json_text.h"

#include <gtest/gtest.h>

namespace triggerd::store::sqlite {
namespace {

TEST(JsonTextTest, StringArrayRoundTripsEscapesAndBytes) {
  std::vector<std::string> values = {"",
                                     "plain",
                                     "q\"uote",
                                     "back\\slash",
                                     "tab\tnl\ncr\r",
                                     std::string("nul\0ctl\x1f", 8),
                                     "h\xc3\xa9 \xf0\x9f\x98\x80",
                                     "\xff raw byte"};
  std::string text = EncodeStringArray(values);
  std::vector<std::string> back;
  ASSERT_TRUE(DecodeStringArray(text, &back)) << text;
  EXPECT_EQ(back, values);
  EXPECT_EQ(EncodeStringArray({}), "[]");
  EXPECT_EQ(EncodeStringArray({"a", "b"}), R"(["a","b"])");
}

TEST(JsonTextTest, DecodesWhitespaceAndUnicodeEscapes) {
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeStringArray(" [ \"a\" ,\n\"\\u00e9\\/\\b\\f\", \"\\ud83d\\ude00\" ] ", &out));
  EXPECT_EQ(out, (std::vector<std::string>{"a", "\xc3\xa9/\b\f", "\xf0\x9f\x98\x80"}));
}

TEST(JsonTextTest, RejectsMalformedText) {
  std::vector<std::string> out;
  for (const char* bad :
       {"", "[", "]", "[\"a\"", "[\"a\",]", "[a]", "[\"a\"] x", "{}", "[\"\\x\"]", "[\"\\u12\"]",
        "[\"\\ud83d\"]", "[\"\\ude00\"]", "[1]", "[\"unterminated]"}) {
    EXPECT_FALSE(DecodeStringArray(bad, &out)) << bad;
  }
}

TEST(JsonTextTest, HeadersRoundTripInOrderWithRepeats) {
  Headers headers = {{"X-A", "1"}, {"x-a", "2"}, {"Empty", ""}, {"Q", "\"v\"\\"}};
  std::string text = EncodeHeaders(headers);
  EXPECT_EQ(text.substr(0, 15), R"([["X-A","1"],[")");
  Headers back;
  ASSERT_TRUE(DecodeHeaders(text, &back)) << text;
  ASSERT_EQ(back.size(), headers.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(back[i].name, headers[i].name);
    EXPECT_EQ(back[i].value, headers[i].value);
  }
  ASSERT_TRUE(DecodeHeaders("[]", &back));
  EXPECT_TRUE(back.empty());
}

TEST(JsonTextTest, RejectsHeadersThatAreNotPairs) {
  Headers out;
  for (const char* bad : {"[[\"a\"]]", "[[\"a\",\"b\",\"c\"]]", "[\"a\"]", "[[\"a\",1]]", "{}"}) {
    EXPECT_FALSE(DecodeHeaders(bad, &out)) << bad;
  }
}

}  // namespace
}  // namespace triggerd::store::sqlite
