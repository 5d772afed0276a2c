// EventLog: the durable log of received events with their match records — appends (group
// commit, with the transactional outbox of matches and runs), reads, and replay's AppendMatches.
// One of the narrow interfaces of store/ (store.h aggregates them).
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/records.h"

namespace triggerd::store {

struct MatchQuery {
  std::string workspace_id;  // required
  std::string trigger_id;    // required
  std::optional<MatchOutcome> outcome;
  int limit = 50;  // 1..500
  std::optional<int64_t> before_seq;
};

struct AppendOutcome {
  std::string event_id;  // the new event, or for a duplicate the first event with that delivery id
  int64_t received_at = 0;
  bool duplicate = false;
};

struct EventQuery {
  std::string workspace_id;  // required
  std::string source_id;     // "" = any
  std::string status;        // "" = any
  std::optional<int64_t> since;  // received_at >= since
  std::optional<int64_t> until;  // received_at < until
  int limit = 50;                // 1..500
  std::optional<int64_t> before_seq;  // cursor: only events with seq < before_seq
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends an event to the durable log. Many concurrent appends are committed together in one
  // transaction (group commit). `done` runs exactly once, on a store-owned thread, and only after
  // the transaction holding the event is durable on disk (fsync'd), or with the error that
  // prevented it; it must not block. When `event.delivery_id` is non-empty and an event of the
  // same source already has it, nothing is written and `done` gets duplicate=true with the first
  // event's id and time — this check and the insert are atomic.
  // After Close(), `done` is called at once with kUnavailable.
  using AppendCallback = std::function<void(Result<AppendOutcome>)>;
  virtual void AppendEvent(NewEvent event, AppendCallback done) = 0;

  virtual Result<Event> GetEvent(std::string_view workspace_id, std::string_view id) = 0;
  // Newest first. Summaries only: a list never reads headers or bodies (GetEvent does).
  virtual Result<Page<EventSummary>> ListEvents(const EventQuery& query) = 0;

  // Match records. For an event: every record, oldest first (an unknown event: none). For a
  // trigger: newest first, paged like ListEvents.
  virtual Result<std::vector<Match>> ListEventMatches(std::string_view workspace_id,
                                                      std::string_view event_id) = 0;
  virtual Result<Page<Match>> ListTriggerMatches(const MatchQuery& query) = 0;
  // Replay: records more matches and runs for an existing event, in one durable transaction.
  // kNotFound when the event is not in the workspace. Runs as in NewEvent::runs.
  virtual Status AppendMatches(std::string_view workspace_id, std::string_view event_id,
                               std::vector<Match> matches, std::vector<NewRun> runs) = 0;
};

}  // namespace triggerd::store
