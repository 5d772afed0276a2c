// The run queue's statements, written once in the SQL both backends speak: parameters are
// PostgreSQL's $n, which the SQLite store rewrites to its ?n (sqlite/rows.h, SqliteParams); a
// backend appends its own locking clauses (PostgreSQL: FOR UPDATE, SKIP LOCKED) where noted.
// What they read and write is decided by the policy of run_policy.h. Internal to store/.
#pragma once

#include <string_view>

namespace triggerd::store::run_sql {

// $1 run id, $2 attempt, $3 role, $4 content, $5 at.
inline constexpr std::string_view kInsertRunMessage =
    "INSERT INTO run_messages (run_id, attempt, role, content, at) VALUES ($1, $2, $3, $4, $5)";

// RunRows::AgentLimitOf: $1 agent id (of any workspace: a run's agent is looked up by id alone).
inline constexpr std::string_view kAgentLimit =
    "SELECT workspace_id, concurrency FROM agents WHERE id = $1";

// $1 run id, $2 workspace id. PostgreSQL locks the row (FOR UPDATE) before deciding.
inline constexpr std::string_view kRunStatus =
    "SELECT status FROM runs WHERE id = $1 AND workspace_id = $2";

// $1 run id, $2 workspace id, $3 now. A fresh budget counted from the attempts made so far: the
// agent's max_attempts as it is now, or the run's own when the agent is gone (the claim then
// cancels the run).
inline constexpr std::string_view kRetryRun =
    "UPDATE runs SET status = 'queued', next_attempt_at = $3, finished_at = NULL, "
    "lease_owner = '', lease_expires_at = 0, max_attempts = attempts + coalesce("
    "  (SELECT a.max_attempts FROM agents AS a"
    "   WHERE a.id = runs.agent_id AND a.workspace_id = runs.workspace_id), max_attempts) "
    "WHERE id = $1 AND workspace_id = $2";

// $1 run id, $2 workspace id, $3 now.
inline constexpr std::string_view kCancelRun =
    "UPDATE runs SET status = 'cancelled', finished_at = $3 WHERE id = $1 AND workspace_id = $2";

// RunRows::RunningRuns. Served by the partial index runs_running.
inline constexpr std::string_view kRunningRuns =
    "SELECT seq, agent_id, lease_expires_at, attempts, max_attempts, workspace_id, lease_owner "
    "FROM runs WHERE status = 'running'";

// RunRows::WaitingAgents: every waiting (queued or retrying) run's agent with the earliest
// next_attempt_at of its waiting runs. A skip-scan of runs_waiting: one index probe per agent,
// however many runs wait. The status lists repeat the partial index's WHERE clause verbatim, so
// the planner uses it.
inline constexpr std::string_view kWaitingAgents =
    "WITH RECURSIVE waiting (agent_id) AS ("
    "  SELECT (SELECT min(agent_id) FROM runs WHERE status IN ('queued', 'retrying'))"
    "  UNION ALL"
    "  SELECT (SELECT min(agent_id) FROM runs"
    "          WHERE status IN ('queued', 'retrying') AND agent_id > waiting.agent_id)"
    "  FROM waiting WHERE waiting.agent_id IS NOT NULL) "
    "SELECT agent_id, (SELECT min(next_attempt_at) FROM runs"
    "                  WHERE status IN ('queued', 'retrying') AND agent_id = waiting.agent_id) "
    "FROM waiting WHERE agent_id IS NOT NULL";

// RunRows::DueWaitingRuns: $1 agent id, $2 now, $3 limit. PostgreSQL appends FOR UPDATE SKIP
// LOCKED (a run a CancelRun/RetryRun holds right now is left for the next claim).
inline constexpr std::string_view kDueWaitingRuns =
    "SELECT seq, next_attempt_at FROM runs "
    "WHERE status IN ('queued', 'retrying') AND agent_id = $1 AND next_attempt_at <= $2 "
    "ORDER BY next_attempt_at, seq LIMIT $3";

// ClaimPlan::retire_seqs: $1 seq, $2 now, $3 last_error. Re-checked on the row as it is when
// written: a FinishAttempt that committed meanwhile (PostgreSQL) wins. RETURNING the run id and
// its cut attempt, for the "error" message.
inline constexpr std::string_view kRetireRun =
    "UPDATE runs SET status = 'dead', finished_at = $2, last_error = $3, lease_owner = '', "
    "lease_expires_at = 0 "
    "WHERE seq = $1 AND status = 'running' AND lease_expires_at <= $2 "
    "AND attempts >= max_attempts RETURNING id, attempts";

// ClaimPlan::gone_agents: $1 agent id, $2 now, $3 last_error. The waiting runs, then the
// running ones whose lease expired.
inline constexpr std::string_view kCancelWaitingRunsOfAgent =
    "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3 "
    "WHERE agent_id = $1 AND status IN ('queued', 'retrying')";
inline constexpr std::string_view kCancelExpiredRunsOfAgent =
    "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3, "
    "lease_owner = '', lease_expires_at = 0 "
    "WHERE agent_id = $1 AND status = 'running' AND lease_expires_at <= $2";

// ClaimPlan::claims, one run: $1 seq, $2 lease owner, $3 lease_expires_at, $4 now, $5 the
// last_error of a reclaim. Re-checked on the row as it is when written: a FinishAttempt or
// CancelRun that committed meanwhile (PostgreSQL: an expired lease's holder finishing late) wins,
// and the run is not claimed. Followed by " RETURNING " and the run's columns.
inline constexpr std::string_view kClaimRun =
    "UPDATE runs SET status = 'running', lease_owner = $2, lease_expires_at = $3, "
    "attempts = attempts + 1, started_at = coalesce(started_at, $4), "
    "last_error = CASE WHEN status = 'running' THEN $5 ELSE last_error END "
    "WHERE seq = $1 AND (status IN ('queued', 'retrying') OR "
    "(status = 'running' AND lease_expires_at <= $4))";

// FinishAttempt's fence (AttemptFence): $1 run id. PostgreSQL locks the row (FOR UPDATE), so no
// claim can take the run over between the check and the update.
inline constexpr std::string_view kAttemptFence =
    "SELECT status, lease_owner, attempts, max_attempts FROM runs WHERE id = $1";

// AttemptEnd: $1 run id, $2 status, $3 last_error, $4 finished_at (NULL unless final),
// $5 next_attempt_at (NULL when final).
inline constexpr std::string_view kEndAttempt =
    "UPDATE runs SET status = $2, last_error = $3, finished_at = $4, "
    "next_attempt_at = coalesce($5, next_attempt_at), lease_owner = '', lease_expires_at = 0 "
    "WHERE id = $1";

// ReleaseLeases: $1 the owner to keep, $2 now, $3 last_error when no attempt is left (dead),
// $4 otherwise (retrying, due now). RETURNING the run id, its cut attempt and whether it died.
inline constexpr std::string_view kReleaseLeases =
    "UPDATE runs SET "
    "status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, "
    "finished_at = CASE WHEN attempts >= max_attempts THEN $2 ELSE NULL END, "
    "last_error = CASE WHEN attempts >= max_attempts THEN $3 ELSE $4 END, "
    "next_attempt_at = $2, lease_owner = '', lease_expires_at = 0 "
    "WHERE status = 'running' AND lease_owner <> $1 "
    "RETURNING id, attempts, status = 'dead'";

// CountLiveRuns. The WHERE clauses repeat the partial indexes' (runs_waiting, runs_running) so
// the counts walk only live runs.
inline constexpr std::string_view kCountLiveRuns =
    "SELECT (SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
    "AND status = 'queued'), "
    "(SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
    "AND status = 'retrying'), "
    "(SELECT count(*) FROM runs WHERE status = 'running')";

}  // namespace triggerd::store::run_sql
