// schedule: sources whose events triggerd makes itself — schedules (a cron expression in a time
// zone, or a fixed interval) and polled JSON feeds (issue 7, items 5 and 6).
//
// One pipeline. A schedule's tick or a feed's new item becomes an event that goes through
// ingest's matching and the store's append exactly like a webhook
// (ingest::Ingestor::IngestGenerated): the source's triggers are evaluated and the event is
// appended with its match records and runs in one durable transaction. Each such event carries a
// delivery id that names what it stands for — "tick:<scheduled time, RFC 3339 UTC>" or
// "item:<the item's id>" (with a cursor_field, "item:<id>@<its cursor value>": a version of the
// item, see internal::FeedItem) — so the store's (source, delivery id) uniqueness makes "never
// twice" hold by construction: across restarts (a crash between the append and the cursor write
// repeats the append, which is then a duplicate that starts no run) and across nodes sharing the
// store (two producers compute the same tick times and the same item ids). The durable cursor
// (store::SourceCursor, written only after the events it covers are durable) saves work; it is not
// what prevents doubles.
//
// Ticks. Interval schedules tick at the multiples of the interval since the Unix epoch (so every
// node agrees on them); cron schedules at the wall-clock minutes the expression matches in its
// time zone (cctz with the system's tzdb): a wall-clock time that does not exist (spring forward)
// is skipped, one that occurs twice (fall back) fires once, at its first occurrence. A tick is
// "on time" while it is at most ProducerOptions::on_time_grace late. When the producer finds
// several ticks due at once (it was down or the source was just re-enabled) or its latest due tick
// late, those are missed ticks: `catch_up` collapses them into ONE event for the latest (its
// payload counts the others: missed_ticks, first_missed_at), `skip` drops them (a latest tick that
// is on time still fires, its payload counting the dropped ones: skipped_ticks, first_skipped_at).
// Ticks before the source's latest change (updated_at) are never due: re-enabling or re-scheduling
// a source does not replay the time it was off.
//
// Polls. Every interval_seconds: GET the URL (configured headers, bounded time and size), take the
// array at items_path, and append one event per item not seen before, oldest first. "Seen": with a
// cursor_field (a timestamp or monotonic number), items above the stored cursor; without, ids not
// among those of the previous answer. Ids are compared as text (1 and "1" are one item). Items
// without a usable id are skipped and counted, with one warning per poll; an answer in which no
// item has one is a failed poll. A failed poll (transport, status, JSON, path) is logged
// without header values or URL and retried at the next interval; the cursor moves only when every
// new item is durable.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/clock.h"
#include "common/headers.h"
#include "common/result.h"
#include "store/config_store.h"
#include "store/records.h"

namespace triggerd::ingest {
class Ingestor;
}  // namespace triggerd::ingest

namespace triggerd::schedule {

inline constexpr std::string_view kScheduleKind = "schedule";
inline constexpr std::string_view kPollKind = "poll";
// The members a schedule's and a poll's config may have (ScheduleConfig/PollConfig::FromConfig
// refuse any other); the Stack AI triggers API reads them to tell source settings from its
// opaque provider parameters.
inline constexpr std::string_view kScheduleConfigMembers[] = {"cron", "timezone",
                                                              "interval_seconds", "missed"};
inline constexpr std::string_view kPollConfigMembers[] = {
    "url",      "interval_seconds", "headers",    "items_path",
    "id_field", "cursor_field",     "timeout_ms", "order"};

enum class MissedPolicy { kCatchUp, kSkip };
std::string_view MissedPolicyName(MissedPolicy policy);  // "catch_up" | "skip"
std::optional<MissedPolicy> ParseMissedPolicy(std::string_view name);

// A validated schedule. Cheap to copy; thread-safe (immutable).
class Schedule {
 public:
  // From a stored or requested config: {"cron":"*/5 * * * *","timezone":"Europe/Paris"} (timezone
  // defaults to "UTC") or {"interval_seconds":N} (1 s to 366 days), plus "missed":
  // "catch_up"|"skip" (absent: the server's default). kInvalidArgument naming the member.
  static Result<Schedule> FromConfig(const boost::json::object& config);

  // The first tick strictly after `after` (Unix microseconds); nullopt when there is none within
  // the next five years (a cron expression such as "0 0 30 2 *" never fires).
  std::optional<int64_t> NextAfter(int64_t after) const;
  // The ticks in (after, until]: how many and the latest. Arithmetic for intervals; cron walks
  // them (at most a year's worth: older ones are not counted).
  struct Due {
    int64_t count = 0;
    int64_t latest = 0;  // valid when count > 0
    int64_t first = 0;   // valid when count > 0
  };
  Due DueBetween(int64_t after, int64_t until) const;

  std::optional<MissedPolicy> missed() const;
  bool is_cron() const;
  const std::string& timezone() const;  // "UTC" for intervals
  // A tick's wall-clock time in the schedule's zone, RFC 3339 with its offset.
  std::string LocalTime(int64_t micros) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// A validated poll configuration.
struct PollConfig {
  std::string url;            // http or https
  int interval_seconds = 60;  // >= 1
  Headers headers;            // sent with every GET; values may be credentials (never logged)
  std::string items_path;     // dotted path to the array of items; "" = the document itself
  std::string id_field = "id";  // dotted path in an item to its id (a string or an integer)
  std::string cursor_field;   // dotted path to a timestamp or monotonic number; "" = none
  int timeout_ms = 10'000;    // the whole GET, 100 ms to 60 s
  bool newest_first = false;  // without cursor_field: the feed lists its newest item first

