// Schedules (cron in a time zone, intervals), poll configs, and the config text the API stores.
#include "schedule/schedule.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <cmath>
#include <span>

#include "common/redact.h"
#include "outbound/curl_guard.h"
#include "schedule/cron.h"

namespace triggerd::schedule {
namespace {

namespace json = boost::json;
using Seconds = cctz::time_point<cctz::seconds>;

constexpr int64_t kMicros = 1'000'000;
constexpr int64_t kMaxIntervalSeconds = 366LL * 24 * 3600;
constexpr int kSearchYears = 5;
constexpr int64_t kMaxCatchUpWindowMicros = 366LL * 24 * 3600 * kMicros;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Seconds ToSeconds(int64_t micros) { return Seconds(cctz::seconds(FloorDiv(micros, kMicros))); }
int64_t ToMicros(Seconds t) { return static_cast<int64_t>(t.time_since_epoch().count()) * kMicros; }

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

// An integer member (a JSON integer, or a double with no fraction).
std::optional<int64_t> AsInteger(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.as_uint64());
  }
  if (v.is_double() && std::trunc(v.as_double()) == v.as_double() &&
      std::fabs(v.as_double()) < 9e15) {
    return static_cast<int64_t>(v.as_double());
  }
  return std::nullopt;
}

Status RejectUnknown(const json::object& o, std::span<const std::string_view> known) {
  for (const auto& member : o) {
    bool ok = false;
    for (auto k : known) ok = ok || member.key() == k;
    if (!ok) return Invalid("unknown member \"" + std::string(member.key().substr(0, 50)) + "\"");
  }
  return Status::Ok();
}

Result<std::string> StringMember(const json::object& o, std::string_view key, std::string def) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return def;
  if (!v->is_string()) return Invalid(std::string(key) + " must be a string");
  return std::string(v->as_string());
}

// Zone names as the tzdb spells them ("Europe/Paris", "America/Argentina/Buenos_Aires", "UTC",
// "Etc/GMT+5"): never a path that cctz would open outside the zoneinfo directory.
bool IsZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  return true;
}

