// The run-scheduling policy of the store, written once for both backends: which runs a claim
// takes (fairly across workspaces and agents, within each agent's concurrency and the claiming
// dispatcher's per-agent share, expired leases reclaimed), which it
// retires instead (dead: the lease expired on the last attempt; cancelled: the agent is gone),
// when the next run is due, and what the end of an attempt makes of a run. The contracts are
// RunQueue's (run_queue.h); docs/storage.md, "Dispatch", describes the algorithm.
//
// Plain C++ over plain structs: a backend reads the rows the policy asks for through RunRows
// (inside its own transaction or snapshot, with its own locking), the policy decides, and the
// backend writes what the decision says. Nothing here touches a database. Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/records.h"
#include "store/run_queue.h"

namespace triggerd::store {

// last_error (and the "error" run message) of the store's own transitions.
inline constexpr std::string_view kLeaseExpiredError = "lease expired before the attempt finished";
inline constexpr std::string_view kLastLeaseExpiredError = "lease expired during the last attempt";
inline constexpr std::string_view kAgentDeletedError = "agent deleted";
inline constexpr std::string_view kTriggerDeletedError = "trigger deleted";
inline constexpr std::string_view kLeaseReleasedError =
    "attempt interrupted: the dispatcher holding its lease stopped";
inline constexpr std::string_view kLastLeaseReleasedError =
    "attempt interrupted during the last attempt: the dispatcher holding its lease stopped";

// ClaimRequest::limit is clamped to 0..kMaxClaim.
inline constexpr int kMaxClaim = 500;

// A run whose status is running.
struct RunningRun {
  int64_t seq = 0;
  std::string agent_id;
  int64_t lease_expires_at = 0;
  int64_t attempts = 0;
  int64_t max_attempts = 0;
  std::string workspace_id;
  std::string lease_owner;
};

// What a claim needs of an agent.
struct AgentLimit {
  std::string workspace_id;
  int concurrency = 0;
};

// An agent with waiting (queued or retrying) runs, and the earliest next_attempt_at among them.
struct WaitingAgent {
  std::string agent_id;
  int64_t next_attempt_at = 0;
};

// One run a claim may take: waiting and due, or running with an expired lease (a reclaim).
struct ClaimCandidate {
  int64_t due = 0;  // next_attempt_at, or lease_expires_at for a reclaim
  int64_t seq = 0;
  bool reclaim = false;
  bool operator<(const ClaimCandidate& o) const {
    return std::tie(due, seq) < std::tie(o.due, o.seq);
  }
};

// The reads the policy asks of a backend. Every call of one decision runs inside one
// transaction (claims) or one snapshot (NextDueTime) of the backend's choosing.
class RunRows {
 public:
  virtual ~RunRows() = default;
  // Every run whose status is running, in any order.
  virtual Result<std::vector<RunningRun>> RunningRuns() = 0;
  // Every agent with waiting runs, in any order. Must stay cheap with a long backlog: one index
  // probe per agent.
  virtual Result<std::vector<WaitingAgent>> WaitingAgents() = 0;
  // The workspace and concurrency of agent `id` (looked up by id alone), nullopt when the agent
  // is gone.
  virtual Result<std::optional<AgentLimit>> AgentLimitOf(std::string_view id) = 0;
  // At most `limit` waiting runs of `agent_id` with next_attempt_at <= `now`, ordered by
  // (next_attempt_at, seq), as candidates (due = next_attempt_at, reclaim = false). A backend
  // with concurrent claimers may leave out runs another transaction holds.
  virtual Result<std::vector<ClaimCandidate>> DueWaitingRuns(std::string_view agent_id, int64_t now,
                                                             int limit) = 0;
};

// What one claim does, in this order: retire, cancel, claim.
struct ClaimPlan {
  // Running runs whose lease expired on their last attempt (attempts >= max_attempts): they
  // become dead (kLastLeaseExpiredError, with an "error" message for the cut attempt) instead of
  // being claimed.
  std::vector<int64_t> retire_seqs;
  // Agents that are gone but have due runs: their waiting runs and their running runs with an
  // expired lease are cancelled (kAgentDeletedError); nothing of theirs is claimed.
  std::vector<std::string> gone_agents;
  // The runs to lease, in the fair order (PlanClaims): at most `limit`; per agent no more than
  // its concurrency minus its running runs with an unexpired lease, and no more than the
  // request's max_per_agent minus those the claiming owner holds. A reclaim's cut attempt gets
  // an "error" message (kLeaseExpiredError).
  std::vector<ClaimCandidate> claims;
};

// ClaimRuns' request checked: kInvalidArgument when the owner is "" or the lease is not longer
// than zero; else the limit clamped to 0..kMaxClaim.
Result<int> ClaimLimit(const ClaimRequest& request);

// The claim decision of `request` (its owner, now and max_per_agent) for at most `limit` (> 0)
// runs. Fair order: each next run is taken from the workspace with the fewest running runs
// (unexpired leases, counting those taken by this plan), within it from the agent with the
// fewest, and of that agent its oldest due (ties: the oldest due run). So a workspace or agent
// with a long backlog cannot keep another's run waiting behind it: the next free worker goes to
// the least served. The work is bounded by the live runs, never by the history nor by a
// saturated agent's backlog: the running runs, one probe per agent with waiting runs, and per
// agent with free slots at most min(free, limit) of its oldest due runs.
Result<ClaimPlan> PlanClaims(RunRows& rows, const ClaimRequest& request, int limit);

// RunQueue::NextDueTime over `rows` (read on one snapshot).
Result<std::optional<int64_t>> ComputeNextDueTime(RunRows& rows);

// A run's state as FinishAttempt reads it (locked, where the backend has concurrent writers).
struct AttemptFence {
  std::string status;  // RunStatusName spelling
  std::string lease_owner;
  int64_t attempts = 0;
  int64_t max_attempts = 0;
};

// What the end of an attempt makes of its run.
struct AttemptEnd {
  std::string_view status;  // the new RunStatusName
  bool final = true;        // finished_at = the result's finished_at; else next_attempt_at is set
  std::string_view last_error;    // "" on success, else the result's message
  std::string_view message_role;  // of the run message: "agent" (the reply) or "error"
};

// FinishAttempt's decision for `result` on a run in state `fence`: kConflict when the attempt's
// claim no longer holds the run (another status, lease owner or attempt number), so its result
// is dropped; kInvalidArgument for an unknown outcome. kRetry on the last attempt is dead: the
// store never starts more than max_attempts attempts. The returned views point into `result`
// or at literals.
Result<AttemptEnd> EndAttempt(const AttemptResult& result, const AttemptFence& fence);

// The "error" run message of an attempt the store cut short: a run retired or reclaimed after its
// lease expired, or released with its dispatcher (`error` says which).
RunMessage CutAttemptMessage(std::string_view run_id, int64_t attempt, std::string_view error,
                             int64_t at);
// The message of a claimed run that was a reclaim (ClaimCandidate::reclaim): its previous
// attempt, the one whose lease expired, was cut.
RunMessage ReclaimMessage(const Run& claimed, int64_t now);
// The message FinishAttempt records for `result`: the reply ("agent") or the error ("error").
RunMessage FinishedAttemptMessage(const AttemptResult& result, const AttemptEnd& end);

// A run's status as a backend read it (RunStatusName spelling), or kInternal naming `op` when
// the text is no status.
Result<RunStatus> StoredRunStatus(std::string_view text, std::string_view op);

// RetryRun and CancelRun: kConflict unless the run is in a state the call applies to (failed or
// dead; queued or retrying).
Status CheckRetryable(RunStatus status);
Status CheckCancellable(RunStatus status);

}  // namespace triggerd::store
