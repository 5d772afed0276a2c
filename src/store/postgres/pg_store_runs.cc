// PostgresStore: runs, dispatch (claims, leases, fencing) and retention. The algorithm is the
// SQLite store's (docs/storage.md, "Dispatch"); what differs is how concurrent writers on several
// nodes are kept apart: ClaimRuns holds a transaction-scoped advisory lock, so claims everywhere
// run one at a time and each counts the running runs the previous one committed; state checks
// (FinishAttempt, RetryRun, CancelRun) lock the run row (SELECT … FOR UPDATE) before deciding.
#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"

namespace triggerd::store::postgres {
namespace {

constexpr int kMaxListLimit = 500;
constexpr int kMaxClaim = 500;

// pg_advisory_xact_lock key of ClaimRuns ("TRGDCLAM"): held until the claim commits, so claims on
// every node are serialised (they are short: bounded by the live runs).
constexpr int64_t kClaimLockKey = 0x54524744434c414dLL;

constexpr std::string_view kLeaseExpiredError = "lease expired before the attempt finished";
constexpr std::string_view kLastLeaseExpiredError = "lease expired during the last attempt";
constexpr std::string_view kAgentDeletedError = "agent deleted";
constexpr std::string_view kLeaseReleasedError =
    "attempt interrupted: the dispatcher holding its lease stopped";
constexpr std::string_view kLastLeaseReleasedError =
    "attempt interrupted during the last attempt: the dispatcher holding its lease stopped";

// Every waiting run's agent with its earliest next_attempt_at: a skip-scan of runs_waiting, one
// index probe per agent (as in the SQLite store).
constexpr std::string_view kWaitingAgentsSql =
    "WITH RECURSIVE waiting (agent_id) AS ("
    "  SELECT (SELECT min(agent_id) FROM runs WHERE status IN ('queued', 'retrying'))"
    "  UNION ALL"
    "  SELECT (SELECT min(agent_id) FROM runs"
    "          WHERE status IN ('queued', 'retrying') AND agent_id > waiting.agent_id)"
    "  FROM waiting WHERE waiting.agent_id IS NOT NULL) "
    "SELECT agent_id, (SELECT min(next_attempt_at) FROM runs"
    "                  WHERE status IN ('queued', 'retrying') AND agent_id = waiting.agent_id) "
    "FROM waiting WHERE agent_id IS NOT NULL";

Status ExecOnly(PgConnection& db, std::string_view sql, const Params& p, std::string_view op) {
  Result<PgResult> r = db.Exec(sql, p, op);
  return r ? Status::Ok() : r.error();
}

Status InsertRunMessage(PgConnection& db, std::string_view run_id, int64_t attempt,
                        std::string_view role, std::string_view content, int64_t at) {
  return ExecOnly(
      db, "INSERT INTO run_messages (run_id, attempt, role, content, at) VALUES ($1, $2, $3, $4, $5)",
      Params().Text(run_id).Int64(attempt).Text(role).Bytes(content).Int64(at),
      "insert run message");
}

Result<std::optional<int>> AgentConcurrency(PgConnection& db, std::string_view id) {
  Result<PgResult> r = db.Exec("SELECT concurrency FROM agents WHERE id = $1", Params().Text(id),
                               "read agent concurrency");
  if (!r) return r.error();
  if (r->rows() == 0) return std::optional<int>();
  return std::optional<int>(static_cast<int>(r->Int64(0, 0)));
}

// The run's status within its workspace, locked until the transaction ends, or kNotFound.
Result<RunStatus> LockRunStatus(PgConnection& db, std::string_view workspace_id,
                                std::string_view id, std::string_view op) {
  Result<PgResult> r =
      db.Exec("SELECT status FROM runs WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
              Params().Text(id).Text(workspace_id), op);
  if (!r) return r.error();
  if (r->rows() == 0) return Status::NotFound("run not found");
  std::optional<RunStatus> status = ParseRunStatus(r->Text(0, 0));
  if (!status) return Status::Internal(std::string(op) + ": unknown run status");
  return *status;
}

struct ClaimCandidate {
  int64_t due = 0;
  int64_t seq = 0;
  bool reclaim = false;
  bool operator<(const ClaimCandidate& o) const {
    return std::tie(due, seq) < std::tie(o.due, o.seq);
  }
};

struct AgentLoad {
  int unexpired = 0;
  std::vector<ClaimCandidate> expired;
  bool waiting_due = false;
};

Status RetireExpiredLastAttempts(PgConnection& db, int64_t now) {
  Result<PgResult> retired = db.Exec(
      "UPDATE runs SET status = 'dead', finished_at = $1, last_error = $2, lease_owner = '', "
      "lease_expires_at = 0 "
      "WHERE status = 'running' AND lease_expires_at <= $1 AND attempts >= max_attempts "
      "RETURNING id, attempts",
      Params().Int64(now).Text(kLastLeaseExpiredError), "retire expired runs");
  if (!retired) return retired.error();
  for (int i = 0; i < retired->rows(); ++i) {
    TRIGGERD_RETURN_IF_ERROR(InsertRunMessage(db, retired->Text(i, 0), retired->Int64(i, 1),
                                              "error", kLastLeaseExpiredError, now));
  }
  return Status::Ok();
}

Status CancelRunsOfMissingAgent(PgConnection& db, std::string_view agent_id, int64_t now) {
  TRIGGERD_RETURN_IF_ERROR(
      ExecOnly(db,
               "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3 "
               "WHERE agent_id = $1 AND status IN ('queued', 'retrying')",
               Params().Text(agent_id).Int64(now).Text(kAgentDeletedError),
               "cancel runs of deleted agent"));
  return ExecOnly(db,
                  "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3, "
                  "lease_owner = '', lease_expires_at = 0 "
                  "WHERE agent_id = $1 AND status = 'running' AND lease_expires_at <= $2",
                  Params().Text(agent_id).Int64(now).Text(kAgentDeletedError),
                  "cancel expired runs of deleted agent");
}

Status ClaimDueRuns(PgConnection& db, const ClaimRequest& request, int limit,
                    std::vector<Run>* claimed) {
  const int64_t now = request.now;
  // Serialises claims across nodes: every statement below runs after the previous claim (on any
  // node) committed, so it sees that claim's leases (READ COMMITTED: a snapshot per statement).
  TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "SELECT pg_advisory_xact_lock($1)",
                                    Params().Int64(kClaimLockKey), "lock for claim"));
  TRIGGERD_RETURN_IF_ERROR(RetireExpiredLastAttempts(db, now));

