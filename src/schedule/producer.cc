// The producer: two loops (ticks, polls) that turn due schedules and new feed items into events
// through ingest::Ingestor::IngestGenerated, then advance the source's durable cursor.
#include <spdlog/spdlog.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/json_parse.h"
#include "common/json_text.h"
#include "ingest/ingest.h"
#include "schedule/internal.h"
#include "schedule/schedule.h"

namespace triggerd::schedule {
namespace {

namespace json = boost::json;
constexpr int64_t kMicros = 1'000'000;
// Without anything due, the loops still wake this often (a clock jump, a lost wake-up).
constexpr int64_t kMaxSleepMicros = 60 * kMicros;
// A poll's cursor is written when it changed, and otherwise at least this often (next_due_at).
constexpr int64_t kCursorRefreshMicros = 60 * kMicros;

json::object ParseCursorData(const std::optional<store::SourceCursor>& cursor) {
  if (!cursor) return {};
  boost::system::error_code ec;
  json::value v = json::parse(cursor->cursor_data, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

}  // namespace

// One schedule or poll source as the producer tracks it.
struct Producer::Entry {
  store::Source source;
  std::variant<std::monostate, Schedule, PollConfig> config;  // monostate: unusable config
  std::optional<store::SourceCursor> cursor;                  // as last read or written
  int64_t next_due = 0;                                       // INT64_MAX: never
  uint64_t generation = 0;  // bumped by every Upsert, so a stale result is not written back
};

struct Producer::Lane {
  std::string_view kind;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Entry> entries;  // by source id; guarded by mu
  uint64_t generations = 0;              // guarded by mu
  bool stop = false;                     // guarded by mu
  bool changed = false;                  // guarded by mu: wake and look again
  std::thread thread;
};

Producer::Producer(store::ConfigStore* store, ingest::Ingestor* ingestor, const Clock* clock,
                   ProducerOptions options)
    : store_(store),
      ingestor_(ingestor),
      clock_(clock),
      options_(options),
      tick_lane_(std::make_unique<Lane>()),
      poll_lane_(std::make_unique<Lane>()) {
  tick_lane_->kind = kScheduleKind;
  poll_lane_->kind = kPollKind;
}

Producer::~Producer() { Stop(); }

Producer::Lane* Producer::LaneFor(std::string_view kind) {
  if (kind == kScheduleKind) return tick_lane_.get();
  if (kind == kPollKind) return poll_lane_.get();
  return nullptr;
}

Status Producer::Load() {
  auto sources = store_->ListAllSources();
  if (!sources) return sources.error();
  std::set<std::string> present;
  for (const auto& source : *sources) {
    if (!source.generated()) continue;
    present.insert(source.id);
    Upsert(source);
  }
  std::vector<std::string> gone;
  for (const Lane* lane : {tick_lane_.get(), poll_lane_.get()}) {
    std::lock_guard lock(lane->mu);
    for (const auto& [id, entry] : lane->entries) {
      if (present.count(id) == 0) gone.push_back(id);
    }
  }
  for (const auto& id : gone) Remove(id);
  return Status::Ok();
}

Status Producer::Start() {
  TRIGGERD_RETURN_IF_ERROR(Load());
  for (Lane* lane : {tick_lane_.get(), poll_lane_.get()}) {
    lane->thread = std::thread([this, lane] { RunLane(lane); });
  }
  return Status::Ok();
}

void Producer::Stop() {
  for (Lane* lane : {tick_lane_.get(), poll_lane_.get()}) {
    {
      std::lock_guard lock(lane->mu);
      lane->stop = true;
    }
    lane->cv.notify_all();
    if (lane->thread.joinable()) lane->thread.join();
  }
}

void Producer::Upsert(const store::Source& source) {
  Lane* lane = LaneFor(source.kind);
  if (lane == nullptr || !source.enabled) {
    Remove(source.id);
    return;
  }
  Entry entry;
  entry.source = source;
  boost::system::error_code ec;
  json::value config = json::parse(source.trigger_config_json, ec);
  Status problem;
  if (ec || !config.is_object()) {
    problem = Status::InvalidArgument("the stored config is not a JSON object");
  } else if (source.kind == kScheduleKind) {
    auto schedule = Schedule::FromConfig(config.as_object());
    if (schedule) entry.config = *schedule;
    else problem = schedule.error();
  } else {
    auto poll = PollConfig::FromConfig(config.as_object());
    if (poll) entry.config = *poll;
    else problem = poll.error();
  }
  if (!problem.ok()) {
    // The API validates on write; a stored config can still stop parsing after an upgrade.
    spdlog::error("schedule: source {} is not scheduled: {}", source.id, problem.message());
  }
  std::optional<store::SourceCursor> cursor;
  {
    std::lock_guard lock(lane->mu);
    if (auto it = lane->entries.find(source.id); it != lane->entries.end()) {
      cursor = it->second.cursor;
    }
  }
  if (!cursor) {
    auto stored = store_->GetSourceCursor(source.id);
    if (stored) cursor = *stored;
  }
  entry.cursor = cursor;
  const int64_t now = clock_->NowMicros();
  entry.next_due = std::holds_alternative<std::monostate>(entry.config)
                       ? INT64_MAX
                       : NextDueAt(source, cursor, now).value_or(INT64_MAX);
  {
    std::lock_guard lock(lane->mu);
    entry.generation = ++lane->generations;
    lane->entries[source.id] = std::move(entry);
    lane->changed = true;
  }
  lane->cv.notify_all();
}

void Producer::Remove(std::string_view source_id) {
  for (Lane* lane : {tick_lane_.get(), poll_lane_.get()}) {
    {
      std::lock_guard lock(lane->mu);
      if (lane->entries.erase(std::string(source_id)) == 0) continue;
      lane->changed = true;
    }
    lane->cv.notify_all();
  }
}

std::optional<int64_t> Producer::NextDue() const {
  int64_t best = INT64_MAX;
  for (const Lane* lane : {tick_lane_.get(), poll_lane_.get()}) {
    std::lock_guard lock(lane->mu);
    for (const auto& [id, entry] : lane->entries) best = std::min(best, entry.next_due);
  }
  return best == INT64_MAX ? std::nullopt : std::optional<int64_t>(best);
}

ProducerStats Producer::stats() const {
  return ProducerStats{ticks_fired_.load(),    ticks_missed_.load(), polls_.load(),
                       poll_errors_.load(),    items_appended_.load(), duplicates_.load(),
                       append_errors_.load(),  items_without_id_.load()};
}

int Producer::RunDue() {
  const int64_t now = clock_->NowMicros();
  return RunDueIn(tick_lane_.get(), now) + RunDueIn(poll_lane_.get(), now);
}

int Producer::RunDueIn(Lane* lane, int64_t now) {
  // Work on copies, without the lock (appends and GETs block); write back what was learnt unless
  // the source changed meanwhile (then its new entry was already computed from the new config).
  std::vector<Entry> due;
  {
    std::lock_guard lock(lane->mu);
    for (const auto& [id, entry] : lane->entries) {
      if (entry.next_due <= now) due.push_back(entry);
    }
  }
  int appended = 0;
  for (Entry& entry : due) {
    appended += lane == tick_lane_.get() ? Tick(&entry, now) : Poll(&entry, now);
    std::lock_guard lock(lane->mu);
    auto it = lane->entries.find(entry.source.id);
    if (it == lane->entries.end()) continue;
    if (it->second.generation == entry.generation) {
      it->second.cursor = entry.cursor;
      it->second.next_due = entry.next_due;
    } else {
      it->second.cursor = entry.cursor;  // durable already; the new config's due time stands
    }
  }
  return appended;
}

void Producer::RunLane(Lane* lane) {
  std::unique_lock lock(lane->mu);
  while (!lane->stop) {
    lane->changed = false;
    lock.unlock();
    RunDueIn(lane, clock_->NowMicros());
    lock.lock();
    if (lane->stop || lane->changed) continue;
    int64_t next = INT64_MAX;
    for (const auto& [id, entry] : lane->entries) next = std::min(next, entry.next_due);
    const int64_t now = clock_->NowMicros();
    const int64_t sleep = std::clamp<int64_t>(next == INT64_MAX ? kMaxSleepMicros : next - now,
                                              0, kMaxSleepMicros);
    if (sleep == 0) continue;
    // Woken early by Upsert/Remove/Stop; a spurious wake-up only recomputes.
    lane->cv.wait_for(lock, std::chrono::microseconds(sleep),
                      [lane] { return lane->stop || lane->changed; });
  }
}

Result<bool> Producer::AppendAndWait(std::string_view source_id, std::string event_type,
                                     std::string delivery_id, std::string body, int64_t now) {
  std::promise<Result<ingest::IngestOutcome>> promise;
  auto future = promise.get_future();
  ingestor_->IngestGenerated(
      ingest::GeneratedEvent{std::string(source_id), std::move(event_type),
                             std::move(delivery_id), std::move(body), now},
      [&promise](Result<ingest::IngestOutcome> outcome) { promise.set_value(std::move(outcome)); });
  Result<ingest::IngestOutcome> outcome = future.get();
  if (!outcome) {
    ++append_errors_;
    return outcome.error();
  }
  if (outcome->duplicate) ++duplicates_;
  return !outcome->duplicate;
}

void Producer::WriteCursor(Entry* entry, int64_t now) {
  entry->cursor->source_id = entry->source.id;
  entry->cursor->updated_at = now;
  // A failed write leaves the durable cursor behind the in-memory one: after a restart the work
  // since is done again, and the delivery ids make it a duplicate.
  if (Status s = store_->PutSourceCursor(*entry->cursor); !s.ok()) {
    spdlog::warn("schedule: source {}: cursor not saved: {}", entry->source.id, s.message());
  }
}

int Producer::Tick(Entry* entry, int64_t now) {
  const Schedule& schedule = std::get<Schedule>(entry->config);
  const store::Source& source = entry->source;
  int64_t anchor = source.updated_at;  // nothing before the latest change is due
  if (entry->cursor && entry->cursor->last_tick_at) {
    anchor = std::max(anchor, *entry->cursor->last_tick_at);
  }
  const Schedule::Due due = schedule.DueBetween(anchor, now);
  if (due.count == 0) {
    entry->next_due = schedule.NextAfter(anchor).value_or(INT64_MAX);
    return 0;
  }
  const MissedPolicy policy = schedule.missed().value_or(options_.default_missed);
  const bool late = now - due.latest > options_.on_time_grace_micros;
  const int64_t missed = due.count - 1 + (late ? 1 : 0);
  int appended = 0;
  if (!late || policy == MissedPolicy::kCatchUp) {
    json::object payload;
    payload["scheduled_at"] = FormatTickTime(due.latest);
    if (schedule.is_cron()) {
      payload["timezone"] = schedule.timezone();
      payload["local_time"] = schedule.LocalTime(due.latest);
    }
    payload["source_id"] = source.id;
    payload["source"] = source.name;
    if (due.count > 1) {
      // The ticks before it. catch_up: collapsed into this one, which stands for them too (the
      // agent may do their work now). skip: dropped, their work is not to be done; named apart
      // so that an agent reading missed_ticks never makes up for ticks it was told to skip.
      const bool skip = policy == MissedPolicy::kSkip;
      payload[skip ? "skipped_ticks" : "missed_ticks"] = due.count - 1;
      payload[skip ? "first_skipped_at" : "first_missed_at"] = FormatTickTime(due.first);
    }
    Result<bool> added = AppendAndWait(source.id, "schedule.tick",
                                       "tick:" + FormatTickTime(due.latest),
                                       json::serialize(payload), now);
    if (!added) {
      const ErrorType type = added.error().type();
      if (type != ErrorType::kNotFound && type != ErrorType::kPermissionDenied) {
        // Backpressure or I/O: the same tick again shortly; the cursor stays where it was.
        spdlog::warn("schedule: source {}: tick {} not appended: {}", source.id,
                     FormatTickTime(due.latest), added.error().message());
        entry->next_due = now + options_.retry_micros;
        return 0;
      }
      // Deleted or disabled meanwhile: Upsert/Remove will follow; do not spin on it.
    }
    if (added) ++ticks_fired_;
    if (added && *added) appended = 1;
    ticks_missed_ += due.count - 1;
    if (due.count > 1) {
      spdlog::info("schedule: source {}: {} missed tick(s) before the tick of {} {}", source.id,
                   due.count - 1, FormatTickTime(due.latest),
                   policy == MissedPolicy::kCatchUp ? "collapsed into it" : "dropped");
    }
  } else {
    ticks_missed_ += missed;
    spdlog::info("schedule: source {}: skipped {} missed tick(s), the latest {}", source.id,
                 missed, FormatTickTime(due.latest));
  }
  if (!entry->cursor) entry->cursor = store::SourceCursor{};
  entry->cursor->last_tick_at = due.latest;
  entry->next_due = schedule.NextAfter(due.latest).value_or(INT64_MAX);
  entry->cursor->next_due_at =
      entry->next_due == INT64_MAX ? std::nullopt : std::optional<int64_t>(entry->next_due);
  WriteCursor(entry, now);
  return appended;
}

int Producer::Poll(Entry* entry, int64_t now) {
  const PollConfig& poll = std::get<PollConfig>(entry->config);
  const store::Source& source = entry->source;
  const int64_t interval = poll.interval_seconds * kMicros;
  entry->next_due = now + interval;
  // Nodes sharing a database poll each feed once per turn: the node that claims the turn polls
  // from the stored cursor (another node may have moved it); the others adopt that cursor and
  // its due time. Deleted meanwhile: Remove follows. A store error: this turn is skipped.
  Result<bool> claimed = store_->ClaimSourceTurn(source.id, now, entry->next_due);
  if (!claimed) {
    if (claimed.error().type() != ErrorType::kNotFound) {
      spdlog::warn("schedule: poll of source {} skipped: {}", source.id,
                   claimed.error().message());
    }
    return 0;
  }
  if (auto stored = store_->GetSourceCursor(source.id); stored) entry->cursor = *stored;
  if (!*claimed) {
    if (entry->cursor && entry->cursor->next_due_at) entry->next_due = *entry->cursor->next_due_at;
    return 0;
  }
  // Errors name the source, never the URL (its query may hold a key) nor a header value.
  internal::GetResult got =
      internal::HttpGet(poll.url, poll.headers, poll.timeout_ms, options_.max_poll_bytes);
  auto fail = [&](const std::string& why) {
    ++poll_errors_;
    spdlog::warn("schedule: poll of source {} failed: {}; next try in {} s", source.id, why,
                 poll.interval_seconds);
    return 0;
  };
  if (!got.error.empty()) return fail(got.error);
  boost::system::error_code ec;
  // The items become events: the payload limit, so each reads back as ingest's do.
  json::value document = ParseJson(got.body, ec);
  if (ec) return fail("the answer is not JSON: " + JsonErrorMessage(ec));
  const json::object stored = ParseCursorData(entry->cursor);
  auto scan = internal::ScanFeed(poll, document, stored, options_.max_items_per_poll);
  if (!scan) return fail(scan.error().message());
  if (scan->skipped > 0) {
    // Once per poll, with counts only: an item's values may be private, and the usual cause is
    // a wrong id_field, which silently dropping every item would hide.
    items_without_id_ += scan->skipped;
    const std::string why =
        std::to_string(scan->skipped) + " of " + std::to_string(scan->total) +
        " item(s) have no usable id at id_field \"" + poll.id_field +
        "\" (an object whose id there is a non-empty string of at most 200 bytes or an integer)";
    // No item usable at all is a failed poll (counted as an error, the cursor stays), not an
    // empty feed that looks healthy.
    if (scan->skipped == scan->total) return fail(why);
    spdlog::warn("schedule: poll of source {}: {}; they were skipped", source.id, why);
  }
  ++polls_;
  int appended = 0;
  for (auto& item : scan->fresh) {
    Result<bool> added = AppendAndWait(source.id, "poll.item", std::move(item.delivery_id),
                                       SerializeJson(item.item), now);
    if (!added) {
      // The cursor stays: the next poll offers these items again (the appended ones then are
      // duplicates and start nothing).
      spdlog::warn("schedule: source {}: item not appended: {}", source.id,
                   added.error().message());
      return appended;
    }
    if (*added) {
      ++appended;
      ++items_appended_;
    }
  }
  const bool changed = stored != scan->next_cursor;
  const bool stale = !entry->cursor || !entry->cursor->last_tick_at ||
                     now - entry->cursor->updated_at >= kCursorRefreshMicros;
  if (!entry->cursor) entry->cursor = store::SourceCursor{};
  entry->cursor->last_tick_at = now;
  entry->cursor->next_due_at = entry->next_due;
  if (changed || stale) {
    entry->cursor->cursor_data = json::serialize(scan->next_cursor);
    WriteCursor(entry, now);
  }
  return appended;
}

}  // namespace triggerd::schedule
