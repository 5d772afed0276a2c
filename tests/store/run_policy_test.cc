// The run policy (store/run_policy.h) on plain rows, without a database: the contract tests
// (store_dispatch_contract_test.cc) hold both backends to the same decisions end to end.
#include "store/run_policy.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace triggerd::store {
namespace {

// Rows as a backend would read them; an agent not in `concurrency` is gone; an agent's workspace
// is `workspace[agent]`, else "ws".
class FakeRunRows final : public RunRows {
 public:
  std::vector<RunningRun> running;
  std::vector<WaitingAgent> waiting;
  std::map<std::string, int> concurrency;
  std::map<std::string, std::string> workspace;
  std::map<std::string, std::vector<ClaimCandidate>> due;  // per agent, oldest due first
  std::vector<std::pair<std::string, int>> due_asked;      // (agent, limit) of DueWaitingRuns

  // RunRows
  Result<std::vector<RunningRun>> RunningRuns() override { return running; }
  Result<std::vector<WaitingAgent>> WaitingAgents() override { return waiting; }
  Result<std::optional<AgentLimit>> AgentLimitOf(std::string_view id) override {
    auto it = concurrency.find(std::string(id));
    if (it == concurrency.end()) return std::optional<AgentLimit>();
    auto ws = workspace.find(it->first);
    return std::optional<AgentLimit>(
        AgentLimit{ws == workspace.end() ? "ws" : ws->second, it->second});
  }
  Result<std::vector<ClaimCandidate>> DueWaitingRuns(std::string_view agent_id, int64_t now,
                                                     int limit) override {
    due_asked.emplace_back(std::string(agent_id), limit);
    std::vector<ClaimCandidate> out;
    for (const ClaimCandidate& c : due[std::string(agent_id)]) {
      if (c.due <= now && static_cast<int>(out.size()) < limit) out.push_back(c);
    }
    return out;
  }
};

// A claim by owner "dsp" at `now`.
ClaimRequest At(int64_t now, int max_per_agent = 0) {
  ClaimRequest request;
  request.owner = "dsp";
  request.now = now;
  request.lease_micros = 1000;
  request.max_per_agent = max_per_agent;
  return request;
}

std::vector<int64_t> Seqs(const std::vector<ClaimCandidate>& claims) {
  std::vector<int64_t> seqs;
  for (const ClaimCandidate& c : claims) seqs.push_back(c.seq);
  return seqs;
}

TEST(RunPolicyTest, ClaimsOldestDueFirstAcrossAgents) {
  FakeRunRows rows;
  rows.concurrency = {{"a", 4}, {"b", 4}};
  rows.waiting = {{"a", 30}, {"b", 10}};
  rows.due["a"] = {{30, 1, false}, {40, 2, false}};
  rows.due["b"] = {{10, 3, false}, {50, 4, false}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(45), 3);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_TRUE(plan->retire_seqs.empty());
  EXPECT_TRUE(plan->gone_agents.empty());
}

// Issue 18, item 6: workspace A's backlog is older, but B has nothing running, so B's run goes
// first; then A's agents alternate with each other by how many each has running.
TEST(RunPolicyTest, TheLeastServedWorkspaceAndAgentGoFirst) {
  FakeRunRows rows;
  rows.concurrency = {{"a1", 100}, {"a2", 100}, {"b", 100}};
  rows.workspace = {{"a1", "ws_a"}, {"a2", "ws_a"}, {"b", "ws_b"}};
  rows.running = {{1, "a1", 1000, 1, 8, "ws_a", "dsp"}, {2, "a1", 1000, 1, 8, "ws_a", "dsp"}};
  rows.waiting = {{"a1", 10}, {"a2", 20}, {"b", 90}};
  rows.due["a1"] = {{10, 3, false}, {11, 4, false}, {12, 5, false}};
  rows.due["a2"] = {{20, 6, false}, {21, 7, false}};
  rows.due["b"] = {{90, 8, false}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(100), 1);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{8}));
  plan = PlanClaims(rows, At(100), 5);
  ASSERT_TRUE(plan.has_value());
  // b first (ws_b has nothing running); then only ws_a has runs: a2 (none running) twice before
  // a1 (two running) gets its turn.
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{8, 6, 7, 3, 4}));
}

// The owner's share caps an agent below its concurrency; another owner's leases count against
// the concurrency only.
TEST(RunPolicyTest, MaxPerAgentCapsTheOwnersLeasesBelowTheConcurrency) {
  FakeRunRows rows;
  rows.concurrency = {{"a", 1000}};
  rows.running = {{1, "a", 1000, 1, 8, "ws", "dsp"},
                  {2, "a", 1000, 1, 8, "ws", "dsp"},
                  {3, "a", 1000, 1, 8, "ws", "other"}};
  rows.waiting = {{"a", 10}};
  rows.due["a"] = {{10, 4, false}, {11, 5, false}, {12, 6, false}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(100, 3), 10);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{4}));
  plan = PlanClaims(rows, At(100, 2), 10);
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(plan->claims.empty());
  plan = PlanClaims(rows, At(100), 10);  // no share: the concurrency alone
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{4, 5, 6}));
}