  std::map<std::string, AgentLoad, std::less<>> agents;
  {
    Result<PgResult> r =
        db.Exec("SELECT seq, agent_id, lease_expires_at FROM runs WHERE status = 'running'",
                Params(), "read running runs");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      AgentLoad& load = agents[r->Text(i, 1)];
      const int64_t expires = r->Int64(i, 2);
      if (expires > now) {
        ++load.unexpired;
      } else {
        load.expired.push_back({expires, r->Int64(i, 0), true});
      }
    }
  }
  {
    Result<PgResult> r = db.Exec(kWaitingAgentsSql, Params(), "read waiting agents");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      if (r->Int64(i, 1) <= now) agents[r->Text(i, 0)].waiting_due = true;
    }
  }

  std::vector<ClaimCandidate> candidates;
  for (auto& [agent_id, load] : agents) {
    if (load.expired.empty() && !load.waiting_due) continue;
    Result<std::optional<int>> concurrency = AgentConcurrency(db, agent_id);
    if (!concurrency) return concurrency.error();
    if (!concurrency->has_value()) {
      TRIGGERD_RETURN_IF_ERROR(CancelRunsOfMissingAgent(db, agent_id, now));
      continue;
    }
    const int free = **concurrency - load.unexpired;
    if (free <= 0) continue;
    const int take = std::min(free, limit);
    std::vector<ClaimCandidate> mine = std::move(load.expired);
    if (load.waiting_due) {
      // SKIP LOCKED: a run that a CancelRun/RetryRun holds right now is left for the next claim.
      Result<PgResult> r = db.Exec(
          "SELECT seq, next_attempt_at FROM runs "
          "WHERE status IN ('queued', 'retrying') AND agent_id = $1 AND next_attempt_at <= $2 "
          "ORDER BY next_attempt_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED",
          Params().Text(agent_id).Int64(now).Int64(take), "read due runs");
      if (!r) return r.error();
      for (int i = 0; i < r->rows(); ++i) mine.push_back({r->Int64(i, 1), r->Int64(i, 0), false});
    }
    std::sort(mine.begin(), mine.end());
    if (mine.size() > static_cast<size_t>(take)) mine.resize(take);
    candidates.insert(candidates.end(), mine.begin(), mine.end());
  }
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > static_cast<size_t>(limit)) candidates.resize(limit);

  static const std::string kClaimSql = Concat(
      {"UPDATE runs SET status = 'running', lease_owner = $2, lease_expires_at = $3, "
       "attempts = attempts + 1, started_at = coalesce(started_at, $4), "
       "last_error = CASE WHEN status = 'running' THEN $5 ELSE last_error END "
       // Re-checked on the row as it is when locked: a FinishAttempt or CancelRun that
       // committed meanwhile (an expired lease's holder finishing late) wins.
       "WHERE seq = $1 AND (status IN ('queued', 'retrying') OR "
       "(status = 'running' AND lease_expires_at <= $4)) RETURNING ",
       kRunColumns});
  for (const ClaimCandidate& c : candidates) {
    Result<PgResult> r = db.Exec(kClaimSql,
                                 Params()
                                     .Int64(c.seq)
                                     .Text(request.owner)
                                     .Int64(now + request.lease_micros)
                                     .Int64(now)
                                     .Text(kLeaseExpiredError),
                                 "claim run");
    if (!r) return r.error();
    if (r->rows() == 0) continue;
    Result<Run> run = ReadRun(*r, 0);
    if (!run) return run.error();
    if (c.reclaim) {
      TRIGGERD_RETURN_IF_ERROR(
          InsertRunMessage(db, run->id, run->attempts - 1, "error", kLeaseExpiredError, now));
    }
    claimed->push_back(std::move(run).value());
  }
  return Status::Ok();
}

