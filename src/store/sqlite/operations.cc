// SqliteStore: the StoreOperations reads and writes — the live-run gauges and retention's
// Purge. (Close and Stats are the engine's, sqlite_store.cc.)
#include <algorithm>
#include <string>
#include <vector>

#include "store/run_sql.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

Result<LiveRunCounts> SqliteStore::CountLiveRuns() {
  return Read([&](Connection& db) -> Result<LiveRunCounts> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(run_sql::kCountLiveRuns, "count live runs"));
    TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
    LiveRunCounts counts;
    if (row) {
      counts.queued = st.ColumnInt64(0);
      counts.retrying = st.ColumnInt64(1);
      counts.running = st.ColumnInt64(2);
    }
    return counts;
  });
}

Result<PurgeResult> SqliteStore::Purge(const PurgeRequest& request) {
  PurgeResult result;
  result.bodies_after_seq = request.bodies_after_seq;
  const int limit = std::max(1, request.limit);
  Status written = Write([&](Connection& db) -> Status {
    // A failed write rolls back: report nothing of it.
    result = PurgeResult{};
    result.bodies_after_seq = request.bodies_after_seq;
    // Whether an event still has a run that dispatch will read it for.
    auto has_live_runs = [&](const std::string& workspace_id,
                             const std::string& event_id) -> Result<bool> {
      TRIGGERD_ASSIGN_OR_RETURN(
          Statement live,
          db.Prepare("SELECT EXISTS (SELECT 1 FROM runs WHERE workspace_id = ?1 AND event_id = ?2 "
                     "AND status IN ('queued', 'retrying', 'running'))",
                     "purge: live runs"));
      live.BindText(1, workspace_id).BindText(2, event_id);
      TRIGGERD_ASSIGN_OR_RETURN(bool row, live.Step());
      return row && live.ColumnInt64(0) != 0;
    };

    if (request.events_before > 0) {
      // Oldest first by seq: old events sit at the front of the table, so the scan stops soon
      // after the cutoff. Events kept for their live runs are stepped over (few, and short-lived).
      struct Doomed {
        int64_t seq;
        std::string id, workspace_id;
      };
      std::vector<Doomed> doomed;
      {
        TRIGGERD_ASSIGN_OR_RETURN(
            Statement old,
            db.Prepare(
                "SELECT seq, id, workspace_id FROM events WHERE received_at < ?1 ORDER BY seq",
                "purge: old events"));
        old.BindInt64(1, request.events_before);
        TRIGGERD_RETURN_IF_ERROR(ForEachRow(old, [&](const Statement& row) -> Result<RowScan> {
          if (static_cast<int>(doomed.size()) == limit) {
            result.more = true;
            return RowScan::kStop;
          }
          Doomed d{row.ColumnInt64(0), row.ColumnText(1), row.ColumnText(2)};
          TRIGGERD_ASSIGN_OR_RETURN(const bool busy, has_live_runs(d.workspace_id, d.id));
          if (!busy) doomed.push_back(std::move(d));
          return RowScan::kNext;
        }));
      }  // the scan's statement ends before the deletes
      for (const Doomed& d : doomed) {
        TRIGGERD_ASSIGN_OR_RETURN(
            Statement runs, db.Prepare("DELETE FROM runs WHERE workspace_id = ?1 AND event_id = ?2",
                                       "purge: runs"));
        runs.BindText(1, d.workspace_id).BindText(2, d.id);
        TRIGGERD_RETURN_IF_ERROR(runs.Run());  // their messages go by ON DELETE CASCADE
        result.runs_deleted += db.changes();
        TRIGGERD_ASSIGN_OR_RETURN(
            Statement matches,
            db.Prepare("DELETE FROM matches WHERE event_id = ?1", "purge: matches"));
        matches.BindText(1, d.id);
        TRIGGERD_RETURN_IF_ERROR(matches.Run());
        TRIGGERD_ASSIGN_OR_RETURN(Statement event,
                                  db.Prepare("DELETE FROM events WHERE seq = ?1", "purge: event"));
        event.BindInt64(1, d.seq);
        TRIGGERD_RETURN_IF_ERROR(event.Run());
        ++result.events_deleted;
      }
    }

    if (request.bodies_before > 0 && !result.more) {
      // payload_json 'null' marks an emptied body: no stored event has it otherwise (a payload
      // is a JSON object or array, or the form fields as an object).
      std::vector<int64_t> emptied;
      {
        TRIGGERD_ASSIGN_OR_RETURN(
            Statement old,
            db.Prepare("SELECT seq, id, workspace_id, payload_json = 'null' FROM events "
                       "WHERE seq > ?1 AND received_at < ?2 ORDER BY seq",
                       "purge: old bodies"));
        old.BindInt64(1, request.bodies_after_seq).BindInt64(2, request.bodies_before);
        int examined = 0;
        TRIGGERD_RETURN_IF_ERROR(ForEachRow(old, [&](const Statement& row) -> Result<RowScan> {
          if (examined == limit) {
            result.more = true;
            return RowScan::kStop;
          }
          ++examined;
          const int64_t seq = row.ColumnInt64(0);
          if (row.ColumnInt64(3) != 0) {
            result.bodies_after_seq = seq;
            return RowScan::kNext;
          }
          TRIGGERD_ASSIGN_OR_RETURN(const bool busy,
                                    has_live_runs(row.ColumnText(2), row.ColumnText(1)));
          // An event kept for its live runs stops the cursor: it is looked at again next time.
          if (busy) return RowScan::kStop;
          emptied.push_back(seq);
          result.bodies_after_seq = seq;
          return RowScan::kNext;
        }));
      }  // the scan's statement ends before the updates
      for (int64_t seq : emptied) {
        TRIGGERD_ASSIGN_OR_RETURN(
            Statement empty,
            db.Prepare("UPDATE events SET body = x'', payload_json = 'null' WHERE seq = ?1",
                       "purge: empty body"));
        empty.BindInt64(1, seq);
        TRIGGERD_RETURN_IF_ERROR(empty.Run());
        ++result.bodies_emptied;
      }
    }
    return Status::Ok();
  });
  if (!written.ok()) return written;
  return result;
}

}  // namespace triggerd::store::sqlite
