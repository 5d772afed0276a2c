// SqliteStore: the RunQueue — run reads, RetryRun/CancelRun, and dispatch: claims, the end of
// attempts, the next due time, released leases. What a claim takes and when the next run is due
// is decided by store/run_policy.h; the statements are store/run_sql.h's. Every write runs on the
// writer thread inside its request's savepoint (group_commit.cc): with one writer, nothing
// changes between a claim's reads and its writes.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "store/run_policy.h"
#include "store/run_sql.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {
namespace {

// run_sql.h's statements in SQLite's parameter spelling, rewritten once.
struct RunStatements {
  std::string insert_run_message = SqliteParams(run_sql::kInsertRunMessage);
  std::string agent_limit = SqliteParams(run_sql::kAgentLimit);
  std::string run_status = SqliteParams(run_sql::kRunStatus);
  std::string retry_run = SqliteParams(run_sql::kRetryRun);
  std::string cancel_run = SqliteParams(run_sql::kCancelRun);
  std::string due_waiting_runs = SqliteParams(run_sql::kDueWaitingRuns);
  std::string retire_run = SqliteParams(run_sql::kRetireRun);
  std::string cancel_waiting_runs_of_agent = SqliteParams(run_sql::kCancelWaitingRunsOfAgent);
  std::string cancel_expired_runs_of_agent = SqliteParams(run_sql::kCancelExpiredRunsOfAgent);
  std::string claim_run = SqliteParams(Concat({run_sql::kClaimRun, " RETURNING ", kRunColumns}));
  std::string attempt_fence = SqliteParams(run_sql::kAttemptFence);
  std::string end_attempt = SqliteParams(run_sql::kEndAttempt);
  std::string release_leases = SqliteParams(run_sql::kReleaseLeases);
};

const RunStatements& Sql() {
  static const RunStatements statements;
  return statements;
}

Status InsertRunMessage(Connection& db, const RunMessage& m) {
  TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                            db.Prepare(Sql().insert_run_message, "insert run message"));
  st.BindText(1, m.run_id).BindInt64(2, m.attempt).BindText(3, m.role).BindText(4, m.content);
  st.BindInt64(5, m.at);
  return st.Run();
}

// The run's status within its workspace, or kNotFound.
Result<RunStatus> RunStatusOf(Connection& db, std::string_view workspace_id, std::string_view id,
                              std::string_view op) {
  TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().run_status, op));
  st.BindText(1, id).BindText(2, workspace_id);
  TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
  if (!row) return Status::NotFound("run not found");
  return StoredRunStatus(st.ColumnText(0), op);
}

// The rows the run policy reads, on one connection: the writer's inside a claim's savepoint, or a
// reader's inside one read transaction (NextDueTime).
class SqliteRunRows final : public RunRows {
 public:
  explicit SqliteRunRows(Connection& db) : db_(db) {}

  // RunRows
  Result<std::vector<RunningRun>> RunningRuns() override {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db_.Prepare(run_sql::kRunningRuns, "read running runs"));
    std::vector<RunningRun> runs;
    TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) {
      runs.push_back({row.ColumnInt64(0), row.ColumnText(1), row.ColumnInt64(2), row.ColumnInt64(3),
                      row.ColumnInt64(4), row.ColumnText(5), row.ColumnText(6)});
    }));
    return runs;
  }

  Result<std::vector<WaitingAgent>> WaitingAgents() override {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db_.Prepare(run_sql::kWaitingAgents, "read waiting agents"));
    std::vector<WaitingAgent> agents;
    TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) {
      agents.push_back({row.ColumnText(0), row.ColumnInt64(1)});
    }));
    return agents;
  }

  Result<std::optional<AgentLimit>> AgentLimitOf(std::string_view id) override {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db_.Prepare(Sql().agent_limit, "read agent concurrency"));
    st.BindText(1, id);
    TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
    if (!row) return std::optional<AgentLimit>();
    return std::optional<AgentLimit>(
        AgentLimit{st.ColumnText(0), static_cast<int>(st.ColumnInt64(1))});
  }

  Result<std::vector<ClaimCandidate>> DueWaitingRuns(std::string_view agent_id, int64_t now,
                                                     int limit) override {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db_.Prepare(Sql().due_waiting_runs, "read due runs"));
    st.BindText(1, agent_id).BindInt64(2, now).BindInt64(3, limit);
    std::vector<ClaimCandidate> due;
    TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) {
      due.push_back({row.ColumnInt64(1), row.ColumnInt64(0), false});
    }));
    return due;
  }

 private:
  Connection& db_;
};

// Writes ClaimPlan::retire_seqs: dead, with an "error" message for the cut attempt.
Status RetireRuns(Connection& db, const std::vector<int64_t>& seqs, int64_t now) {
  for (int64_t seq : seqs) {
    std::string run_id;
    int64_t attempt = 0;
    {
      TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().retire_run, "retire expired run"));
      st.BindInt64(1, seq).BindInt64(2, now).BindText(3, kLastLeaseExpiredError);
      TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) continue;
      run_id = st.ColumnText(0);
      attempt = st.ColumnInt64(1);
      TRIGGERD_RETURN_IF_ERROR(st.Run());  // RETURNING: step to the end before the next write
    }
    TRIGGERD_RETURN_IF_ERROR(
        InsertRunMessage(db, CutAttemptMessage(run_id, attempt, kLastLeaseExpiredError, now)));
  }
  return Status::Ok();
}

