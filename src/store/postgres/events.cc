// PostgresStore: the EventLog reads and replay's AppendMatches (appends are the group commit's,
// append_batch.cc).
#include <algorithm>
#include <string>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"

namespace triggerd::store::postgres {

// ---- Events ----

Result<Event> PostgresStore::GetEvent(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Event> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db.Exec(Concat({"SELECT ", kEventColumns,
                                              " FROM events WHERE id = $1 AND workspace_id = $2"}),
                                      Params().Text(id).Text(workspace_id), "get event"));
    return OneRow<Event>(r, ReadEvent, "event");
  });
}

Result<Page<EventSummary>> PostgresStore::ListEvents(const EventQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  // Only the filters present are in the text; their parameters are numbered in order.
  Params p;
  p.Text(q.workspace_id);
  // octet_length of a TOASTed bytea is read from its pointer: the body is never fetched.
  std::string sql = Concat(
      {"SELECT ", kEventSummaryColumns, "octet_length(body) FROM events WHERE workspace_id = $1"});
  auto next = [&p] { return Placeholder(p.size()); };
  if (!q.source_id.empty()) sql += " AND source_id = " + (p.Text(q.source_id), next());
  if (!q.status.empty()) sql += " AND status = " + (p.Text(q.status), next());
  if (q.since) sql += " AND received_at >= " + (p.Int64(*q.since), next());
  if (q.until) sql += " AND received_at < " + (p.Int64(*q.until), next());
  if (q.before_seq) sql += " AND seq < " + (p.Int64(*q.before_seq), next());
  sql += " ORDER BY seq DESC LIMIT " + (p.Int64(limit + 1), next());
  return Read([&](PgConnection& db) -> Result<Page<EventSummary>> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, p, "list events"));
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<EventSummary> rows,
                              CollectRows<EventSummary>(r, ReadEventSummary));
    return ToPage(std::move(rows), limit);
  });
}

// ---- Match records ----

Result<std::vector<Match>> PostgresStore::ListEventMatches(std::string_view workspace_id,
                                                           std::string_view event_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<Match>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kMatchColumns,
                        " FROM matches WHERE event_id = $1 AND workspace_id = $2 ORDER BY seq"}),
                Params().Text(event_id).Text(workspace_id), "list event matches"));
    return CollectRows<Match>(r, ReadMatch);
  });
}

Result<Page<Match>> PostgresStore::ListTriggerMatches(const MatchQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  Params p;
  p.Text(q.trigger_id).Text(q.workspace_id);
  std::string sql = Concat(
      {"SELECT ", kMatchColumns, " FROM matches WHERE trigger_id = $1 AND workspace_id = $2"});
  auto next = [&p] { return Placeholder(p.size()); };
  if (q.outcome) sql += " AND outcome = " + (p.Text(MatchOutcomeName(*q.outcome)), next());
  if (q.before_seq) sql += " AND seq < " + (p.Int64(*q.before_seq), next());
  sql += " ORDER BY seq DESC LIMIT " + (p.Int64(limit + 1), next());
  return Read([&](PgConnection& db) -> Result<Page<Match>> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, p, "list trigger matches"));
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<Match> rows, CollectRows<Match>(r, ReadMatch));
    return ToPage(std::move(rows), limit);
  });
}

Status PostgresStore::AppendMatches(std::string_view workspace_id, std::string_view event_id,
                                    std::vector<Match> matches, std::vector<NewRun> runs) {
  return Write("append matches", [&](PgConnection& db, TxnEffects& fx) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(bool event,
                              Exists(db, "SELECT 1 FROM events WHERE id = $1 AND workspace_id = $2",
                                     "append matches", event_id, workspace_id));
    if (!event) return Status::NotFound("event not found");
    static const std::string kInsertMatch = InsertMatchSql(false);
    static const std::string kInsertRun = InsertRunSql(false);
    for (const Match& m : matches) {
      TRIGGERD_RETURN_IF_ERROR(
          ExecOnly(db, kInsertMatch, MatchParams(workspace_id, event_id, m), "insert match"));
    }
    for (const NewRun& r : runs) {
      TRIGGERD_RETURN_IF_ERROR(
          ExecOnly(db, kInsertRun, RunParams(workspace_id, event_id, r), "insert run"));
    }
    fx.runs_created += runs.size();
    if (!runs.empty()) fx.runs_made_due = true;
    return Status::Ok();
  });
}

}  // namespace triggerd::store::postgres
