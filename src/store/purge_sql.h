// Retention's statements, written once in the SQL both backends speak ($n parameters; the SQLite
// store rewrites them to ?n, see store/run_sql.h). What they read and write is decided by
// store/purge_policy.h (PurgeTable). Internal to store/.
#pragma once

#include <string_view>

namespace triggerd::store::purge_sql {

// PurgeTable::OldEvents: $1 before, $2 after_seq, $3 limit.
inline constexpr std::string_view kOldEvents =
    "SELECT seq, id, workspace_id, payload_json = 'null' FROM events "
    "WHERE received_at < $1 AND seq > $2 ORDER BY seq LIMIT $3";

// PurgeTable::HasLiveRuns: $1 workspace id, $2 event id.
inline constexpr std::string_view kHasLiveRuns =
    "SELECT EXISTS (SELECT 1 FROM runs WHERE workspace_id = $1 AND event_id = $2 "
    "AND status IN ('queued', 'retrying', 'running'))";

// PurgeTable::DeleteEvent, in this order: the runs ($1 workspace id, $2 event id; their messages
// go by ON DELETE CASCADE), the match records ($1 event id), the event ($1 seq).
inline constexpr std::string_view kDeleteRunsOfEvent =
    "DELETE FROM runs WHERE workspace_id = $1 AND event_id = $2";
inline constexpr std::string_view kDeleteMatchesOfEvent = "DELETE FROM matches WHERE event_id = $1";
inline constexpr std::string_view kDeleteEvent = "DELETE FROM events WHERE seq = $1";

}  // namespace triggerd::store::purge_sql
