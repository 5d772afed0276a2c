// SqliteStore: the StoreOperations reads and writes — the live-run gauges and retention's
// Purge. (Close and Stats are the engine's, sqlite_store.cc.)
#include <algorithm>
#include <string>
#include <vector>

#include "store/purge_policy.h"
#include "store/purge_sql.h"
#include "store/run_sql.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {
namespace {

// Retention's reads and writes (store/purge_policy.h decides), on the writer connection inside
// the step's savepoint.
class SqlitePurgeTable final : public PurgeTable {
 public:
  explicit SqlitePurgeTable(Connection& db) : db_(db) {}

  // PurgeTable
  Result<std::vector<PurgeCandidate>> OldEvents(int64_t before, int64_t after, int limit) override {
    static const std::string kSql = SqliteParams(purge_sql::kOldEvents);
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db_.Prepare(kSql, "purge: old events"));
    st.BindInt64(1, before).BindInt64(2, after).BindInt64(3, limit);
    std::vector<PurgeCandidate> events;
    TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) {
      events.push_back(
          {row.ColumnInt64(0), row.ColumnText(1), row.ColumnText(2), row.ColumnInt64(3) != 0});
    }));
    return events;  // the scan's statement is reset before the writes
  }

  Result<bool> HasLiveRuns(std::string_view workspace_id, std::string_view event_id) override {
    static const std::string kSql = SqliteParams(purge_sql::kHasLiveRuns);
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db_.Prepare(kSql, "purge: live runs"));
    st.BindText(1, workspace_id).BindText(2, event_id);
    TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
    return row && st.ColumnInt64(0) != 0;
  }

  Result<int64_t> DeleteEvent(const PurgeCandidate& event) override {
    static const std::string kRuns = SqliteParams(purge_sql::kDeleteRunsOfEvent);
    static const std::string kMatches = SqliteParams(purge_sql::kDeleteMatchesOfEvent);
    static const std::string kEvent = SqliteParams(purge_sql::kDeleteEvent);
    TRIGGERD_ASSIGN_OR_RETURN(Statement runs, db_.Prepare(kRuns, "purge: runs"));
    runs.BindText(1, event.workspace_id).BindText(2, event.id);
    TRIGGERD_RETURN_IF_ERROR(runs.Run());
    const int64_t runs_deleted = db_.changes();
    TRIGGERD_ASSIGN_OR_RETURN(Statement matches, db_.Prepare(kMatches, "purge: matches"));
    matches.BindText(1, event.id);
    TRIGGERD_RETURN_IF_ERROR(matches.Run());
    TRIGGERD_ASSIGN_OR_RETURN(Statement gone, db_.Prepare(kEvent, "purge: event"));
    gone.BindInt64(1, event.seq);
    TRIGGERD_RETURN_IF_ERROR(gone.Run());
    return runs_deleted;
  }

  Status EmptyBody(int64_t seq) override {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db_.Prepare("UPDATE events SET body = x'', payload_json = 'null' WHERE seq = ?1",
                    "purge: empty body"));
    st.BindInt64(1, seq);
    return st.Run();
  }

 private:
  Connection& db_;
};

}  // namespace

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
  TRIGGERD_RETURN_IF_ERROR(Write([&](Connection& db) -> Status {
    // A failed write rolls back: report nothing of it.
    SqlitePurgeTable table(db);
    TRIGGERD_ASSIGN_OR_RETURN(result, PurgeStep(table, request));
    return Status::Ok();
  }));
  return result;
}

}  // namespace triggerd::store::sqlite
