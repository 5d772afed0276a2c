// Internal to src/schedule: the five cron fields (minute hour day-of-month month day-of-week),
// parsed once and matched against a wall-clock time. Time zones are not this file's business:
// schedule.cc walks civil time in a zone (cctz) and asks Matches() of each candidate.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triggerd::schedule::internal {

// A parsed cron expression. Syntax (Vixie cron's, as crontab(5) documents it): each field is a
// comma-separated list of `*`, `N`, `N-M`, each optionally `/STEP` (`N/STEP` = `N-max/STEP`);
// months also JAN..DEC and days of week SUN..SAT (case-insensitive); day of week 0 and 7 are
// both Sunday. Macros: @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly.
// When both day fields are restricted (neither starts with `*`), a day matches if EITHER does
// (crontab(5): "30 4 1,15 * 5" runs on the 1st, the 15th and every Friday); otherwise both must.
class CronExpression {
 public:
  // kInvalidArgument naming the field and the reason.
  static Result<CronExpression> Parse(std::string_view text);

  // month 1..12, day 1..31, weekday 0..6 (Sunday = 0), hour 0..23, minute 0..59.
  bool MatchesMonth(int month) const { return (months_ >> month) & 1; }
  bool MatchesDay(int day, int weekday) const;
  bool MatchesHour(int hour) const { return (hours_ >> hour) & 1; }
  bool MatchesMinute(int minute) const { return (minutes_ >> minute) & 1; }

 private:
  uint64_t minutes_ = 0;  // bit i: minute i
  uint32_t hours_ = 0;
  uint32_t days_ = 0;     // bit d: day of month d (1..31)
  uint16_t months_ = 0;   // bit m: month m (1..12)
  uint8_t weekdays_ = 0;  // bit w: weekday w (0..6, Sunday = 0)
  bool day_restricted_ = false;      // the day-of-month field does not start with '*'
  bool weekday_restricted_ = false;  // the day-of-week field does not start with '*'
};

}  // namespace triggerd::schedule::internal