// Writes ClaimPlan::gone_agents: their waiting runs and expired leases are cancelled.
Status CancelRunsOfGoneAgents(Connection& db, const std::vector<std::string>& agents, int64_t now) {
  for (const std::string& agent_id : agents) {
    for (const std::string* sql :
         {&Sql().cancel_waiting_runs_of_agent, &Sql().cancel_expired_runs_of_agent}) {
      TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(*sql, "cancel runs of deleted agent"));
      st.BindText(1, agent_id).BindInt64(2, now).BindText(3, kAgentDeletedError);
      TRIGGERD_RETURN_IF_ERROR(st.Run());
    }
  }
  return Status::Ok();
}

// Writes ClaimPlan::claims, appending the leased runs to `claimed`.
Status LeaseRuns(Connection& db, const ClaimRequest& request,
                 const std::vector<ClaimCandidate>& claims, std::vector<Run>* claimed) {
  for (const ClaimCandidate& c : claims) {
    Run run;
    {
      TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().claim_run, "claim run"));
      st.BindInt64(1, c.seq).BindText(2, request.owner);
      st.BindInt64(3, request.now + request.lease_micros).BindInt64(4, request.now);
      st.BindText(5, kLeaseExpiredError);
      TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
      if (!row) continue;
      TRIGGERD_ASSIGN_OR_RETURN(run, ReadRun(st));
      TRIGGERD_RETURN_IF_ERROR(st.Run());  // RETURNING: step to the end before the next write
    }
    if (c.reclaim) TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(db, ReclaimMessage(run, request.now)));
    claimed->push_back(std::move(run));
  }
  return Status::Ok();
}

}  // namespace

Result<Run> SqliteStore::GetRun(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Run> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db.Prepare(Concat({"SELECT ", kRunColumns,
                                                 " FROM runs WHERE id = ?1 AND workspace_id = ?2"}),
                                         "get run"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("run not found");
    return ReadRun(st);
  });
}

Result<Page<Run>> SqliteStore::ListRuns(const RunQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  // As ListEvents: one text per combination of filters, each prepared once per read connection;
  // the planner walks the runs_by_* index of the most selective equality backwards from the
  // cursor and filters the rest (status, times) on the way.
  std::string sql = Concat({"SELECT ", kRunColumns, " FROM runs WHERE workspace_id = ?1"});
  if (!q.trigger_id.empty()) sql += " AND trigger_id = ?2";
  if (!q.agent_id.empty()) sql += " AND agent_id = ?3";
  if (!q.event_id.empty()) sql += " AND event_id = ?4";
  if (!q.owner.empty()) sql += " AND owner = ?5";
  if (q.status) sql += " AND status = ?6";
  if (q.since) sql += " AND created_at >= ?7";
  if (q.until) sql += " AND created_at < ?8";
  if (q.before_seq) sql += " AND seq < ?9";
  sql += " ORDER BY seq DESC LIMIT ?10";
  return Read([&](Connection& db) -> Result<Page<Run>> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "list runs"));
    st.BindText(1, q.workspace_id);
    if (!q.trigger_id.empty()) st.BindText(2, q.trigger_id);
    if (!q.agent_id.empty()) st.BindText(3, q.agent_id);
    if (!q.event_id.empty()) st.BindText(4, q.event_id);
    if (!q.owner.empty()) st.BindText(5, q.owner);
    if (q.status) st.BindText(6, RunStatusName(*q.status));
    if (q.since) st.BindInt64(7, *q.since);
    if (q.until) st.BindInt64(8, *q.until);
    if (q.before_seq) st.BindInt64(9, *q.before_seq);
    st.BindInt64(10, limit + 1);
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<Run> rows, CollectRows<Run>(st, ReadRun));
    return ToPage(std::move(rows), limit);
  });
}

Result<std::vector<RunMessage>> SqliteStore::ListRunMessages(std::string_view run_id) {
  return Read([&](Connection& db) -> Result<std::vector<RunMessage>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kRunMessageColumns,
                                         " FROM run_messages WHERE run_id = ?1 ORDER BY seq"}),
                                 "list run messages"));
    st.BindText(1, run_id);
    return CollectRows<RunMessage>(st, ReadRunMessage);
  });
}

Status SqliteStore::RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(const RunStatus status,
                              RunStatusOf(db, workspace_id, id, "retry run"));
    TRIGGERD_RETURN_IF_ERROR(CheckRetryable(status));
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().retry_run, "retry run"));
    st.BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    effects_.runs_made_due = true;
    return Status::Ok();
  });
}

