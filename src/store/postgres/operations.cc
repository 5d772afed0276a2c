// PostgresStore: the StoreOperations reads and writes — the live-run gauges and retention's
// Purge. (Close and Stats are the engine's, pg_store.cc.)
#include <algorithm>
#include <string>
#include <vector>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"
#include "store/purge_policy.h"
#include "store/purge_sql.h"
#include "store/run_sql.h"

namespace triggerd::store::postgres {
namespace {

// Retention's reads and writes (store/purge_policy.h decides), inside the step's transaction.
class PgPurgeTable final : public PurgeTable {
 public:
  explicit PgPurgeTable(PgConnection& db) : db_(db) {}

  // PurgeTable
  Result<bool> HasLiveRuns(std::string_view workspace_id, std::string_view event_id) override {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db_.Exec(purge_sql::kHasLiveRuns, Params().Text(workspace_id).Text(event_id),
                             "purge: live runs"));
    return r.rows() > 0 && r.Bool(0, 0);
  }

  Result<std::vector<PurgeCandidate>> OldEvents(int64_t before, int64_t after, int limit) override {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db_.Exec(purge_sql::kOldEvents,
                                                   Params().Int64(before).Int64(after).Int64(limit),
                                                   "purge: old events"));
    std::vector<PurgeCandidate> events;
    events.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      events.push_back({r.Int64(i, 0), r.Text(i, 1), r.Text(i, 2), r.Bool(i, 3)});
    }
    return events;
  }

  Result<int64_t> DeleteEvent(const PurgeCandidate& event) override {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult runs, db_.Exec(purge_sql::kDeleteRunsOfEvent,
                                Params().Text(event.workspace_id).Text(event.id), "purge: runs"));
    TRIGGERD_RETURN_IF_ERROR(
        ExecOnly(db_, purge_sql::kDeleteMatchesOfEvent, Params().Text(event.id), "purge: matches"));
    TRIGGERD_RETURN_IF_ERROR(
        ExecOnly(db_, purge_sql::kDeleteEvent, Params().Int64(event.seq), "purge: event"));
    return runs.affected();
  }

  Status EmptyBody(int64_t seq) override {
    return ExecOnly(db_, "UPDATE events SET body = ''::bytea, payload_json = 'null' WHERE seq = $1",
                    Params().Int64(seq), "purge: empty body");
  }

 private:
  PgConnection& db_;
};

}  // namespace

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
  TRIGGERD_RETURN_IF_ERROR(Write("purge", [&](PgConnection& db, TxnEffects&) -> Status {
    PgPurgeTable table(db);
    TRIGGERD_ASSIGN_OR_RETURN(result, PurgeStep(table, request));
    return Status::Ok();
  }));
  return result;
}

}  // namespace triggerd::store::postgres