Result<std::optional<int64_t>> ComputeNextDueTime(PgConnection& db) {
  std::map<std::string, std::vector<int64_t>, std::less<>> leases;
  std::map<std::string, int64_t, std::less<>> waiting;
  {
    Result<PgResult> r = db.Exec(
        "SELECT agent_id, lease_expires_at FROM runs WHERE status = 'running' "
        "ORDER BY agent_id, lease_expires_at",
        Params(), "next due time");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) leases[r->Text(i, 0)].push_back(r->Int64(i, 1));
  }
  {
    Result<PgResult> r = db.Exec(kWaitingAgentsSql, Params(), "next due time");
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) waiting[r->Text(i, 0)] = r->Int64(i, 1);
  }
  std::optional<int64_t> next;
  auto consider = [&next](int64_t t) {
    if (!next || t < *next) next = t;
  };
  auto agent_due = [&](const std::string& agent_id) -> Status {
    Result<std::optional<int>> concurrency = AgentConcurrency(db, agent_id);
    if (!concurrency) return concurrency.error();
    const size_t limit = concurrency->has_value() ? static_cast<size_t>(**concurrency)
                                                  : std::numeric_limits<size_t>::max();
    auto running = leases.find(agent_id);
    const size_t k = running != leases.end() ? running->second.size() : 0;
    if (k >= limit) {
      consider(running->second[k - limit]);
      return Status::Ok();
    }
    if (k > 0) consider(running->second.front());
    if (auto w = waiting.find(agent_id); w != waiting.end()) consider(w->second);
    return Status::Ok();
  };
  for (const auto& [agent_id, expiries] : leases) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  for (const auto& [agent_id, first] : waiting) {
    if (!leases.contains(agent_id)) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  }
  return next;
}

}  // namespace