Status SqliteStore::CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(const RunStatus status,
                              RunStatusOf(db, workspace_id, id, "cancel run"));
    TRIGGERD_RETURN_IF_ERROR(CheckCancellable(status));
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().cancel_run, "cancel run"));
    st.BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    return st.Run();
  });
}

// ---- Dispatch ----

Status SqliteStore::ClaimInTransaction(Connection& db, const ClaimRequest& request, int limit,
                                       std::vector<Run>* claimed) {
  SqliteRunRows rows(db);
  TRIGGERD_ASSIGN_OR_RETURN(const ClaimPlan plan, PlanClaims(rows, request, limit));
  TRIGGERD_RETURN_IF_ERROR(RetireRuns(db, plan.retire_seqs, request.now));
  TRIGGERD_RETURN_IF_ERROR(CancelRunsOfGoneAgents(db, plan.gone_agents, request.now));
  return LeaseRuns(db, request, plan.claims, claimed);
}

Result<std::vector<Run>> SqliteStore::ClaimRuns(const ClaimRequest& request) {
  TRIGGERD_ASSIGN_OR_RETURN(const int limit, ClaimLimit(request));
  if (limit == 0) return std::vector<Run>();
  std::vector<Run> claimed;
  TRIGGERD_RETURN_IF_ERROR(Write([&](Connection& db) -> Status {
    claimed.clear();  // only what the kept savepoint claimed counts
    return ClaimInTransaction(db, request, limit, &claimed);
  }));
  return claimed;
}

Result<std::vector<Status>> SqliteStore::FinishAttempts(const std::vector<AttemptResult>& results) {
  std::vector<Status> finished;
  TRIGGERD_RETURN_IF_ERROR(Write([&](Connection& db) -> Status {
    finished.clear();  // only what the kept savepoint recorded counts
    finished.reserve(results.size());
    for (const AttemptResult& r : results) {
      // A kConflict or kNotFound is decided before anything of that result is written, so it
      // confines itself to its result; any other failure is the write's.
      AttemptFence fence;
      {
        TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().attempt_fence, "finish attempt"));
        st.BindText(1, r.run_id);
        TRIGGERD_ASSIGN_OR_RETURN(const bool row, st.Step());
        if (!row) {
          finished.push_back(Status::NotFound("run not found"));
          continue;
        }
        fence = {st.ColumnText(0), st.ColumnText(1), st.ColumnInt64(2), st.ColumnInt64(3)};
      }
      Result<AttemptEnd> end = EndAttempt(r, fence);
      if (!end) {
        finished.push_back(end.error());
        continue;
      }
      TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().end_attempt, "finish attempt"));
      st.BindText(1, r.run_id).BindText(2, end->status).BindText(3, end->last_error);
      if (end->final) {
        st.BindInt64(4, r.finished_at).BindNull(5);
      } else {
        st.BindNull(4).BindInt64(5, r.next_attempt_at);
      }
      TRIGGERD_RETURN_IF_ERROR(st.Run());
      TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(db, FinishedAttemptMessage(r, *end)));
      finished.push_back(Status::Ok());
      // The ended attempt freed a slot of its agent (and of the dispatcher): runs held back by
      // it may be claimed, by the standing claim of this very commit.
      effects_.attempts_ended = true;
    }
    return Status::Ok();
  }));
  return finished;
}

Result<std::optional<int64_t>> SqliteStore::NextDueTime() {
  return Read([&](Connection& db) -> Result<std::optional<int64_t>> {
    // Several statements: one read transaction, so they see one snapshot.
    TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN", "next due time"));
    SqliteRunRows rows(db);
    Result<std::optional<int64_t>> next = ComputeNextDueTime(rows);
    // Ends the read transaction whatever happened, so the pooled connection holds no snapshot.
    Status end = db.Exec("COMMIT", "next due time");
    if (!end.ok()) {
      if (db.in_transaction()) (void)db.Exec("ROLLBACK", "next due time");
      return end;
    }
    return next;
  });
}

Status SqliteStore::ReleaseLeases(std::string_view keep_owner, int64_t now) {
  return Write([&](Connection& db) -> Status {
    struct Released {
      std::string run_id;
      int64_t attempt;
      bool dead;
    };
    std::vector<Released> released;
    {
      TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(Sql().release_leases, "release leases"));
      st.BindText(1, keep_owner).BindInt64(2, now).BindText(3, kLastLeaseReleasedError);
      st.BindText(4, kLeaseReleasedError);
      TRIGGERD_RETURN_IF_ERROR(ForEachRow(st, [&](const Statement& row) {
        released.push_back({row.ColumnText(0), row.ColumnInt64(1), row.ColumnInt64(2) != 0});
      }));
    }
    for (const Released& r : released) {
      TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(
          db, CutAttemptMessage(r.run_id, r.attempt,
                                r.dead ? kLastLeaseReleasedError : kLeaseReleasedError, now)));
      if (!r.dead) effects_.runs_made_due = true;
    }
    return Status::Ok();
  });
}

}  // namespace triggerd::store::sqlite
