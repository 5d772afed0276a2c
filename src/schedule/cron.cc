#include "schedule/cron.h"

#include <array>
#include <cctype>
#include <charconv>
#include <vector>

namespace triggerd::schedule::internal {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Names for values min.., or nullptr.
  const std::array<std::string_view, 12>* names;
  int names_base;  // the value of names[0]
};

constexpr std::array<std::string_view, 12> kMonthNames = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu",
                                                            "fri", "sat", "",    "",    "",
                                                            "",    ""};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day of month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 1},
    {"day of week", 0, 7, &kWeekdayNames, 0},
};

Status FieldError(const FieldSpec& spec, std::string_view text, std::string_view why) {
  return Status::InvalidArgument("cron " + std::string(spec.name) + " field \"" +
                                     std::string(text.substr(0, 40)) + "\": " + std::string(why),
                                 "invalid_cron");
}

bool ParseValue(const FieldSpec& spec, std::string_view text, int* value) {
  if (text.empty()) return false;
  if (spec.names != nullptr && std::isalpha(static_cast<unsigned char>(text[0]))) {
    if (text.size() != 3) return false;
    std::string lower;
    for (char c : text) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    for (size_t i = 0; i < spec.names->size(); ++i) {
      if (!(*spec.names)[i].empty() && (*spec.names)[i] == lower) {
        *value = spec.names_base + static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Parses one field into a bit set of the values it allows.
Status ParseField(const FieldSpec& spec, std::string_view text, uint64_t* bits) {
  if (text.empty()) return FieldError(spec, text, "empty");
  *bits = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) return FieldError(spec, text, "empty list item");
    int step = 1;
    const bool has_step = item.find('/') != std::string_view::npos;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      std::string_view step_text = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
      if (ec != std::errc() || end != step_text.data() + step_text.size() || step < 1 ||
          step > spec.max) {
        return FieldError(spec, text, "the step must be a number from 1 to " +
                                          std::to_string(spec.max));
      }
      item = item.substr(0, slash);
    }
    int low = spec.min, high = spec.max;
    if (item == "*") {
      // every value
    } else if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      if (!ParseValue(spec, item.substr(0, dash), &low) ||
          !ParseValue(spec, item.substr(dash + 1), &high)) {
        return FieldError(spec, text, "not a value or range");
      }
      if (low > high) return FieldError(spec, text, "a range must go from low to high");
    } else {
      if (!ParseValue(spec, item, &low)) return FieldError(spec, text, "not a value or range");
      // "N/STEP" runs from N to the end of the range; a bare "N" is just N.
      if (!has_step) high = low;
    }
    if (low < spec.min || high > spec.max) {
      return FieldError(spec, text, "values must be from " + std::to_string(spec.min) + " to " +
                                        std::to_string(spec.max));
    }
    for (int v = low; v <= high; v += step) *bits |= uint64_t{1} << v;
  }
  return Status::Ok();
}

std::string_view ExpandMacro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return {};
}

}  // namespace

Result<CronExpression> CronExpression::Parse(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '@') {
    std::string_view expanded = ExpandMacro(text);
    if (expanded.empty()) {
      return Status::InvalidArgument(
          "unknown cron macro \"" + std::string(text.substr(0, 20)) +
              "\" (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)",
          "invalid_cron");
    }
    text = expanded;
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument(
        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), not " +
            std::to_string(fields.size()),
        "invalid_cron");
  }
  CronExpression cron;
  uint64_t bits[5];
  for (int f = 0; f < 5; ++f) {
    TRIGGERD_RETURN_IF_ERROR(ParseField(kFields[f], fields[f], &bits[f]));
  }
  cron.minutes_ = bits[0];
  cron.hours_ = static_cast<uint32_t>(bits[1]);
  cron.days_ = static_cast<uint32_t>(bits[2]);
  cron.months_ = static_cast<uint16_t>(bits[3]);
  // 7 is Sunday too.
  cron.weekdays_ = static_cast<uint8_t>((bits[4] & 0x7f) | ((bits[4] >> 7) & 1));
  cron.day_restricted_ = fields[2].front() != '*';
  cron.weekday_restricted_ = fields[4].front() != '*';
  return cron;
}

bool CronExpression::MatchesDay(int day, int weekday) const {
  const bool day_ok = (days_ >> day) & 1;
  const bool weekday_ok = (weekdays_ >> weekday) & 1;
  if (day_restricted_ && weekday_restricted_) return day_ok || weekday_ok;
  return day_ok && weekday_ok;
}

}  // namespace triggerd::schedule::internal