Result<Run> PostgresStore::GetRun(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Run> {
    Result<PgResult> r = db.Exec(
        Concat({"SELECT ", kRunColumns, " FROM runs WHERE id = $1 AND workspace_id = $2"}),
        Params().Text(id).Text(workspace_id), "get run");
    if (!r) return r.error();
    return OneRow<Run>(*r, ReadRun, "run");
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
    Result<PgResult> r = db.Exec(sql, p, "list runs");
    if (!r) return r.error();
    Result<std::vector<Run>> rows = CollectRows<Run>(*r, ReadRun);
    if (!rows) return rows.error();
    return ToPage(std::move(rows).value(), limit);
  });
}

Result<std::vector<RunMessage>> PostgresStore::ListRunMessages(std::string_view run_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<RunMessage>> {
    Result<PgResult> r = db.Exec(
        Concat({"SELECT ", kRunMessageColumns, " FROM run_messages WHERE run_id = $1 ORDER BY seq"}),
        Params().Text(run_id), "list run messages");
    if (!r) return r.error();
    return CollectRows<RunMessage>(*r, ReadRunMessage);
  });
}

Status PostgresStore::RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write("retry run", [&](PgConnection& db, TxnEffects& fx) -> Status {
    Result<RunStatus> status = LockRunStatus(db, workspace_id, id, "retry run");
    if (!status) return status.error();
    if (*status != RunStatus::kFailed && *status != RunStatus::kDead) {
      return Status::Conflict("retry run: the run is " + std::string(RunStatusName(*status)) +
                              "; only a failed or dead run can be retried");
    }
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(
        db,
        "UPDATE runs SET status = 'queued', next_attempt_at = $3, finished_at = NULL, "
        "lease_owner = '', lease_expires_at = 0, max_attempts = attempts + coalesce("
        "  (SELECT a.max_attempts FROM agents AS a"
        "   WHERE a.id = runs.agent_id AND a.workspace_id = runs.workspace_id), max_attempts) "
        "WHERE id = $1 AND workspace_id = $2",
        Params().Text(id).Text(workspace_id).Int64(now), "retry run"));
    fx.runs_made_due = true;
    return Status::Ok();
  });
}

Status PostgresStore::CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write("cancel run", [&](PgConnection& db, TxnEffects&) -> Status {
    Result<RunStatus> status = LockRunStatus(db, workspace_id, id, "cancel run");
    if (!status) return status.error();
    if (*status != RunStatus::kQueued && *status != RunStatus::kRetrying) {
      return Status::Conflict("cancel run: the run is " + std::string(RunStatusName(*status)) +
                              "; only a queued or retrying run can be cancelled");
    }
    return ExecOnly(db,
                    "UPDATE runs SET status = 'cancelled', finished_at = $3 "
                    "WHERE id = $1 AND workspace_id = $2",
                    Params().Text(id).Text(workspace_id).Int64(now), "cancel run");
  });
}

Result<std::vector<Run>> PostgresStore::ClaimRuns(const ClaimRequest& request) {
  if (request.owner.empty()) return Status::InvalidArgument("claim runs: empty lease owner");
  if (request.lease_micros <= 0) {
    return Status::InvalidArgument("claim runs: the lease must be longer than zero");
  }
  const int limit = std::clamp(request.limit, 0, kMaxClaim);
  if (limit == 0) return std::vector<Run>();
  std::vector<Run> claimed;
  Status s = Write("claim runs", [&](PgConnection& db, TxnEffects&) -> Status {
    claimed.clear();
    return ClaimDueRuns(db, request, limit, &claimed);
  });
  if (!s.ok()) return s;  // handed out only after the COMMIT that leased them
  return claimed;
}

