// RunQueue: runs and their dispatch state — reads, RetryRun/CancelRun, and what the dispatcher
// does with them: claims under a lease, the end of each attempt (fenced by lease owner and
// attempt), the next time anything is due, releasing a stopped dispatcher's leases, and the
// listener told when runs become due. Which runs a claim takes and when the next one is due is
// the policy of store/run_policy.h, shared by both backends. One of the narrow interfaces of
// store/ (store.h aggregates them).
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/records.h"

namespace triggerd::store {

struct RunQuery {
  std::string workspace_id;  // required
  std::string trigger_id;    // "" = any
  std::string agent_id;      // "" = any
  std::string event_id;      // "" = any
  std::string owner;         // "" = any; else only runs whose owner is this key id
  std::optional<RunStatus> status;
  std::optional<int64_t> since;  // created_at >= since
  std::optional<int64_t> until;  // created_at < until
  int limit = 50;                // 1..500
  std::optional<int64_t> before_seq;
};

// Claiming runs for dispatch (see RunQueue::ClaimRuns).
struct ClaimRequest {
  std::string owner;         // the claiming dispatcher's id (unique per process)
  int64_t now = 0;
  int64_t lease_micros = 0;  // lease_expires_at = now + lease_micros
  int limit = 1;             // at most this many runs
  // At most this many runs of one agent leased by `owner` at once (unexpired), on top of the
  // agent's concurrency; 0 = no cap but the concurrency. A dispatcher passes a share of its
  // worker pool, so one agent (however high its concurrency) cannot hold every worker.
  int max_per_agent = 0;
};

// The end of one attempt (see RunQueue::FinishAttempt).
enum class AttemptOutcome {
  kSucceeded,  // -> succeeded; `message` is the agent's reply (role "agent")
  kRetry,      // -> retrying with next_attempt_at; `message` is the error (role "error")
  kFailed,     // -> failed (permanent, e.g. a 400 from the target); error message
  kDead,       // -> dead (retryable error but no attempts left); error message
};
struct AttemptResult {
  std::string run_id;
  std::string lease_owner;  // must still hold the lease
  int attempt = 0;          // must equal the run's attempts (the claim that started it)
  AttemptOutcome outcome = AttemptOutcome::kSucceeded;
  std::string message;          // reply or error text, stored as a RunMessage
  int64_t finished_at = 0;      // the message's time; also finished_at for final outcomes
  int64_t next_attempt_at = 0;  // for kRetry
};

class RunQueue {
 public:
  virtual ~RunQueue() = default;

