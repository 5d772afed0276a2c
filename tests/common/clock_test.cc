#include "common/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>

namespace triggerd {
namespace {

TEST(ClockTest, FormatsRfc3339WithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1531420618'123456), "2018-07-12T18:36:58.123Z");
}

// FormatRfc3339 computes the calendar itself; gmtime_r is the reference it must agree with, on
// leap days, century years, before 1970 and at the edges of a day.
TEST(ClockTest, FormatsTheSameDateAsGmtime) {
  const int64_t samples[] = {-86'400'000'001, -1, 0, 951'782'400'000'000 /* 2000-02-29 */,
                             4'107'542'399'999'999 /* 2100-02-28T23:59:59.999 */,
                             253'402'300'799'999'999 /* 9999-12-31T23:59:59.999 */};
  auto reference = [](int64_t micros) {
    int64_t secs = micros / 1'000'000, rest = micros % 1'000'000;
    if (rest < 0) {
      rest += 1'000'000;
      secs -= 1;
    }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(rest / 1000));
    return std::string(buf);
  };
  for (int64_t micros : samples) EXPECT_EQ(FormatRfc3339(micros), reference(micros)) << micros;
  // 1811 to 3015 in steps just short of a day, so they drift through every time of day.
  for (int64_t micros = -5'000'000'000'000'000; micros < 33'000'000'000'000'000;
       micros += 86'399'999'937) {
    ASSERT_EQ(FormatRfc3339(micros), reference(micros)) << micros;
  }
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