TEST(RunPolicyTest, NeverClaimsBeyondAnAgentsFreeSlots) {
  FakeRunRows rows;
  rows.concurrency = {{"a", 2}};
  rows.running = {{7, "a", 1000, 1, 8}};  // an unexpired lease holds one slot
  rows.waiting = {{"a", 10}};
  rows.due["a"] = {{10, 1, false}, {11, 2, false}, {12, 3, false}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(100), 10);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(Seqs(plan->claims), (std::vector<int64_t>{1}));
  // Only the free slots are read: a saturated agent's backlog is never scanned.
  ASSERT_EQ(rows.due_asked.size(), 1u);
  EXPECT_EQ(rows.due_asked[0].second, 1);
}

TEST(RunPolicyTest, ReclaimsExpiredLeasesAndRetiresThoseOnTheirLastAttempt) {
  FakeRunRows rows;
  rows.concurrency = {{"a", 4}};
  rows.running = {{5, "a", 20, 2, 8}, {6, "a", 15, 8, 8}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(100), 10);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->claims.size(), 1u);
  EXPECT_EQ(plan->claims[0].seq, 5);
  EXPECT_TRUE(plan->claims[0].reclaim);
  EXPECT_EQ(plan->retire_seqs, (std::vector<int64_t>{6}));
}

TEST(RunPolicyTest, CancelsInsteadOfClaimingRunsOfAGoneAgent) {
  FakeRunRows rows;
  rows.waiting = {{"gone", 10}};
  rows.due["gone"] = {{10, 1, false}};
  Result<ClaimPlan> plan = PlanClaims(rows, At(100), 10);
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(plan->claims.empty());
  EXPECT_EQ(plan->gone_agents, (std::vector<std::string>{"gone"}));
  EXPECT_TRUE(rows.due_asked.empty());
}

TEST(RunPolicyTest, NextDueTimeOfASaturatedAgentIsItsNextLeaseExpiry) {
  FakeRunRows rows;
  rows.concurrency = {{"a", 2}, {"b", 1}};
  rows.running = {{1, "a", 300, 1, 8}, {2, "a", 200, 1, 8}};
  rows.waiting = {{"a", 5}, {"b", 150}};
  Result<std::optional<int64_t>> next = ComputeNextDueTime(rows);
  ASSERT_TRUE(next.has_value());
  // "a" is at its concurrency: its waiting run at 5 does not count, its first expiry (200) does;
  // "b" has a free slot: its waiting run at 150 is the earliest.
  EXPECT_EQ(*next, std::optional<int64_t>(150));
  rows.waiting = {{"a", 5}};
  EXPECT_EQ(*ComputeNextDueTime(rows), std::optional<int64_t>(200));
  rows.running.clear();
  rows.waiting.clear();
  EXPECT_EQ(*ComputeNextDueTime(rows), std::nullopt);
}

TEST(RunPolicyTest, EndAttemptIsFencedByStatusOwnerAndAttempt) {
  AttemptResult result{"run_1", "dsp_1", 2, AttemptOutcome::kSucceeded, "ok", 100, 0};
  EXPECT_TRUE(EndAttempt(result, {"running", "dsp_1", 2, 8}).has_value());
  EXPECT_EQ(EndAttempt(result, {"running", "dsp_2", 2, 8}).error().type(), ErrorType::kConflict);
  EXPECT_EQ(EndAttempt(result, {"running", "dsp_1", 3, 8}).error().type(), ErrorType::kConflict);
  EXPECT_EQ(EndAttempt(result, {"cancelled", "dsp_1", 2, 8}).error().type(),
            ErrorType::kConflict);
}

TEST(RunPolicyTest, RetryOnTheLastAttemptIsDead) {
  AttemptResult result{"run_1", "dsp_1", 3, AttemptOutcome::kRetry, "boom", 100, 200};
  Result<AttemptEnd> retry = EndAttempt(result, {"running", "dsp_1", 3, 8});
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(retry->status, "retrying");
  EXPECT_FALSE(retry->final);
  EXPECT_EQ(retry->last_error, "boom");
  EXPECT_EQ(retry->message_role, "error");
  Result<AttemptEnd> last = EndAttempt(result, {"running", "dsp_1", 3, 3});
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, "dead");
  EXPECT_TRUE(last->final);
}

TEST(RunPolicyTest, ClaimLimitChecksTheRequest) {
  EXPECT_EQ(ClaimLimit({"", 0, 10, 1}).error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(ClaimLimit({"dsp", 0, 0, 1}).error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(*ClaimLimit({"dsp", 0, 10, 9000}), kMaxClaim);
  EXPECT_EQ(*ClaimLimit({"dsp", 0, 10, -1}), 0);
}

}  // namespace
}  // namespace triggerd::store