Status PostgresStore::FinishAttempt(const AttemptResult& r) {
  return Write("finish attempt", [&](PgConnection& db, TxnEffects&) -> Status {
    // FOR UPDATE: the fence is checked on the row as it is, and no claim can take the run over
    // between the check and the update.
    Result<PgResult> row = db.Exec(
        "SELECT status, lease_owner, attempts, max_attempts FROM runs WHERE id = $1 FOR UPDATE",
        Params().Text(r.run_id), "finish attempt");
    if (!row) return row.error();
    if (row->rows() == 0) return Status::NotFound("run not found");
    const int64_t attempts = row->Int64(0, 2);
    const int64_t max_attempts = row->Int64(0, 3);
    if (row->Text(0, 0) != "running" || row->Text(0, 1) != r.lease_owner ||
        attempts != r.attempt) {
      return Status::Conflict("finish attempt: run " + r.run_id + " is no longer running " +
                              "attempt " + std::to_string(r.attempt) + " under lease owner " +
                              r.lease_owner);
    }
    std::string_view status;
    bool final = true;
    switch (r.outcome) {
      case AttemptOutcome::kSucceeded:
        status = "succeeded";
        break;
      case AttemptOutcome::kRetry:
        final = attempts >= max_attempts;
        status = final ? "dead" : "retrying";
        break;
      case AttemptOutcome::kFailed:
        status = "failed";
        break;
      case AttemptOutcome::kDead:
        status = "dead";
        break;
    }
    if (status.empty()) return Status::InvalidArgument("finish attempt: unknown outcome");
    const bool succeeded = r.outcome == AttemptOutcome::kSucceeded;
    Params p;
    p.Text(r.run_id).Text(status).Text(succeeded ? "" : r.message);
    if (final) {
      p.Int64(r.finished_at).NullInt64();
    } else {
      p.NullInt64().Int64(r.next_attempt_at);
    }
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(
        db,
        "UPDATE runs SET status = $2, last_error = $3, finished_at = $4, "
        "next_attempt_at = coalesce($5, next_attempt_at), lease_owner = '', lease_expires_at = 0 "
        "WHERE id = $1",
        p, "finish attempt"));
    return InsertRunMessage(db, r.run_id, r.attempt, succeeded ? "agent" : "error", r.message,
                            r.finished_at);
  });
}

Result<std::optional<int64_t>> PostgresStore::NextDueTime() {
  return Read([&](PgConnection& db) -> Result<std::optional<int64_t>> {
    // Several statements on one snapshot.
    TRIGGERD_RETURN_IF_ERROR(
        db.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "next due time"));
    Result<std::optional<int64_t>> next = ComputeNextDueTime(db);
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
    Result<PgResult> released = db.Exec(
        "UPDATE runs SET "
        "status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, "
        "finished_at = CASE WHEN attempts >= max_attempts THEN $2 ELSE NULL END, "
        "last_error = CASE WHEN attempts >= max_attempts THEN $3 ELSE $4 END, "
        "next_attempt_at = $2, lease_owner = '', lease_expires_at = 0 "
        "WHERE status = 'running' AND lease_owner <> $1 "
        "RETURNING id, attempts, status = 'dead'",
        Params()
            .Text(keep_owner)
            .Int64(now)
            .Text(kLastLeaseReleasedError)
            .Text(kLeaseReleasedError),
        "release leases");
    if (!released) return released.error();
    for (int i = 0; i < released->rows(); ++i) {
      const bool dead = released->Bool(i, 2);
      TRIGGERD_RETURN_IF_ERROR(
          InsertRunMessage(db, released->Text(i, 0), released->Int64(i, 1), "error",
                           dead ? kLastLeaseReleasedError : kLeaseReleasedError, now));
      if (!dead) fx.runs_made_due = true;
    }
    return Status::Ok();
  });
}

Result<LiveRunCounts> PostgresStore::CountLiveRuns() {
  return Read([&](PgConnection& db) -> Result<LiveRunCounts> {
    Result<PgResult> r = db.Exec(
        "SELECT (SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
        "AND status = 'queued'), "
        "(SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
        "AND status = 'retrying'), "
        "(SELECT count(*) FROM runs WHERE status = 'running')",
        Params(), "count live runs");
    if (!r) return r.error();
    LiveRunCounts counts;
    if (r->rows() > 0) {
      counts.queued = r->Int64(0, 0);
      counts.retrying = r->Int64(0, 1);
      counts.running = r->Int64(0, 2);
    }
    return counts;
  });
}

