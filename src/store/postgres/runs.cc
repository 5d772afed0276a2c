// PostgresStore: the RunQueue — run reads, RetryRun/CancelRun, and dispatch: claims, the end of
// attempts, the next due time, released leases. What a claim takes and when the next run is due
// is decided by store/run_policy.h, as in the SQLite store; the statements are store/run_sql.h's.
// What differs is how concurrent writers on several nodes are kept apart: ClaimRuns holds a
// transaction-scoped advisory lock, so claims everywhere run one at a time and each counts the
// running runs the previous one committed; state checks (FinishAttempt, RetryRun, CancelRun) lock
// the run row (SELECT … FOR UPDATE) before deciding, and a claim skips waiting runs another
// transaction holds.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"
#include "store/run_policy.h"
#include "store/run_sql.h"

namespace triggerd::store::postgres {

// ---- Reads ----

Result<Run> PostgresStore::GetRun(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Run> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kRunColumns, " FROM runs WHERE id = $1 AND workspace_id = $2"}),
                Params().Text(id).Text(workspace_id), "get run"));
    return OneRow<Run>(r, ReadRun, "run");
  });
}

Result<Page<Run>> PostgresStore::ListRuns(const RunQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  Params p;
  p.Text(q.workspace_id);
  std::string sql = Concat({"SELECT ", kRunColumns, " FROM runs WHERE workspace_id = $1"});
  auto next = [&p] { return Placeholder(p.size()); };
  if (!q.trigger_id.empty()) sql += " AND trigger_id = " + (p.Text(q.trigger_id), next());
  if (!q.agent_id.empty()) sql += " AND agent_id = " + (p.Text(q.agent_id), next());
  if (!q.event_id.empty()) sql += " AND event_id = " + (p.Text(q.event_id), next());
  if (!q.owner.empty()) sql += " AND owner = " + (p.Text(q.owner), next());
  if (q.status) sql += " AND status = " + (p.Text(RunStatusName(*q.status)), next());
  if (q.since) sql += " AND created_at >= " + (p.Int64(*q.since), next());
  if (q.until) sql += " AND created_at < " + (p.Int64(*q.until), next());
  if (q.before_seq) sql += " AND seq < " + (p.Int64(*q.before_seq), next());
  sql += " ORDER BY seq DESC LIMIT " + (p.Int64(limit + 1), next());
  return Read([&](PgConnection& db) -> Result<Page<Run>> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, p, "list runs"));
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<Run> rows, CollectRows<Run>(r, ReadRun));
    return ToPage(std::move(rows), limit);
  });
}

Result<std::vector<RunMessage>> PostgresStore::ListRunMessages(std::string_view run_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<RunMessage>> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db.Exec(Concat({"SELECT ", kRunMessageColumns,
                                              " FROM run_messages WHERE run_id = $1 ORDER BY seq"}),
                                      Params().Text(run_id), "list run messages"));
    return CollectRows<RunMessage>(r, ReadRunMessage);
  });
}

// ---- Writes ----

namespace {

// pg_advisory_xact_lock key of ClaimRuns ("TRGDCLAM"): held until the claim commits, so claims on
// every node are serialised (they are short: bounded by the live runs).
constexpr int64_t kClaimLockKey = 0x54524744434c414dLL;

Status InsertRunMessage(PgConnection& db, const RunMessage& m) {
  return ExecOnly(
      db, run_sql::kInsertRunMessage,
      Params().Text(m.run_id).Int64(m.attempt).Text(m.role).Bytes(m.content).Int64(m.at),
      "insert run message");
}

// The run's status within its workspace, locked until the transaction ends, or kNotFound.
Result<RunStatus> LockRunStatus(PgConnection& db, std::string_view workspace_id,
                                std::string_view id, std::string_view op) {
  static const std::string kSql = Concat({run_sql::kRunStatus, " FOR UPDATE"});
  TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(kSql, Params().Text(id).Text(workspace_id), op));
  if (r.rows() == 0) return Status::NotFound("run not found");
  return StoredRunStatus(r.Text(0, 0), op);
}

// The rows the run policy reads, on one connection: inside a claim's transaction (under the
// advisory lock; READ COMMITTED, so each statement sees every claim committed before it), or
// inside one REPEATABLE READ snapshot (NextDueTime).
class PgRunRows final : public RunRows {
 public:
  explicit PgRunRows(PgConnection& db) : db_(db) {}

