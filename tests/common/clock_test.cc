#include "common/clock.h"

#include <gtest/gtest.h>

namespace triggerd {
namespace {

TEST(ClockTest, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1531420618'123456), "2018-07-12T18:36:58.123Z");
}

TEST(ClockTest, ParsesZuluOffsetsAndFractions) {
  int64_t t = 0;
  ASSERT_TRUE(ParseRfc3339("2021-07-25T10:00:00Z", &t));
  EXPECT_EQ(t, 1627207200'000000);
  ASSERT_TRUE(ParseRfc3339("2021-07-25T12:00:00.5+02:00", &t));
  EXPECT_EQ(t, 1627207200'500000);
  ASSERT_TRUE(ParseRfc3339(FormatRfc3339(1531420618'123000), &t));
  EXPECT_EQ(t, 1531420618'123000);
}

TEST(ClockTest, RejectsMalformedTimes) {
  int64_t t = 0;
  EXPECT_FALSE(ParseRfc3339("2021-07-25", &t));
  EXPECT_FALSE(ParseRfc3339("2021-13-25T10:00:00Z", &t));
  EXPECT_FALSE(ParseRfc3339("2021-07-25T10:00:00", &t));
  EXPECT_FALSE(ParseRfc3339("2021-07-25T10:00:00Zjunk", &t));
  EXPECT_FALSE(ParseRfc3339("yesterday", &t));
}

}  // namespace
}  // namespace triggerd
