// SqliteStore: the EventLog — an append's rows (applied by the group commit, group_commit.cc),
// the transactional outbox of matches and runs, event and match reads, and replay's
// AppendMatches.
#include <algorithm>
#include <string>
#include <utility>

#include "store/sqlite/connection.h"
#include "store/sqlite/json_text.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

namespace {

// Writes an event's outbox — its match records and runs — inside the caller's savepoint. The
// event id and workspace come from the caller (the event), not from the records. Returns the
// number of runs written.
Result<uint64_t> WriteOutbox(Connection& db, std::string_view workspace_id,
                             std::string_view event_id, const std::vector<Match>& matches,
                             const std::vector<NewRun>& runs) {
  for (const Match& m : matches) {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement insert,
        db.Prepare(
            "INSERT INTO matches (workspace_id, event_id, trigger_id, outcome, run_id, message, "
            "evaluated_at, replay, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            "insert match"));
    insert.BindText(1, workspace_id)
        .BindText(2, event_id)
        .BindText(3, m.trigger_id)
        .BindText(4, MatchOutcomeName(m.outcome))
        .BindText(5, m.run_id)
        .BindText(6, m.message)
        .BindInt64(7, m.evaluated_at)
        .BindInt64(8, m.replay ? 1 : 0)
        .BindText(9, m.reason);
    TRIGGERD_RETURN_IF_ERROR(insert.Run());
  }
  for (const NewRun& r : runs) {
    // max_attempts 0: the agent's, read in this transaction; a run whose agent is already gone
    // keeps Agent{}.max_attempts and is cancelled by the first claim that finds it due (failing
    // the whole append instead would lose the event over a race with DeleteAgent).
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement insert,
        db.Prepare("INSERT INTO runs (id, workspace_id, event_id, trigger_id, agent_id, owner, "
                   "include_payload, max_attempts, created_at, status, attempts, next_attempt_at, "
                   "lease_owner, lease_expires_at, started_at, finished_at, last_error) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 = 0 THEN coalesce("
                   "  (SELECT max_attempts FROM agents WHERE id = ?5 AND workspace_id = ?2), ?10) "
                   "ELSE ?8 END,"
                   " ?9, 'queued', 0, ?9, '', 0, NULL, NULL, '')",
                   "insert run"));
    insert.BindText(1, r.id)
        .BindText(2, workspace_id)
        .BindText(3, event_id)
        .BindText(4, r.trigger_id)
        .BindText(5, r.agent_id)
        .BindText(6, r.owner)
        .BindInt64(7, r.include_payload ? 1 : 0)
        .BindInt64(8, r.max_attempts)
        .BindInt64(9, r.created_at)
        .BindInt64(10, Agent{}.max_attempts);
    TRIGGERD_RETURN_IF_ERROR(insert.Run());
  }
  return static_cast<uint64_t>(runs.size());
}

}  // namespace

// ---- Appends (on the writer thread, inside the append's savepoint) ----

Result<AppendOutcome> SqliteStore::ApplyAppend(const NewEvent& event) {
  if (!event.delivery_id.empty()) {
    // Reads this transaction's own inserts too, so a repeat within one batch is caught. The
    // redundant `delivery_id != ''` lets the planner use the partial unique index events_dedup.
    // A duplicate writes nothing: neither the event nor its outbox.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement find,
        writer_->Prepare("SELECT id, received_at FROM events "
                         "WHERE source_id = ?1 AND delivery_id = ?2 AND delivery_id != ''",
                         "find duplicate delivery"));
    find.BindText(1, event.source_id).BindText(2, event.delivery_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, find.Step());
    if (row) return AppendOutcome{find.ColumnText(0), find.ColumnInt64(1), true};
  }
  // Declared before `insert`, whose destruction (which clears its bindings) must come first: the
  // large values are bound without a copy.
  const std::string headers_json = EncodeHeaders(event.headers);
  TRIGGERD_ASSIGN_OR_RETURN(
      Statement insert,
      writer_->Prepare(
          "INSERT INTO events (id, workspace_id, source_id, received_at, content_type, event_type, "
          "delivery_id, headers, body, payload_json, remote_addr, verification) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
          "insert event"));
  insert.BindText(1, event.id)
      .BindText(2, event.workspace_id)
      .BindText(3, event.source_id)
      .BindInt64(4, event.received_at)
      .BindText(5, event.content_type)
      .BindText(6, event.event_type)
      .BindText(7, event.delivery_id)
      .BindTextNoCopy(8, headers_json)
      .BindBlobNoCopy(9, event.body)
      .BindTextNoCopy(10, event.payload_json)
      .BindText(11, event.remote_addr)
      .BindText(12, event.verification);
  TRIGGERD_RETURN_IF_ERROR(insert.Run());
  // The transactional outbox, in the event's savepoint: a failure here fails the append and
  // rolls the event back with it.
  TRIGGERD_ASSIGN_OR_RETURN(uint64_t runs, WriteOutbox(*writer_, event.workspace_id, event.id,
                                                       event.matches, event.runs));
  effects_.runs_created += runs;
  if (runs > 0) effects_.runs_made_due = true;
  return AppendOutcome{event.id, event.received_at, false};
}

