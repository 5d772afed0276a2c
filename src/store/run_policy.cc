#include "store/run_policy.h"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

namespace triggerd::store {
namespace {

// What a claim knows of one agent's runs.
struct AgentLoad {
  int unexpired = 0;                    // running with lease_expires_at > now: the slots in use
  int owned = 0;                        // of those, leased by the claiming owner
  std::vector<ClaimCandidate> expired;  // running with an expired lease and attempts left
  bool waiting_due = false;             // has a waiting run with next_attempt_at <= now
};

// One agent's claimable runs, oldest due first, as the fair merge takes them.
struct AgentQueue {
  std::string workspace_id;
  int running = 0;  // unexpired leases, plus what this plan took
  std::vector<ClaimCandidate> runs;
  size_t next = 0;
};

}  // namespace

Result<int> ClaimLimit(const ClaimRequest& request) {
  if (request.owner.empty()) return Status::InvalidArgument("claim runs: empty lease owner");
  if (request.lease_micros <= 0) {
    return Status::InvalidArgument("claim runs: the lease must be longer than zero");
  }
  return std::clamp(request.limit, 0, kMaxClaim);
}

Result<ClaimPlan> PlanClaims(RunRows& rows, const ClaimRequest& request, int limit) {
  const int64_t now = request.now;
  ClaimPlan plan;
  std::map<std::string, AgentLoad, std::less<>> agents;
  std::map<std::string, int, std::less<>> workspace_running;  // unexpired leases per workspace
  TRIGGERD_ASSIGN_OR_RETURN(std::vector<RunningRun> running, rows.RunningRuns());
  for (RunningRun& run : running) {
    if (run.lease_expires_at > now) {
      AgentLoad& load = agents[std::move(run.agent_id)];
      ++load.unexpired;
      if (run.lease_owner == request.owner) ++load.owned;
      ++workspace_running[run.workspace_id];
    } else if (run.attempts >= run.max_attempts) {
      // Its worker died during the last attempt: no attempt is left to claim, and it holds no
      // slot (the lease is over).
      plan.retire_seqs.push_back(run.seq);
    } else {
      agents[std::move(run.agent_id)].expired.push_back({run.lease_expires_at, run.seq, true});
    }
  }
  TRIGGERD_ASSIGN_OR_RETURN(std::vector<WaitingAgent> waiting, rows.WaitingAgents());
  for (WaitingAgent& agent : waiting) {
    if (agent.next_attempt_at <= now) agents[std::move(agent.agent_id)].waiting_due = true;
  }

  std::vector<AgentQueue> queues;
  for (auto& [agent_id, load] : agents) {
    if (load.expired.empty() && !load.waiting_due) continue;
    TRIGGERD_ASSIGN_OR_RETURN(std::optional<AgentLimit> agent, rows.AgentLimitOf(agent_id));
    if (!agent) {
      // The agent was deleted: its concurrency is unknown and its runs have nowhere to go.
      plan.gone_agents.push_back(agent_id);
      continue;
    }
    int free = agent->concurrency - load.unexpired;
    // The owner's share: however high the concurrency, one agent holds at most max_per_agent of
    // this dispatcher's workers, so the others always find some.
    if (request.max_per_agent > 0) free = std::min(free, request.max_per_agent - load.owned);
    if (free <= 0) continue;
    const int take = std::min(free, limit);
    std::vector<ClaimCandidate> mine = std::move(load.expired);
    if (load.waiting_due) {
      TRIGGERD_ASSIGN_OR_RETURN(std::vector<ClaimCandidate> due,
                                rows.DueWaitingRuns(agent_id, now, take));
      mine.insert(mine.end(), due.begin(), due.end());
    }
    std::sort(mine.begin(), mine.end());
    if (mine.size() > static_cast<size_t>(take)) mine.resize(take);
    if (!mine.empty()) {
      queues.push_back({std::move(agent->workspace_id), load.unexpired, std::move(mine), 0});
    }
  }

  // The fair merge: each next run from the least served workspace, its least served agent, that
  // agent's oldest due run. Every agent already contributed no more than its free slots. At most
  // `limit` (<= kMaxClaim) rounds over the agents with candidates.
  while (plan.claims.size() < static_cast<size_t>(limit)) {
    AgentQueue* best = nullptr;
    auto served = [&](const AgentQueue& q) {
      return std::make_tuple(workspace_running[q.workspace_id], q.running, q.runs[q.next]);
    };
    for (AgentQueue& q : queues) {
      if (q.next == q.runs.size()) continue;
      if (best == nullptr || served(q) < served(*best)) best = &q;
    }
    if (best == nullptr) break;
    plan.claims.push_back(best->runs[best->next++]);
    ++best->running;
    ++workspace_running[best->workspace_id];
  }
  return plan;
}

// Per agent with k running runs (leases e[0] <= … <= e[k-1]) and concurrency c: at k >= c
// nothing of it is claimable before e[k-c], when a slot frees and that very run's lease has
// expired, so it is claimable then; at k < c a slot is free and the agent is claimable at its
// earliest waiting next_attempt_at or its earliest lease expiry. A deleted agent has no limit
// (its runs are cancelled when due). Runs whose lease expired on their last attempt count like
// any running run: a claim at their expiry retires them.
Result<std::optional<int64_t>> ComputeNextDueTime(RunRows& rows) {
  std::map<std::string, std::vector<int64_t>, std::less<>> leases;  // ascending per agent
  std::map<std::string, int64_t, std::less<>> waiting;              // earliest next_attempt_at
  TRIGGERD_ASSIGN_OR_RETURN(std::vector<RunningRun> running, rows.RunningRuns());
  for (RunningRun& run : running) {
    leases[std::move(run.agent_id)].push_back(run.lease_expires_at);
  }
  for (auto& [agent_id, expiries] : leases) std::sort(expiries.begin(), expiries.end());
  TRIGGERD_ASSIGN_OR_RETURN(std::vector<WaitingAgent> waiting_agents, rows.WaitingAgents());
  for (WaitingAgent& agent : waiting_agents) {
    waiting[std::move(agent.agent_id)] = agent.next_attempt_at;
  }

  std::optional<int64_t> next;
  auto consider = [&next](int64_t t) {
    if (!next || t < *next) next = t;
  };
  auto agent_due = [&](const std::string& agent_id) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(std::optional<AgentLimit> agent, rows.AgentLimitOf(agent_id));
    const size_t limit = agent ? static_cast<size_t>(agent->concurrency)
                               : std::numeric_limits<size_t>::max();
    auto held = leases.find(agent_id);
    const size_t k = held != leases.end() ? held->second.size() : 0;
    if (k >= limit) {
      consider(held->second[k - limit]);
      return Status::Ok();
    }
    if (k > 0) consider(held->second.front());
    if (auto w = waiting.find(agent_id); w != waiting.end()) consider(w->second);
    return Status::Ok();
  };
  for (const auto& [agent_id, expiries] : leases) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  for (const auto& [agent_id, first] : waiting) {
    if (!leases.contains(agent_id)) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  }
  return next;
}

