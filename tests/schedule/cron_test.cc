// Cron expressions and intervals: parsing, the next tick, and daylight-saving transitions in real
// zones of the system's tzdb (America/New_York: spring forward 2026-03-08 02:00 -> 03:00, fall
// back 2026-11-01 02:00 -> 01:00).
#include <gmock/gmock.h>
#include <boost/json/parse.hpp>

#include "common/clock.h"
#include "schedule/schedule.h"
#include "test_util.h"

namespace triggerd::schedule {
namespace {

int64_t At(std::string_view rfc3339) {
  int64_t micros = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &micros)) << rfc3339;
  return micros;
}

Schedule Cron(const std::string& expression, const std::string& zone = "UTC") {
  auto schedule = Schedule::FromConfig(
      boost::json::object{{"cron", expression}, {"timezone", zone}});
  EXPECT_TRUE(schedule.has_value()) << expression << ": " << schedule.error().ToString();
  if (!schedule) return *Schedule::FromConfig(boost::json::object{{"interval_seconds", 1}});
  return *schedule;
}

std::string Next(const Schedule& schedule, std::string_view after) {
  auto next = schedule.NextAfter(At(after));
  return next ? FormatTickTime(*next) : "never";
}

Status ParseError(const boost::json::object& config) {
  auto schedule = Schedule::FromConfig(config);
  return schedule ? Status::Ok() : schedule.error();
}

TEST(CronTest, EveryFiveMinutesTicksOnTheFiveMinuteMarks) {
  Schedule s = Cron("*/5 * * * *");
  EXPECT_EQ(Next(s, "2026-11-23T14:32:10Z"), "2026-11-23T14:35:00Z");
  EXPECT_EQ(Next(s, "2026-11-23T14:35:00Z"), "2026-11-23T14:40:00Z");  // strictly after
  EXPECT_EQ(Next(s, "2026-11-23T23:59:00Z"), "2026-11-24T00:00:00Z");
}

TEST(CronTest, ListsRangesStepsAndNames) {
  Schedule s = Cron("0,30 9-17/4 * JAN-mar mon-FRI");
  // 2026-01-02 is a Friday: 09:00, 09:30, 13:00, 13:30, 17:00, 17:30; then Monday the 5th.
  EXPECT_EQ(Next(s, "2026-01-02T08:00:00Z"), "2026-01-02T09:00:00Z");
  EXPECT_EQ(Next(s, "2026-01-02T09:00:00Z"), "2026-01-02T09:30:00Z");
  EXPECT_EQ(Next(s, "2026-01-02T09:30:00Z"), "2026-01-02T13:00:00Z");
  EXPECT_EQ(Next(s, "2026-01-02T17:30:00Z"), "2026-01-05T09:00:00Z");
  // April is outside JAN-mar: the next is January next year.
  EXPECT_EQ(Next(s, "2026-03-31T17:30:00Z"), "2027-01-01T09:00:00Z");
}

