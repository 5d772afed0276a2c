// PostgresStore: the StoreOperations reads and writes — the live-run gauges and retention's
// Purge. (Close and Stats are the engine's, pg_store.cc.)
#include <algorithm>
#include <string>
#include <vector>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"
#include "store/run_sql.h"

namespace triggerd::store::postgres {

Result<LiveRunCounts> PostgresStore::CountLiveRuns() {
  return Read([&](PgConnection& db) -> Result<LiveRunCounts> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db.Exec(run_sql::kCountLiveRuns, Params(), "count live runs"));
    LiveRunCounts counts;
    if (r.rows() > 0) {
      counts.queued = r.Int64(0, 0);
      counts.retrying = r.Int64(0, 1);
      counts.running = r.Int64(0, 2);
    }
    return counts;
  });
}

Result<PurgeResult> PostgresStore::Purge(const PurgeRequest& request) {
  PurgeResult result;
  result.bodies_after_seq = request.bodies_after_seq;
  const int limit = std::max(1, request.limit);
  Status written = Write("purge", [&](PgConnection& db, TxnEffects&) -> Status {
    result = PurgeResult{};
    result.bodies_after_seq = request.bodies_after_seq;
    auto has_live_runs = [&](const std::string& workspace_id,
                             const std::string& event_id) -> Result<bool> {
      TRIGGERD_ASSIGN_OR_RETURN(
          PgResult live,
          db.Exec("SELECT EXISTS (SELECT 1 FROM runs WHERE workspace_id = $1 AND event_id = $2 "
                  "AND status IN ('queued', 'retrying', 'running'))",
                  Params().Text(workspace_id).Text(event_id), "purge: live runs"));
      return live.rows() > 0 && live.Bool(0, 0);
    };

    if (request.events_before > 0) {
      // Oldest first; at most limit + 1 rows beyond the ones kept for their live runs are read
      // per page of the scan.
      struct Doomed {
        int64_t seq;
        std::string id, workspace_id;
      };
      std::vector<Doomed> doomed;
      int64_t after = 0;
      bool done = false;
      while (!done && !result.more) {
        TRIGGERD_ASSIGN_OR_RETURN(
            PgResult old,
            db.Exec("SELECT seq, id, workspace_id FROM events WHERE received_at < $1 AND seq > $2 "
                    "ORDER BY seq LIMIT $3",
                    Params().Int64(request.events_before).Int64(after).Int64(limit + 1),
                    "purge: old events"));
        if (old.rows() == 0) break;
        done = old.rows() < limit + 1;
        for (int i = 0; i < old.rows(); ++i) {
          if (static_cast<int>(doomed.size()) == limit) {
            result.more = true;
            break;
          }
          Doomed d{old.Int64(i, 0), old.Text(i, 1), old.Text(i, 2)};
          after = d.seq;
          TRIGGERD_ASSIGN_OR_RETURN(bool busy, has_live_runs(d.workspace_id, d.id));
          if (!busy) doomed.push_back(std::move(d));
        }
      }
      for (const Doomed& d : doomed) {
        TRIGGERD_ASSIGN_OR_RETURN(
            PgResult runs, db.Exec("DELETE FROM runs WHERE workspace_id = $1 AND event_id = $2",
                                   Params().Text(d.workspace_id).Text(d.id), "purge: runs"));
        result.runs_deleted += runs.affected();
        TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "DELETE FROM matches WHERE event_id = $1",
                                          Params().Text(d.id), "purge: matches"));
        TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "DELETE FROM events WHERE seq = $1",
                                          Params().Int64(d.seq), "purge: event"));
        ++result.events_deleted;
      }
    }

    if (request.bodies_before > 0 && !result.more) {
      std::vector<int64_t> emptied;
      TRIGGERD_ASSIGN_OR_RETURN(
          PgResult old, db.Exec("SELECT seq, id, workspace_id, payload_json = 'null' FROM events "
                                "WHERE seq > $1 AND received_at < $2 ORDER BY seq LIMIT $3",
                                Params()
                                    .Int64(request.bodies_after_seq)
                                    .Int64(request.bodies_before)
                                    .Int64(limit + 1),
                                "purge: old bodies"));
      int examined = 0;
      for (int i = 0; i < old.rows(); ++i) {
        if (examined == limit) {
          result.more = true;
          break;
        }
        ++examined;
        const int64_t seq = old.Int64(i, 0);
        if (old.Bool(i, 3)) {
          result.bodies_after_seq = seq;
          continue;
        }
        TRIGGERD_ASSIGN_OR_RETURN(bool busy, has_live_runs(old.Text(i, 2), old.Text(i, 1)));
        if (busy) break;  // kept for its live runs: the cursor stops here, looked at next time
        emptied.push_back(seq);
        result.bodies_after_seq = seq;
      }
      for (int64_t seq : emptied) {
        TRIGGERD_RETURN_IF_ERROR(
            ExecOnly(db, "UPDATE events SET body = ''::bytea, payload_json = 'null' WHERE seq = $1",
                     Params().Int64(seq), "purge: empty body"));
        ++result.bodies_emptied;
      }
    }
    return Status::Ok();
  });
  if (!written.ok()) return written;
  return result;
}

}  // namespace triggerd::store::postgres
