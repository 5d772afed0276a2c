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

}  // namespace
}  // namespace triggerd