bool IsPath(std::string_view path) {
  if (path.size() > 200) return false;
  if (path.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty()) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string_view MissedPolicyName(MissedPolicy policy) {
  return policy == MissedPolicy::kSkip ? "skip" : "catch_up";
}

std::optional<MissedPolicy> ParseMissedPolicy(std::string_view name) {
  if (name == "catch_up") return MissedPolicy::kCatchUp;
  if (name == "skip") return MissedPolicy::kSkip;
  return std::nullopt;
}

std::string FormatTickTime(int64_t micros) {
  return cctz::format("%Y-%m-%dT%H:%M:%SZ", ToSeconds(micros), cctz::utc_time_zone());
}

// ---- Schedule ----

struct Schedule::Impl {
  std::optional<internal::CronExpression> cron;
  cctz::time_zone zone = cctz::utc_time_zone();
  std::string zone_name = "UTC";
  int64_t interval_micros = 0;  // when not cron
  std::optional<MissedPolicy> missed;

  std::optional<int64_t> NextCron(int64_t after) const {
    const cctz::civil_second now_civil = cctz::convert(ToSeconds(after), zone);
    cctz::civil_minute c = cctz::civil_minute(now_civil) + 1;
    const cctz::year_t last_year = now_civil.year() + kSearchYears;
    while (c.year() <= last_year) {
      if (!cron->MatchesMonth(c.month())) {
        c = cctz::civil_minute(cctz::civil_month(c) + 1);
        continue;
      }
      const cctz::civil_day day(c);
      const int weekday = (static_cast<int>(cctz::get_weekday(day)) + 1) % 7;  // Sunday = 0
      if (!cron->MatchesDay(c.day(), weekday)) {
        c = cctz::civil_minute(day + 1);
        continue;
      }
      if (!cron->MatchesHour(c.hour())) {
        c = cctz::civil_minute(cctz::civil_hour(c) + 1);
        continue;
      }
      if (!cron->MatchesMinute(c.minute())) {
        c += 1;
        continue;
      }
      const cctz::time_zone::civil_lookup lookup = zone.lookup(cctz::civil_second(c));
      // SKIPPED: the wall-clock time does not exist that day (spring forward); no tick.
      // REPEATED: it exists twice (fall back); it fires once, at its first occurrence (`pre`),
      // and a search from inside the repeated hour finds that occurrence in the past.
      if (lookup.kind != cctz::time_zone::civil_lookup::SKIPPED) {
        const int64_t tick = ToMicros(lookup.pre);
        if (tick > after) return tick;
      }
      c += 1;
    }
    return std::nullopt;
  }
};

Result<Schedule> Schedule::FromConfig(const json::object& config) {
  TRIGGERD_RETURN_IF_ERROR(RejectUnknown(config, kScheduleConfigMembers));
  auto impl = std::make_shared<Impl>();
  const json::value* cron = config.if_contains("cron");
  const json::value* interval = config.if_contains("interval_seconds");
  if ((cron == nullptr) == (interval == nullptr)) {
    return Invalid("give exactly one of cron (with an optional timezone) and interval_seconds");
  }
  if (cron != nullptr) {
    if (!cron->is_string()) return Invalid("cron must be a string such as \"*/5 * * * *\"");
    auto parsed = internal::CronExpression::Parse(cron->as_string());
    if (!parsed) return Invalid("cron: " + parsed.error().message());
    impl->cron = *parsed;
    auto zone = StringMember(config, "timezone", "UTC");
    if (!zone) return zone.error();
    if (!IsZoneName(*zone) || !cctz::load_time_zone(*zone, &impl->zone)) {
      return Invalid("timezone \"" + zone->substr(0, 64) +
                     "\" is not a known IANA time zone (such as \"Europe/Paris\" or \"UTC\")");
    }
    impl->zone_name = *zone;
  } else {
    if (config.contains("timezone")) {
      return Invalid("timezone applies to cron schedules; an interval is absolute time");
    }
    auto seconds = AsInteger(*interval);
    if (!seconds || *seconds < 1 || *seconds > kMaxIntervalSeconds) {
      return Invalid("interval_seconds must be an integer from 1 to " +
                     std::to_string(kMaxIntervalSeconds));
    }
    impl->interval_micros = *seconds * kMicros;
  }
  if (const json::value* missed = config.if_contains("missed"); missed && !missed->is_null()) {
    std::optional<MissedPolicy> policy =
        missed->is_string() ? ParseMissedPolicy(missed->as_string()) : std::nullopt;
    if (!policy) return Invalid("missed must be \"catch_up\" or \"skip\"");
    impl->missed = policy;
  }
  Schedule schedule;
  schedule.impl_ = std::move(impl);
  // Every satisfiable expression fires within five years of any time (leap days included).
  if (cron != nullptr && !schedule.NextAfter(0).has_value()) {
    return Invalid("cron \"" + std::string(cron->as_string().subview(0, 60)) +
                   "\" never fires (no such date)");
  }
  return schedule;
}

std::optional<int64_t> Schedule::NextAfter(int64_t after) const {
  if (impl_->cron) return impl_->NextCron(after);
  const int64_t n = impl_->interval_micros;
  return (FloorDiv(after, n) + 1) * n;
}

Schedule::Due Schedule::DueBetween(int64_t after, int64_t until) const {
  Due due;
  if (until <= after) return due;
  if (!impl_->cron) {
    const int64_t n = impl_->interval_micros;
    const int64_t first = (FloorDiv(after, n) + 1) * n;
    if (first > until) return due;
    due.first = first;
    due.count = (until - first) / n + 1;
    due.latest = first + (due.count - 1) * n;
    return due;
  }
  // A year is at most ~527,000 minutes: bounded work even for "* * * * *" after a long outage.
  int64_t from = std::max(after, until - kMaxCatchUpWindowMicros);
  for (std::optional<int64_t> t = NextAfter(from); t && *t <= until; t = NextAfter(*t)) {
    if (due.count == 0) due.first = *t;
    ++due.count;
    due.latest = *t;
  }
  return due;
}

std::optional<MissedPolicy> Schedule::missed() const { return impl_->missed; }
bool Schedule::is_cron() const { return impl_->cron.has_value(); }
const std::string& Schedule::timezone() const { return impl_->zone_name; }

std::string Schedule::LocalTime(int64_t micros) const {
  return cctz::format("%Y-%m-%dT%H:%M:%S%Ez", ToSeconds(micros), impl_->zone);
}

// ---- PollConfig ----

Result<PollConfig> PollConfig::FromConfig(const json::object& config) {
  TRIGGERD_RETURN_IF_ERROR(RejectUnknown(config, kPollConfigMembers));
  PollConfig poll;
  auto url = StringMember(config, "url", "");
  if (!url) return url.error();
  auto parsed = boost::urls::parse_absolute_uri(*url);
  if (url->empty() || url->size() > 2000 || !parsed ||
      (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    return Invalid("url must be an absolute http or https URL");
  }
  // The poll's transfer parses it again with libcurl's parser, which is stricter in places.
  if (Status curl = outbound::CheckUrlParses(*url); !curl.ok()) {
    return Invalid("url is not a URL libcurl can use (" + curl.message() + ")");
  }
  poll.url = *url;
  const json::value* interval = config.if_contains("interval_seconds");
  if (interval == nullptr) return Invalid("interval_seconds is required");
  auto seconds = AsInteger(*interval);
  if (!seconds || *seconds < 1 || *seconds > 86400) {
    return Invalid("interval_seconds must be an integer from 1 to 86400");
  }
  poll.interval_seconds = static_cast<int>(*seconds);
  if (const json::value* headers = config.if_contains("headers"); headers && !headers->is_null()) {
    if (!headers->is_object() || headers->as_object().size() > 50) {
      return Invalid("headers must be an object of at most 50 names to string values");
    }
    for (const auto& [name, value] : headers->as_object()) {
      if (!IsHeaderToken(name)) {
        return Invalid("headers: \"" + std::string(name.substr(0, 50)) + "\" is not a header name");
      }
      if (!value.is_string() || value.as_string().size() > 8192 ||
          value.as_string().find_first_of(std::string_view("\r\n\0", 3)) != json::string::npos) {
        // The value itself is not echoed: it may be a credential.
        return Invalid("headers: the value of " + std::string(name) +
                       " must be a string of at most 8192 bytes without CR, LF or NUL");
      }
      poll.headers.push_back({std::string(name), std::string(value.as_string())});
    }
  }
  for (auto [key, member, def] :
       {std::tuple{"items_path", &poll.items_path, ""}, std::tuple{"id_field", &poll.id_field, "id"},
        std::tuple{"cursor_field", &poll.cursor_field, ""}}) {
    auto text = StringMember(config, key, def);
    if (!text) return text.error();
    if (!IsPath(*text) || (std::string_view(key) == "id_field" && text->empty())) {
      return Invalid(std::string(key) + " must be a dotted path such as \"data.items\"" +
                     (std::string_view(key) == "id_field" ? " (not empty)" : ""));
    }
    *member = *text;
  }
  if (const json::value* timeout = config.if_contains("timeout_ms"); timeout && !timeout->is_null()) {
    auto ms = AsInteger(*timeout);
    if (!ms || *ms < 100 || *ms > 60'000) {
      return Invalid("timeout_ms must be an integer from 100 to 60000");
    }
    poll.timeout_ms = static_cast<int>(*ms);
  }
  auto order = StringMember(config, "order", "oldest_first");
  if (!order) return order.error();
  if (*order != "oldest_first" && *order != "newest_first") {
    return Invalid("order must be \"oldest_first\" or \"newest_first\"");
  }
  poll.newest_first = *order == "newest_first";
  return poll;
}

// ---- The stored config ----

Result<std::string> NormalizeConfig(std::string_view kind, const json::value& config,
                                    const json::object* previous) {
  const std::string prefix = std::string(kind) + ": ";
  if (!config.is_object()) return Invalid(std::string(kind) + " must be an object");
  json::object normalized;
  if (kind == kScheduleKind) {
    auto schedule = Schedule::FromConfig(config.as_object());
    if (!schedule) return Invalid(prefix + schedule.error().message());
    const json::object& in = config.as_object();
    if (schedule->is_cron()) {
      normalized["cron"] = in.at("cron");
      normalized["timezone"] = schedule->timezone();
    } else {
      normalized["interval_seconds"] = *AsInteger(in.at("interval_seconds"));
    }
    if (schedule->missed()) normalized["missed"] = MissedPolicyName(*schedule->missed());
  } else if (kind == kPollKind) {
    json::object in = config.as_object();
    // What GET shows sent back keeps the stored values (common/redact.h): a header "[redacted]",
    // the URL's password or a query value "redacted". Never for another origin than the stored
    // URL's: a builder must not receive, at a server of theirs, credentials they cannot read.
    const json::value* old_url = previous ? previous->if_contains("url") : nullptr;
    std::optional<std::string_view> stored_url;
    if (old_url != nullptr && old_url->is_string()) stored_url = old_url->as_string();
    json::value* url = in.if_contains("url");
    const bool same_origin = stored_url && url && url->is_string() &&
                             SameOrigin(url->as_string(), *stored_url);
    if (json::value* headers = in.if_contains("headers"); headers && headers->is_object()) {
      const json::value* old = previous ? previous->if_contains("headers") : nullptr;
      for (auto& [name, value] : headers->as_object()) {
        if (!value.is_string() || value.as_string() != kRedacted) continue;
        const json::value* kept =
            old && old->is_object() ? old->as_object().if_contains(name) : nullptr;
        if (kept == nullptr) {
          return Invalid(prefix + "headers: " + std::string(name) +
                         " is \"[redacted]\" but has no stored value to keep");
        }
        if (!same_origin) {
          return Invalid(prefix + "headers: " + std::string(name) +
                         " is \"[redacted]\", and a stored value is never sent to another origin "
                         "than the stored URL's: send the value itself");
        }
        value = *kept;
      }
    }
    if (url != nullptr && url->is_string()) {
      Result<std::string> restored = RestoreRedactedUrl(url->as_string(), stored_url);
      if (!restored) return Invalid(prefix + "url: " + restored.error().message());
      *url = *restored;
    }
    auto poll = PollConfig::FromConfig(in);
    if (!poll) return Invalid(prefix + poll.error().message());
    normalized["url"] = poll->url;
    normalized["interval_seconds"] = poll->interval_seconds;
    json::object headers;
    for (const auto& header : poll->headers) headers[header.name] = header.value;
    normalized["headers"] = std::move(headers);
    normalized["items_path"] = poll->items_path;
    normalized["id_field"] = poll->id_field;
    if (!poll->cursor_field.empty()) normalized["cursor_field"] = poll->cursor_field;
    normalized["timeout_ms"] = poll->timeout_ms;
    normalized["order"] = poll->newest_first ? "newest_first" : "oldest_first";
  } else {
    return Invalid("only schedule and poll sources have a trigger config");
  }
  return json::serialize(normalized);
}

json::object ShownConfig(const store::Source& source) {
  boost::system::error_code ec;
  json::value config = json::parse(source.trigger_config_json, ec);
  if (ec || !config.is_object()) return {};
  json::object shown = config.as_object();
  if (json::value* headers = shown.if_contains("headers"); headers && headers->is_object()) {
    for (auto& [name, value] : headers->as_object()) value = kRedacted;
  }
  if (json::value* url = shown.if_contains("url"); url && url->is_string()) {
    *url = RedactUrl(url->as_string());
  }
  return shown;
}

std::optional<int64_t> NextDueAt(const store::Source& source,
                                 const std::optional<store::SourceCursor>& cursor, int64_t now) {
  if (!source.generated() || !source.enabled) return std::nullopt;
  boost::system::error_code ec;
  json::value config = json::parse(source.trigger_config_json, ec);
  if (ec || !config.is_object()) return std::nullopt;
  if (source.kind == kScheduleKind) {
    auto schedule = Schedule::FromConfig(config.as_object());
    if (!schedule) return std::nullopt;
    int64_t anchor = source.updated_at;
    if (cursor && cursor->last_tick_at) anchor = std::max(anchor, *cursor->last_tick_at);
    return schedule->NextAfter(anchor);
  }
  auto poll = PollConfig::FromConfig(config.as_object());
  if (!poll) return std::nullopt;
  if (!cursor || !cursor->last_tick_at) return std::max(now, source.updated_at);
  return std::max(*cursor->last_tick_at + poll->interval_seconds * kMicros, source.updated_at);
}

}  // namespace triggerd::schedule