TEST(CronTest, DayOfMonthAndDayOfWeekBothRestrictedMatchEither) {
  // crontab(5): the 13th OR a Friday. February 2026: Friday the 6th comes before the 13th.
  EXPECT_EQ(Next(Cron("0 0 13 * FRI"), "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00Z");
  EXPECT_EQ(Next(Cron("0 0 13 * FRI"), "2026-02-06T00:00:00Z"), "2026-02-13T00:00:00Z");
  // One of them '*': both must hold.
  EXPECT_EQ(Next(Cron("0 0 13 * *"), "2026-02-01T00:00:00Z"), "2026-02-13T00:00:00Z");
  EXPECT_EQ(Next(Cron("0 0 * * 5"), "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00Z");
  // 7 is Sunday too: 2026-02-01 is a Sunday.
  EXPECT_EQ(Next(Cron("0 12 * * 7"), "2026-02-01T00:00:00Z"), "2026-02-01T12:00:00Z");
}

TEST(CronTest, MacrosExpand) {
  EXPECT_EQ(Next(Cron("@hourly"), "2026-05-05T10:10:00Z"), "2026-05-05T11:00:00Z");
  EXPECT_EQ(Next(Cron("@daily"), "2026-05-05T10:10:00Z"), "2026-05-06T00:00:00Z");
  EXPECT_EQ(Next(Cron("@weekly"), "2026-05-05T10:10:00Z"), "2026-05-10T00:00:00Z");  // Sunday
  EXPECT_EQ(Next(Cron("@yearly"), "2026-05-05T10:10:00Z"), "2027-01-01T00:00:00Z");
}

TEST(CronTest, WallClockTimeInItsZone) {
  // 09:00 in Paris on weekdays: CET (+01:00) in November.
  Schedule s = Cron("0 9 * * MON-FRI", "Europe/Paris");
  EXPECT_EQ(Next(s, "2026-11-20T09:00:00Z"), "2026-11-23T08:00:00Z");  // Fri 10:00 -> Mon
  EXPECT_EQ(s.LocalTime(At("2026-11-23T08:00:00Z")), "2026-11-23T09:00:00+01:00");
  // CEST (+02:00) in July.
  EXPECT_EQ(Next(s, "2026-07-06T00:00:00Z"), "2026-07-06T07:00:00Z");
}

TEST(CronTest, SpringForwardSkipsTheWallClockTimeThatDoesNotExist) {
  Schedule daily = Cron("30 2 * * *", "America/New_York");
  // 02:30 on 2026-03-08 does not exist (02:00 EST -> 03:00 EDT): that day has no tick.
  EXPECT_EQ(Next(daily, "2026-03-07T12:00:00Z"), "2026-03-09T06:30:00Z");  // 02:30 EDT
  EXPECT_EQ(Next(daily, "2026-03-06T12:00:00Z"), "2026-03-07T07:30:00Z");  // 02:30 EST
  Schedule half_hourly = Cron("*/30 * * * *", "America/New_York");
  // 01:30 EST, then 02:00 and 02:30 do not exist: 03:00 EDT.
  EXPECT_EQ(Next(half_hourly, "2026-03-08T06:30:00Z"), "2026-03-08T07:00:00Z");
  EXPECT_EQ(half_hourly.LocalTime(At("2026-03-08T07:00:00Z")), "2026-03-08T03:00:00-04:00");
}

TEST(CronTest, FallBackFiresTheRepeatedWallClockTimeOnce) {
  Schedule daily = Cron("30 1 * * *", "America/New_York");
  // 01:30 happens twice on 2026-11-01 (EDT 05:30Z, then EST 06:30Z): it fires at the first.
  EXPECT_EQ(Next(daily, "2026-10-31T12:00:00Z"), "2026-11-01T05:30:00Z");
  EXPECT_EQ(Next(daily, "2026-11-01T05:30:00Z"), "2026-11-02T06:30:00Z");
  // Asked from inside the repeated hour (01:10 EST), 01:30 has already fired.
  EXPECT_EQ(Next(daily, "2026-11-01T06:10:00Z"), "2026-11-02T06:30:00Z");
  Schedule half_hourly = Cron("*/30 * * * *", "America/New_York");
  EXPECT_EQ(Next(half_hourly, "2026-11-01T05:00:00Z"), "2026-11-01T05:30:00Z");  // 01:30 EDT
  // 01:00 and 01:30 EST are repeats: the next is 02:00 EST.
  EXPECT_EQ(Next(half_hourly, "2026-11-01T05:30:00Z"), "2026-11-01T07:00:00Z");
  // (00:00 EDT, 23:00 EST] is 24 real hours but 23 wall-clock ones: 46 half hours, none twice.
  Schedule::Due due = half_hourly.DueBetween(At("2026-11-01T04:00:00Z"),
                                             At("2026-11-02T04:00:00Z"));
  EXPECT_EQ(due.count, 46);
}

TEST(CronTest, IntervalsTickAtMultiplesSinceTheEpoch) {
  auto s = Schedule::FromConfig(boost::json::object{{"interval_seconds", 60}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(Next(*s, "2026-11-23T14:32:10Z"), "2026-11-23T14:33:00Z");
  EXPECT_EQ(Next(*s, "2026-11-23T14:33:00Z"), "2026-11-23T14:34:00Z");
  Schedule::Due due = s->DueBetween(At("2026-11-23T14:32:10Z"), At("2026-11-23T14:42:30Z"));
  EXPECT_EQ(due.count, 10);
  EXPECT_EQ(FormatTickTime(due.first), "2026-11-23T14:33:00Z");
  EXPECT_EQ(FormatTickTime(due.latest), "2026-11-23T14:42:00Z");
  EXPECT_EQ(s->DueBetween(At("2026-11-23T14:32:10Z"), At("2026-11-23T14:32:59Z")).count, 0);
}

TEST(CronTest, RefusesMalformedSchedulesWithAPreciseMessage) {
  auto message = [](const boost::json::object& config) { return ParseError(config).message(); };
  EXPECT_THAT(message({{"cron", "61 * * * *"}}), ::testing::HasSubstr("minute"));
  EXPECT_THAT(message({{"cron", "* * *"}}), ::testing::HasSubstr("5 fields"));
  EXPECT_THAT(message({{"cron", "*/0 * * * *"}}), ::testing::HasSubstr("step"));
  EXPECT_THAT(message({{"cron", "* * * JAN-FOO *"}}), ::testing::HasSubstr("month"));
  EXPECT_THAT(message({{"cron", "JAN * * * *"}}), ::testing::HasSubstr("minute"));
  EXPECT_THAT(message({{"cron", "@fortnightly"}}), ::testing::HasSubstr("macro"));
  EXPECT_THAT(message({{"cron", "0 0 30 2 *"}}), ::testing::HasSubstr("never fires"));
  EXPECT_THAT(message({{"cron", "* * * * *"}, {"timezone", "Mars/Olympus_Mons"}}),
              ::testing::HasSubstr("time zone"));
  EXPECT_THAT(message({{"cron", "* * * * *"}, {"timezone", "../../../etc/passwd"}}),
              ::testing::HasSubstr("time zone"));
  EXPECT_THAT(message({{"interval_seconds", 0}}), ::testing::HasSubstr("interval_seconds"));
  EXPECT_THAT(message({{"interval_seconds", 0.5}}), ::testing::HasSubstr("interval_seconds"));
  EXPECT_THAT(message({{"interval_seconds", 5}, {"cron", "* * * * *"}}),
              ::testing::HasSubstr("exactly one"));
  EXPECT_THAT(message({{"interval_seconds", 5}, {"missed", "later"}}),
              ::testing::HasSubstr("missed"));
  EXPECT_THAT(message({{"interval_seconds", 5}, {"every", 5}}), ::testing::HasSubstr("every"));
  EXPECT_EQ(ParseError({{"cron", "*/5 * * * *"}}).type(), ErrorType::kOk);
}

}  // namespace
}  // namespace triggerd::schedule