  // RunRows
  Result<std::vector<RunningRun>> RunningRuns() override {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db_.Exec(run_sql::kRunningRuns, Params(), "read running runs"));
    std::vector<RunningRun> runs;
    runs.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      runs.push_back({r.Int64(i, 0), r.Text(i, 1), r.Int64(i, 2), r.Int64(i, 3), r.Int64(i, 4),
                      r.Text(i, 5), r.Text(i, 6)});
    }
    return runs;
  }

  Result<std::vector<WaitingAgent>> WaitingAgents() override {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db_.Exec(run_sql::kWaitingAgents, Params(), "read waiting agents"));
    std::vector<WaitingAgent> agents;
    agents.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) agents.push_back({r.Text(i, 0), r.Int64(i, 1)});
    return agents;
  }

  Result<std::optional<AgentLimit>> AgentLimitOf(std::string_view id) override {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db_.Exec(run_sql::kAgentLimit, Params().Text(id),
                                                   "read agent concurrency"));
    if (r.rows() == 0) return std::optional<AgentLimit>();
    return std::optional<AgentLimit>(AgentLimit{r.Text(0, 0), static_cast<int>(r.Int64(0, 1))});
  }

  Result<std::vector<ClaimCandidate>> DueWaitingRuns(std::string_view agent_id, int64_t now,
                                                     int limit) override {
    // SKIP LOCKED: a run that a CancelRun/RetryRun holds right now is left for the next claim.
    static const std::string kSql = Concat({run_sql::kDueWaitingRuns, " FOR UPDATE SKIP LOCKED"});
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db_.Exec(kSql, Params().Text(agent_id).Int64(now).Int64(limit), "read due runs"));
    std::vector<ClaimCandidate> due;
    due.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) due.push_back({r.Int64(i, 1), r.Int64(i, 0), false});
    return due;
  }

 private:
  PgConnection& db_;
};

// Writes ClaimPlan::retire_seqs: dead, with an "error" message for the cut attempt.
Status RetireRuns(PgConnection& db, const std::vector<int64_t>& seqs, int64_t now) {
  for (int64_t seq : seqs) {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(run_sql::kRetireRun, Params().Int64(seq).Int64(now).Text(kLastLeaseExpiredError),
                "retire expired run"));
    if (r.rows() == 0) continue;  // finished meanwhile
    TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(
        db, CutAttemptMessage(r.Text(0, 0), r.Int64(0, 1), kLastLeaseExpiredError, now)));
  }
  return Status::Ok();
}

// Writes ClaimPlan::gone_agents: their waiting runs and expired leases are cancelled.
Status CancelRunsOfGoneAgents(PgConnection& db, const std::vector<std::string>& agents,
                              int64_t now) {
  for (const std::string& agent_id : agents) {
    const Params p = Params().Text(agent_id).Int64(now).Text(kAgentDeletedError);
    TRIGGERD_RETURN_IF_ERROR(
        ExecOnly(db, run_sql::kCancelWaitingRunsOfAgent, p, "cancel runs of deleted agent"));
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, run_sql::kCancelExpiredRunsOfAgent, p,
                                      "cancel expired runs of deleted agent"));
  }
  return Status::Ok();
}

// Writes ClaimPlan::claims, appending the leased runs to `claimed`.
Status LeaseRuns(PgConnection& db, const ClaimRequest& request,
                 const std::vector<ClaimCandidate>& claims, std::vector<Run>* claimed) {
  static const std::string kSql = Concat({run_sql::kClaimRun, " RETURNING ", kRunColumns});
  for (const ClaimCandidate& c : claims) {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(kSql,
                                                  Params()
                                                      .Int64(c.seq)
                                                      .Text(request.owner)
                                                      .Int64(request.now + request.lease_micros)
                                                      .Int64(request.now)
                                                      .Text(kLeaseExpiredError),
                                                  "claim run"));
    if (r.rows() == 0) continue;  // finished or cancelled meanwhile: not claimable any more
    TRIGGERD_ASSIGN_OR_RETURN(Run run, ReadRun(r, 0));
    if (c.reclaim) TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(db, ReclaimMessage(run, request.now)));
    claimed->push_back(std::move(run));
  }
  return Status::Ok();
}

}  // namespace

Status PostgresStore::RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write("retry run", [&](PgConnection& db, TxnEffects& fx) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(const RunStatus status,
                              LockRunStatus(db, workspace_id, id, "retry run"));
    TRIGGERD_RETURN_IF_ERROR(CheckRetryable(status));
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(
        db, run_sql::kRetryRun, Params().Text(id).Text(workspace_id).Int64(now), "retry run"));
    fx.runs_made_due = true;
    return Status::Ok();
  });
}

Status PostgresStore::CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write("cancel run", [&](PgConnection& db, TxnEffects&) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(const RunStatus status,
                              LockRunStatus(db, workspace_id, id, "cancel run"));
    TRIGGERD_RETURN_IF_ERROR(CheckCancellable(status));
    return ExecOnly(db, run_sql::kCancelRun, Params().Text(id).Text(workspace_id).Int64(now),
                    "cancel run");
  });
}