  // {"url","interval_seconds","headers","items_path","id_field","cursor_field","timeout_ms",
  //  "order":"oldest_first"|"newest_first"}. kInvalidArgument naming the member.
  static Result<PollConfig> FromConfig(const boost::json::object& config);
};

// Validates the config a "schedule" or "poll" source is given through the API and returns it
// normalised (known members only), as stored in Source::trigger_config_json. `previous`: the
// stored config on update (else null): a poll's credentials sent back as GET shows them keep their
// stored values (common/redact.h: headers "[redacted]", the URL's password and query values
// "redacted"), unless the URL's origin changed.
Result<std::string> NormalizeConfig(std::string_view kind, const boost::json::value& config,
                                    const boost::json::object* previous);
// The config as the API shows it: a poll's header values "[redacted]", its URL's password and
// query values "redacted".
boost::json::object ShownConfig(const store::Source& source);
// When the source's next tick or poll is due, given its cursor (nullopt when none was written
// yet); nullopt when never (or the source is disabled or not generated).
std::optional<int64_t> NextDueAt(const store::Source& source,
                                 const std::optional<store::SourceCursor>& cursor, int64_t now);
// "2026-03-08T07:00:00Z" (whole seconds, UTC): scheduled_at and tick delivery ids.
std::string FormatTickTime(int64_t micros);

struct ProducerOptions {
  // Missed ticks of schedules whose config does not say (config key schedule_missed).
  MissedPolicy default_missed = MissedPolicy::kCatchUp;
  // How late a tick may be found and still count as on time. Generous next to the loop's wake-up
  // delay and a busy store; small next to any schedule worth having a catch-up policy for.
  int64_t on_time_grace_micros = 60'000'000;
  // A poll's answer above this is refused (and logged): bounded memory per poll.
  size_t max_poll_bytes = 10 * 1024 * 1024;
  // At most this many new items are appended per poll (the oldest first; the rest next time).
  size_t max_items_per_poll = 1000;
  // After a failed append (backpressure, I/O), the tick is tried again this much later.
  int64_t retry_micros = 1'000'000;
};

// Counters, monotonically increasing.
struct ProducerStats {
  uint64_t ticks_fired = 0;     // tick events appended (duplicates included)
  uint64_t ticks_missed = 0;    // ticks not fired on their own (collapsed or skipped)
  uint64_t polls = 0;           // GETs that gave a usable answer
  uint64_t poll_errors = 0;     // failed (transport, status, JSON, items_path, no item with an id)
  uint64_t items_appended = 0;  // item events appended (duplicates excluded)
  uint64_t duplicates = 0;      // appends the store found already there
  uint64_t append_errors = 0;
  // Feed items skipped for want of a usable id at id_field (or of an object shape), counted at
  // every poll that lists them. A poll where no item has one also counts in poll_errors.
  uint64_t items_without_id = 0;
};

// Produces the events of every schedule and poll source. Thread-safe. Two loop threads once
// started: one for ticks, one for polls (a slow feed, up to its timeout, never delays a tick).
// Callers that change sources through the store call Upsert/Remove so the producer follows (as
// for the ingest cache); the ingestor's cache must already hold the change.
class Producer {
 public:
  // None of the pointers is owned; all must outlive the producer. Of the store it uses the
  // sources and their cursors.
  Producer(store::ConfigStore* store, ingest::Ingestor* ingestor, const Clock* clock,
           ProducerOptions options);
  ~Producer();  // Stop()

  // Loads the schedule and poll sources and their cursors from the store (without threads), and
  // drops the ones no longer there. Callable while started: another node sharing the database
  // changed sources (app/cluster.h).
  Status Load();
  // Load() and start the loop threads, which sleep until the next due time (real time) or a
  // change. REQUIRES: not started.
  Status Start();
  // Stops the threads, waiting for a poll in flight (bounded by its timeout). Idempotent.
  void Stop();

  // After a source was created or changed (any kind: one that is not generated, or disabled, is
  // dropped). Wakes the loops.
  void Upsert(const store::Source& source);
  void Remove(std::string_view source_id);

  // Does everything due at the clock's now on the calling thread, ticks then polls, waiting for
  // each append and cursor write. What the loops do; tests drive it with a ManualClock instead of
  // Start(). Returns the number of events appended (duplicates excluded).
  int RunDue();

  // The earliest due time of any source, nullopt when none is scheduled.
  std::optional<int64_t> NextDue() const;
  ProducerStats stats() const;

 private:
  struct Entry;
  struct Lane;
  void RunLane(Lane* lane);
  int RunDueIn(Lane* lane, int64_t now);
  int Tick(Entry* entry, int64_t now);
  int Poll(Entry* entry, int64_t now);
  // Appends and waits; the outcome (or error).
  Result<bool> AppendAndWait(std::string_view source_id, std::string event_type,
                             std::string delivery_id, std::string body, int64_t now);
  void WriteCursor(Entry* entry, int64_t now);
  Lane* LaneFor(std::string_view kind);

  store::ConfigStore* store_;
  ingest::Ingestor* ingestor_;
  const Clock* clock_;
  ProducerOptions options_;
  std::unique_ptr<Lane> tick_lane_;
  std::unique_ptr<Lane> poll_lane_;
  std::atomic<uint64_t> ticks_fired_{0}, ticks_missed_{0}, polls_{0}, poll_errors_{0},
      items_appended_{0}, duplicates_{0}, append_errors_{0}, items_without_id_{0};
};

}  // namespace triggerd::schedule
