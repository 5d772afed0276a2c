#include "store/records.h"

namespace triggerd::store {

// Mirror any change in the CHECK constraint of api_keys.role (store/schema/001_init.sql).
std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kBuilder:
      return "builder";
    case Role::kUser:
      return "user";
  }
  return "user";  // unreachable for a valid enum value; the least privileged name is the safe one
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "builder") return Role::kBuilder;
  if (name == "user") return Role::kUser;
  return std::nullopt;
}

// Mirror any change in the CHECK constraint of matches.outcome (store/schema/002_*.sql).
std::string_view MatchOutcomeName(MatchOutcome outcome) {
  switch (outcome) {
    case MatchOutcome::kMatched:
      return "matched";
    case MatchOutcome::kIgnored:
      return "ignored";
    case MatchOutcome::kDisabled:
      return "disabled";
    case MatchOutcome::kFilterError:
      return "filter_error";
  }
  return "ignored";  // unreachable for a valid enum value
}

std::optional<MatchOutcome> ParseMatchOutcome(std::string_view name) {
  if (name == "matched") return MatchOutcome::kMatched;
  if (name == "ignored") return MatchOutcome::kIgnored;
  if (name == "disabled") return MatchOutcome::kDisabled;
  if (name == "filter_error") return MatchOutcome::kFilterError;
  return std::nullopt;
}

// Mirror any change in the CHECK constraint of runs.status (store/schema/002_*.sql) and in the
// status lists the SQLite store's dispatch queries spell out (store/sqlite/sqlite_store.cc).
std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kQueued:
      return "queued";
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kRetrying:
      return "retrying";
    case RunStatus::kDead:
      return "dead";
    case RunStatus::kCancelled:
      return "cancelled";
  }
  return "queued";  // unreachable for a valid enum value
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  if (name == "queued") return RunStatus::kQueued;
  if (name == "running") return RunStatus::kRunning;
  if (name == "succeeded") return RunStatus::kSucceeded;
  if (name == "failed") return RunStatus::kFailed;
  if (name == "retrying") return RunStatus::kRetrying;
  if (name == "dead") return RunStatus::kDead;
  if (name == "cancelled") return RunStatus::kCancelled;
  return std::nullopt;
}

EventSummary SummaryOf(const Event& event) {
  EventSummary s;
  s.seq = event.seq;
  s.id = event.id;
  s.workspace_id = event.workspace_id;
  s.source_id = event.source_id;
  s.received_at = event.received_at;
  s.content_type = event.content_type;
  s.event_type = event.event_type;
  s.delivery_id = event.delivery_id;
  s.remote_addr = event.remote_addr;
  s.verification = event.verification;
  s.status = event.status;
  s.body_bytes = static_cast<int64_t>(event.body.size());
  return s;
}

}  // namespace triggerd::store