  // Runs.
  virtual Result<Run> GetRun(std::string_view workspace_id, std::string_view id) = 0;
  // Newest first, paged like EventLog::ListEvents.
  virtual Result<Page<Run>> ListRuns(const RunQuery& query) = 0;
  // Oldest first. Not scoped to a workspace: look the run up with GetRun first.
  virtual Result<std::vector<RunMessage>> ListRunMessages(std::string_view run_id) = 0;
  // A failed or dead run is queued again (due now, finished_at cleared) with a fresh budget:
  // max_attempts = attempts + the agent's max_attempts (the run's old max_attempts when the agent
  // is gone); other states: kConflict.
  virtual Status RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) = 0;
  // A queued or retrying run becomes cancelled (finished_at = now); other states: kConflict.
  virtual Status CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) = 0;

  // Dispatch. ClaimRuns leases up to `limit` runs that are due — queued/retrying with
  // next_attempt_at <= now, or running with an expired lease (its worker died) — fairly: the
  // least served workspace first, then its least served agent, then that agent's oldest due run
  // (run_policy.h, PlanClaims); never more running (with an unexpired lease) per agent than the
  // agent's concurrency, nor more leased by `owner` per agent than `max_per_agent`. Each
  // claimed run becomes running with lease_owner/lease_expires_at set and attempts incremented
  // (the returned Runs show the new values). A run whose lease expired and which has no attempts
  // left becomes dead instead of being claimed ("lease expired during the last attempt"); a
  // reclaimed run gets an "error" message for its cut attempt. A due run whose agent no longer
  // exists is cancelled instead ("agent deleted"; its concurrency is unknown and it has nowhere
  // to go). Durable like any write. kInvalidArgument when owner is "" or lease_micros <= 0;
  // `limit` is clamped to 0..500.
  virtual Result<std::vector<Run>> ClaimRuns(const ClaimRequest& request) = 0;
  // Records the ends of attempts, in order, in one durable write: for each result the message
  // and the run's new state, answered by its own Status in the returned vector (same order).
  // kConflict when the run is no longer running under that lease_owner and attempt (the lease
  // expired and another claim took it, or it was cancelled) — that result is then dropped and its
  // run is unchanged; kNotFound for an unknown run. Either confines itself to its result. kRetry
  // on the run's last attempt (attempts >= max_attempts) makes it dead: the store never starts
  // more than max_attempts attempts. A failure of the write itself fails the call (nothing of it
  // was recorded). One write for many results is what lets a dispatcher finish runs at the rate
  // it delivers them: they share one commit (and one fsync).
  virtual Result<std::vector<Status>> FinishAttempts(const std::vector<AttemptResult>& results) = 0;
  // FinishAttempts of one result, answered by that result's Status.
  Status FinishAttempt(const AttemptResult& result) {
    TRIGGERD_ASSIGN_OR_RETURN(std::vector<Status> finished, FinishAttempts({result}));
    return finished.empty() ? Status::Internal("finish attempt: no result") : finished.front();
  }
  // The earliest time at which ClaimRuns could claim (or retire) something, nullopt when no run
  // is queued, retrying or running: the least next_attempt_at of the waiting runs and
  // lease_expires_at of the running ones — except that an agent at its concurrency contributes
  // the time its next lease expires, not its waiting runs (a finishing attempt frees a slot
  // sooner; the dispatcher wakes itself for that). So a due time in the past means ClaimRuns can
  // make progress now — unless max_per_agent holds the agent back, which this call, knowing no
  // owner, does not see — and a dispatcher that sleeps until this time does not spin.
  virtual Result<std::optional<int64_t>> NextDueTime() = 0;
  // Every run leased by a dispatcher other than `keep_owner` becomes retrying, due at `now` (its
  // cut attempt still counts and gets an "error" message; one with no attempts left becomes
  // dead). For a single-process store (SQLite) at start-up: the previous process is gone, so its
  // leases need not be waited out.
  virtual Status ReleaseLeases(std::string_view keep_owner, int64_t now) = 0;
  // `listener` runs (on a store thread; it must not block or call the store) once after each
  // commit that made runs due: appends and AppendMatches with runs, RetryRun, ReleaseLeases that
  // released something (and, on a store with a standing claim, FinishAttempts: see below). It runs before the callers of that commit get their results, so a caller
  // that saw its write succeed knows the listener has been told. Replaces any earlier listener;
  // an empty function removes it. Once this returns, the previous listener is not running and
  // is never called again (a call in progress is waited for), so its owner may be destroyed;
  // hence do not call this while holding a lock that the listener takes.
  virtual void SetRunsQueuedListener(std::function<void()> listener) = 0;
  // A claim the store makes on its own commits, for a dispatcher of this process: at the end of
  // every write transaction that made runs due (an append that matched triggers, above all) or
  // ended attempts (FinishAttempts frees slots), the store asks `want` for a ClaimRequest and, when its limit is > 0, leases runs for it inside
  // that same transaction, then hands them to `claimed` after its commit — so a run is leased by
  // the commit that stores it, and reaches a worker without a claim write and commit of its own
  // (the time from an event's 200 to its delivery is then the hand-over, not a second fsync).
  // `claimed` is called exactly once after each `want` that asked for runs: with the runs leased
  // (durable, like every run the batch wrote), or with none when the claim or the commit failed.
  // The runs-queued listener is then told only when the claim took as many runs as it asked for
  // (more may be due) or failed. Both run on the store's writer thread: they must not block or
  // call the store. Replaces any earlier one; empty functions remove it; the same waiting rule as
  // SetRunsQueuedListener. Returns false when the backend does not claim on its commits (then the
  // listener is told as before and the dispatcher claims with ClaimRuns): PostgreSQL, where each
  // node's dispatcher competes for runs under the claim lock.
  // Each run comes with its event when the claiming transaction also stored that event (an
  // append of the same batch): its attempt then need not read the event back. The event is as
  // GetEvent would return it, except `seq` (0: not known to the writer) and no matches or runs.
  struct LeasedRun {
    Run run;
    std::shared_ptr<const Event> event;  // nullptr: read it with EventLog::GetEvent
  };
  struct StandingClaim {
    std::function<ClaimRequest()> want;
    std::function<void(std::vector<LeasedRun>)> claimed;
  };
  virtual bool SetStandingClaim(StandingClaim claim) = 0;
};

}  // namespace triggerd::store