Result<AttemptEnd> EndAttempt(const AttemptResult& r, const AttemptFence& fence) {
  // The fence: only the claim that started this attempt may end it. A lease taken over by
  // another claim has a new attempt number (and usually another owner); a cancelled or finished
  // run is no longer running.
  if (fence.status != RunStatusName(RunStatus::kRunning) || fence.lease_owner != r.lease_owner ||
      fence.attempts != r.attempt) {
    return Status::Conflict("finish attempt: run " + r.run_id + " is no longer running " +
                            "attempt " + std::to_string(r.attempt) + " under lease owner " +
                            r.lease_owner);
  }
  AttemptEnd end;
  switch (r.outcome) {
    case AttemptOutcome::kSucceeded:
      end.status = RunStatusName(RunStatus::kSucceeded);
      break;
    case AttemptOutcome::kRetry:
      // The budget is the store's invariant too: no attempt beyond max_attempts is ever started.
      end.final = fence.attempts >= fence.max_attempts;
      end.status = RunStatusName(end.final ? RunStatus::kDead : RunStatus::kRetrying);
      break;
    case AttemptOutcome::kFailed:
      end.status = RunStatusName(RunStatus::kFailed);
      break;
    case AttemptOutcome::kDead:
      end.status = RunStatusName(RunStatus::kDead);
      break;
  }
  if (end.status.empty()) return Status::InvalidArgument("finish attempt: unknown outcome");
  const bool succeeded = r.outcome == AttemptOutcome::kSucceeded;
  end.last_error = succeeded ? std::string_view() : std::string_view(r.message);
  end.message_role = succeeded ? "agent" : "error";
  return end;
}

RunMessage CutAttemptMessage(std::string_view run_id, int64_t attempt, std::string_view error,
                             int64_t at) {
  return RunMessage{std::string(run_id), static_cast<int>(attempt), "error", std::string(error),
                    at};
}

RunMessage ReclaimMessage(const Run& claimed, int64_t now) {
  return CutAttemptMessage(claimed.id, claimed.attempts - 1, kLeaseExpiredError, now);
}

RunMessage FinishedAttemptMessage(const AttemptResult& result, const AttemptEnd& end) {
  return RunMessage{result.run_id, result.attempt, std::string(end.message_role), result.message,
                    result.finished_at};
}

Result<RunStatus> StoredRunStatus(std::string_view text, std::string_view op) {
  std::optional<RunStatus> status = ParseRunStatus(text);
  if (!status) return Status::Internal(std::string(op) + ": unknown run status");
  return *status;
}

Status CheckRetryable(RunStatus status) {
  if (status == RunStatus::kFailed || status == RunStatus::kDead) return Status::Ok();
  return Status::Conflict("retry run: the run is " + std::string(RunStatusName(status)) +
                          "; only a failed or dead run can be retried");
}

Status CheckCancellable(RunStatus status) {
  if (status == RunStatus::kQueued || status == RunStatus::kRetrying) return Status::Ok();
  return Status::Conflict("cancel run: the run is " + std::string(RunStatusName(status)) +
                          "; only a queued or retrying run can be cancelled");
}

}  // namespace triggerd::store
