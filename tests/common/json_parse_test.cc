// common/json_parse.h: the one nesting limit of JSON payloads.
#include "common/json_parse.h"

#include <gtest/gtest.h>

#include <boost/json/error.hpp>
#include <string>

namespace triggerd {
namespace {

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseJsonTest, AcceptsTheLimitAndRefusesOneLevelMore) {
  boost::system::error_code ec;
  boost::json::value v = ParseJson(Nested(kMaxJsonDepth), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(v.is_array());
  (void)ParseJson(Nested(kMaxJsonDepth + 1), ec);
  EXPECT_EQ(ec, boost::json::error::too_deep);
  EXPECT_EQ(JsonErrorMessage(ec), "nested deeper than 64 levels (the limit)");
}

TEST(ParseJsonTest, OtherErrorsKeepBoostsMessage) {
  boost::system::error_code ec;
  (void)ParseJson("{", ec);
  ASSERT_TRUE(ec);
  EXPECT_EQ(JsonErrorMessage(ec), ec.message());
}

// ValidateJson accepts exactly what ParseJson does, and tells a container from a scalar.
TEST(ValidateJsonTest, AgreesWithParseJson) {
  for (const std::string& text :
       {std::string(R"({"a":[1,2.5,"x",null,true],"b":{"c":-1}})"), std::string("[]"),
        std::string("42"), std::string(R"("s")"), std::string("{"), std::string("{} x"),
        std::string(R"({"a":01})"), std::string(""), Nested(kMaxJsonDepth),
        Nested(kMaxJsonDepth + 1), std::string("[1,]")}) {
    boost::system::error_code parsed_ec, validated_ec;
    boost::json::value parsed = ParseJson(text, parsed_ec);
    const JsonShape shape = ValidateJson(text, validated_ec);
    EXPECT_EQ(validated_ec, parsed_ec) << text;
    if (parsed_ec) {
      EXPECT_EQ(shape, JsonShape::kInvalid) << text;
    } else {
      EXPECT_EQ(shape, parsed.is_object() || parsed.is_array() ? JsonShape::kContainer
                                                               : JsonShape::kScalar)
          << text;
    }
  }
}

}  // namespace
}  // namespace triggerd