// ---- Events ----

Result<Event> SqliteStore::GetEvent(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Event> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kEventColumns,
                                         " FROM events WHERE id = ?1 AND workspace_id = ?2"}),
                                 "get event"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("event not found");
    return ReadEvent(st);
  });
}

Result<Page<EventSummary>> SqliteStore::ListEvents(const EventQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  // The text depends only on which filters are present (32 shapes), so each shape is prepared
  // once per read connection and the planner picks the index that fits it: events_by_source
  // with a source, else events_by_workspace, both walked backwards from `before_seq`.
  // length() of a BLOB is read from the record header: the body is never loaded.
  std::string sql = Concat(
      {"SELECT ", kEventSummaryColumns, "length(body) FROM events WHERE workspace_id = ?1"});
  if (!q.source_id.empty()) sql += " AND source_id = ?2";
  if (!q.status.empty()) sql += " AND status = ?3";
  if (q.since) sql += " AND received_at >= ?4";
  if (q.until) sql += " AND received_at < ?5";
  if (q.before_seq) sql += " AND seq < ?6";
  sql += " ORDER BY seq DESC LIMIT ?7";

  return Read([&](Connection& db) -> Result<Page<EventSummary>> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "list events"));
    st.BindText(1, q.workspace_id);
    if (!q.source_id.empty()) st.BindText(2, q.source_id);
    if (!q.status.empty()) st.BindText(3, q.status);
    if (q.since) st.BindInt64(4, *q.since);
    if (q.until) st.BindInt64(5, *q.until);
    if (q.before_seq) st.BindInt64(6, *q.before_seq);
    st.BindInt64(7, limit + 1);  // one extra row tells whether another page exists
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<EventSummary> rows,
                              CollectRows<EventSummary>(st, ReadEventSummary));
    return ToPage(std::move(rows), limit);
  });
}

// ---- Match records ----

Result<std::vector<Match>> SqliteStore::ListEventMatches(std::string_view workspace_id,
                                                         std::string_view event_id) {
  return Read([&](Connection& db) -> Result<std::vector<Match>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(Concat({"SELECT ", kMatchColumns,
                           " FROM matches WHERE event_id = ?1 AND workspace_id = ?2 ORDER BY seq"}),
                   "list event matches"));
    st.BindText(1, event_id).BindText(2, workspace_id);
    return CollectRows<Match>(st, ReadMatch);
  });
}

Result<Page<Match>> SqliteStore::ListTriggerMatches(const MatchQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  std::string sql = Concat(
      {"SELECT ", kMatchColumns, " FROM matches WHERE trigger_id = ?1 AND workspace_id = ?2"});
  if (q.outcome) sql += " AND outcome = ?3";
  if (q.before_seq) sql += " AND seq < ?4";
  sql += " ORDER BY seq DESC LIMIT ?5";
  return Read([&](Connection& db) -> Result<Page<Match>> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "list trigger matches"));
    st.BindText(1, q.trigger_id).BindText(2, q.workspace_id);
    if (q.outcome) st.BindText(3, MatchOutcomeName(*q.outcome));
    if (q.before_seq) st.BindInt64(4, *q.before_seq);
    st.BindInt64(5, limit + 1);
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<Match> rows, CollectRows<Match>(st, ReadMatch));
    return ToPage(std::move(rows), limit);
  });
}

Status SqliteStore::AppendMatches(std::string_view workspace_id, std::string_view event_id,
                                  std::vector<Match> matches, std::vector<NewRun> runs) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(bool event,
                              Exists(db, "SELECT 1 FROM events WHERE id = ?1 AND workspace_id = ?2",
                                     "append matches", event_id, workspace_id));
    if (!event) return Status::NotFound("event not found");
    TRIGGERD_ASSIGN_OR_RETURN(uint64_t written,
                              WriteOutbox(db, workspace_id, event_id, matches, runs));
    effects_.runs_created += written;
    if (written > 0) effects_.runs_made_due = true;
    return Status::Ok();
  });
}

}  // namespace triggerd::store::sqlite