// ---- Dispatch ----

Result<std::vector<Run>> PostgresStore::ClaimRuns(const ClaimRequest& request) {
  TRIGGERD_ASSIGN_OR_RETURN(const int limit, ClaimLimit(request));
  if (limit == 0) return std::vector<Run>();
  std::vector<Run> claimed;
  TRIGGERD_RETURN_IF_ERROR(Write("claim runs", [&](PgConnection& db, TxnEffects&) -> Status {
    claimed.clear();
    // Serialises claims across nodes: every statement below runs after the previous claim (on
    // any node) committed, so it sees that claim's leases (READ COMMITTED: a snapshot per
    // statement).
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "SELECT pg_advisory_xact_lock($1)",
                                      Params().Int64(kClaimLockKey), "lock for claim"));
    PgRunRows rows(db);
    TRIGGERD_ASSIGN_OR_RETURN(const ClaimPlan plan, PlanClaims(rows, request, limit));
    TRIGGERD_RETURN_IF_ERROR(RetireRuns(db, plan.retire_seqs, request.now));
    TRIGGERD_RETURN_IF_ERROR(CancelRunsOfGoneAgents(db, plan.gone_agents, request.now));
    return LeaseRuns(db, request, plan.claims, &claimed);
  }));
  return claimed;  // handed out only after the COMMIT that leased them
}

Result<std::vector<Status>> PostgresStore::FinishAttempts(
    const std::vector<AttemptResult>& results) {
  std::vector<Status> finished;
  TRIGGERD_RETURN_IF_ERROR(Write("finish attempts", [&](PgConnection& db, TxnEffects&) -> Status {
    finished.clear();  // a retried transaction starts over
    finished.reserve(results.size());
    for (const AttemptResult& r : results) {
      // FOR UPDATE: the fence is checked on the row as it is, and no claim can take the run over
      // between the check and the update. A kConflict or kNotFound is decided before anything of
      // that result is written, so it confines itself to its result.
      static const std::string kFenceSql = Concat({run_sql::kAttemptFence, " FOR UPDATE"});
      TRIGGERD_ASSIGN_OR_RETURN(PgResult row,
                                db.Exec(kFenceSql, Params().Text(r.run_id), "finish attempt"));
      if (row.rows() == 0) {
        finished.push_back(Status::NotFound("run not found"));
        continue;
      }
      const AttemptFence fence{row.Text(0, 0), row.Text(0, 1), row.Int64(0, 2), row.Int64(0, 3)};
      Result<AttemptEnd> end = EndAttempt(r, fence);
      if (!end) {
        finished.push_back(end.error());
        continue;
      }
      Params p;
      p.Text(r.run_id).Text(end->status).Text(end->last_error);
      if (end->final) {
        p.Int64(r.finished_at).NullInt64();
      } else {
        p.NullInt64().Int64(r.next_attempt_at);
      }
      TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, run_sql::kEndAttempt, p, "finish attempt"));
      TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(db, FinishedAttemptMessage(r, *end)));
      finished.push_back(Status::Ok());
    }
    return Status::Ok();
  }));
  return finished;
}

Result<std::optional<int64_t>> PostgresStore::NextDueTime() {
  return Read([&](PgConnection& db) -> Result<std::optional<int64_t>> {
    // Several statements on one snapshot.
    TRIGGERD_RETURN_IF_ERROR(
        db.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "next due time"));
    PgRunRows rows(db);
    Result<std::optional<int64_t>> next = ComputeNextDueTime(rows);
    if (!next) {
      db.RollbackQuietly();
      return next;
    }
    TRIGGERD_RETURN_IF_ERROR(db.Exec("COMMIT", "next due time"));
    return next;
  });
}

Status PostgresStore::ReleaseLeases(std::string_view keep_owner, int64_t now) {
  return Write("release leases", [&](PgConnection& db, TxnEffects& fx) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult released, db.Exec(run_sql::kReleaseLeases,
                                                         Params()
                                                             .Text(keep_owner)
                                                             .Int64(now)
                                                             .Text(kLastLeaseReleasedError)
                                                             .Text(kLeaseReleasedError),
                                                         "release leases"));
    for (int i = 0; i < released.rows(); ++i) {
      const bool dead = released.Bool(i, 2);
      TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(
          db, CutAttemptMessage(released.Text(i, 0), released.Int64(i, 1),
                                dead ? kLastLeaseReleasedError : kLeaseReleasedError, now)));
      if (!dead) fx.runs_made_due = true;
    }
    return Status::Ok();
  });
}

}  // namespace triggerd::store::postgres
