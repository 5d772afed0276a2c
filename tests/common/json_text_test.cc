#include "common/json_text.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

namespace triggerd {
namespace {

TEST(SerializeJsonTest, NonFiniteNumbersBecomeJsonThatReadsBackTheSame) {
  boost::json::value parsed = boost::json::parse(R"({"a":1e400,"b":[-1e400,0.0e4300],"c":1})");
  const std::string text = SerializeJson(parsed);
  EXPECT_EQ(text, R"({"a":1e999,"b":[-1e999,null],"c":1})");
  boost::json::value again = boost::json::parse(text);
  EXPECT_EQ(again.at("a").as_double(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(again.at("b").at(0).as_double(), -std::numeric_limits<double>::infinity());
}

TEST(SerializeJsonTest, StringsAndOtherValuesAreAsBoostWritesThem) {
  const boost::json::value value =
      boost::json::parse(R"({"Infinity":"NaN -Infinity \"Infinity\" \\","n":[true,false,null]})");
  EXPECT_EQ(SerializeJson(value), boost::json::serialize(value));
  EXPECT_EQ(SerializeJson(boost::json::value("Infinity")), "\"Infinity\"");
}

}  // namespace
}  // namespace triggerd