Result<int> PostgresStore::HeartbeatNode(std::string_view node_id, int64_t now,
                                         int64_t ttl_micros) {
  int alive = 1;
  Status written = Write("heartbeat node", [&](PgConnection& db, TxnEffects&) -> Status {
    Result<PgResult> r = db.Exec(
        "INSERT INTO nodes (id, last_seen) VALUES ($1, $2) "
        "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
        Params().Text(node_id).Int64(now), "record node heartbeat");
    if (!r) return r.error();
    Result<PgResult> gone = db.Exec("DELETE FROM nodes WHERE last_seen < $1",
                                    Params().Int64(now - ttl_micros), "forget silent nodes");
    if (!gone) return gone.error();
    Result<PgResult> count = db.Exec("SELECT count(*) FROM nodes", Params(), "count nodes");
    if (!count) return count.error();
    alive = static_cast<int>(std::max<int64_t>(1, count->Int64(0, 0)));
    return Status::Ok();
  });
  if (!written.ok()) return written;
  return alive;
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
      Result<PgResult> live = db.Exec(
          "SELECT EXISTS (SELECT 1 FROM runs WHERE workspace_id = $1 AND event_id = $2 "
          "AND status IN ('queued', 'retrying', 'running'))",
          Params().Text(workspace_id).Text(event_id), "purge: live runs");
      if (!live) return live.error();
      return live->rows() > 0 && live->Bool(0, 0);
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
        Result<PgResult> old = db.Exec(
            "SELECT seq, id, workspace_id FROM events WHERE received_at < $1 AND seq > $2 "
            "ORDER BY seq LIMIT $3",
            Params().Int64(request.events_before).Int64(after).Int64(limit + 1),
            "purge: old events");
        if (!old) return old.error();
        if (old->rows() == 0) break;
        done = old->rows() < limit + 1;
        for (int i = 0; i < old->rows(); ++i) {
          if (static_cast<int>(doomed.size()) == limit) {
            result.more = true;
            break;
          }
          Doomed d{old->Int64(i, 0), old->Text(i, 1), old->Text(i, 2)};
          after = d.seq;
          Result<bool> busy = has_live_runs(d.workspace_id, d.id);
          if (!busy) return busy.error();
          if (!*busy) doomed.push_back(std::move(d));
        }
      }
      for (const Doomed& d : doomed) {
        Result<PgResult> runs = db.Exec("DELETE FROM runs WHERE workspace_id = $1 AND event_id = $2",
                                        Params().Text(d.workspace_id).Text(d.id), "purge: runs");
        if (!runs) return runs.error();
        result.runs_deleted += runs->affected();
        TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "DELETE FROM matches WHERE event_id = $1",
                                          Params().Text(d.id), "purge: matches"));
        TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "DELETE FROM events WHERE seq = $1",
                                          Params().Int64(d.seq), "purge: event"));
        ++result.events_deleted;
      }
    }

    if (request.bodies_before > 0 && !result.more) {
      std::vector<int64_t> emptied;
      Result<PgResult> old = db.Exec(
          "SELECT seq, id, workspace_id, payload_json = 'null' FROM events "
          "WHERE seq > $1 AND received_at < $2 ORDER BY seq LIMIT $3",
          Params().Int64(request.bodies_after_seq).Int64(request.bodies_before).Int64(limit + 1),
          "purge: old bodies");
      if (!old) return old.error();
      int examined = 0;
      for (int i = 0; i < old->rows(); ++i) {
        if (examined == limit) {
          result.more = true;
          break;
        }
        ++examined;
        const int64_t seq = old->Int64(i, 0);
        if (old->Bool(i, 3)) {
          result.bodies_after_seq = seq;
          continue;
        }
        Result<bool> busy = has_live_runs(old->Text(i, 2), old->Text(i, 1));
        if (!busy) return busy.error();
        if (*busy) break;  // kept for its live runs: the cursor stops here, looked at next time
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
