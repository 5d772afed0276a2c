// A store::Store that forwards every call to a real store and counts them: the reads (every call
// but AppendEvent and the listener/stat plumbing) and the appends. Tests assert how many store
// calls a request cost.
#pragma once

#include <atomic>

#include "store/store.h"

namespace triggerd::testing {

class CountingStore final : public store::Store {
 public:
  explicit CountingStore(store::Store* inner) : inner_(inner) {}

  uint64_t calls() const { return calls_.load(); }
  uint64_t appends() const { return appends_.load(); }

  // Store
  Status CreateWorkspace(const store::Workspace& w) override {
    return Count(), inner_->CreateWorkspace(w);
  }
  Result<bool> CreateFirstWorkspace(const store::Workspace& w, const store::ApiKey& k) override {
    return Count(), inner_->CreateFirstWorkspace(w, k);
  }
  Result<store::Workspace> GetWorkspace(std::string_view id) override {
    return Count(), inner_->GetWorkspace(id);
  }
  Result<std::vector<store::Workspace>> ListWorkspaces() override {
    return Count(), inner_->ListWorkspaces();
  }
  Status CreateApiKey(const store::ApiKey& k) override { return Count(), inner_->CreateApiKey(k); }
  Result<store::ApiKey> FindApiKeyByHash(std::string_view h) override {
    return Count(), inner_->FindApiKeyByHash(h);
  }
  Result<std::vector<store::ApiKey>> ListApiKeys(std::string_view ws) override {
    return Count(), inner_->ListApiKeys(ws);
  }
  Status RevokeApiKey(std::string_view ws, std::string_view id, int64_t at) override {
    return Count(), inner_->RevokeApiKey(ws, id, at);
  }
  Status CreateSource(const store::Source& s) override { return Count(), inner_->CreateSource(s); }
  Result<store::Source> GetSource(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetSource(ws, id);
  }
  Result<std::vector<store::Source>> ListSources(std::string_view ws) override {
    return Count(), inner_->ListSources(ws);
  }
  Result<std::vector<store::Source>> ListAllSources() override {
    return Count(), inner_->ListAllSources();
  }
  Status UpdateSource(const store::Source& s) override { return Count(), inner_->UpdateSource(s); }
  Status DeleteSource(std::string_view ws, std::string_view id) override {
    return Count(), inner_->DeleteSource(ws, id);
  }
  void AppendEvent(store::NewEvent event, AppendCallback done) override {
    ++appends_;
    inner_->AppendEvent(std::move(event), std::move(done));
  }
  Result<store::Event> GetEvent(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetEvent(ws, id);
  }
  Result<store::Page<store::EventSummary>> ListEvents(const store::EventQuery& q) override {
    return Count(), inner_->ListEvents(q);
  }
  Status CreateAgent(const store::Agent& a) override { return Count(), inner_->CreateAgent(a); }
  Result<store::Agent> GetAgent(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetAgent(ws, id);
  }
  Result<std::vector<store::Agent>> ListAgents(std::string_view ws) override {
    return Count(), inner_->ListAgents(ws);
  }
  Status UpdateAgent(const store::Agent& a) override { return Count(), inner_->UpdateAgent(a); }
  Status DeleteAgent(std::string_view ws, std::string_view id) override {
    return Count(), inner_->DeleteAgent(ws, id);
  }
  Status CreateTrigger(const store::Trigger& t) override {
    return Count(), inner_->CreateTrigger(t);
  }
  Result<store::Trigger> GetTrigger(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetTrigger(ws, id);
  }
  Result<std::vector<store::Trigger>> ListTriggers(std::string_view ws, std::string_view source,
                                                   std::string_view agent) override {
    return Count(), inner_->ListTriggers(ws, source, agent);
  }
  Result<std::vector<store::Trigger>> ListAllTriggers() override {
    return Count(), inner_->ListAllTriggers();
  }
  Status UpdateTrigger(const store::Trigger& t) override {
    return Count(), inner_->UpdateTrigger(t);
  }
  Status DeleteTrigger(std::string_view ws, std::string_view id) override {
    return Count(), inner_->DeleteTrigger(ws, id);
  }
  Result<std::vector<store::Match>> ListEventMatches(std::string_view ws,
                                                     std::string_view event) override {
    return Count(), inner_->ListEventMatches(ws, event);
  }
  Result<store::Page<store::Match>> ListTriggerMatches(const store::MatchQuery& q) override {
    return Count(), inner_->ListTriggerMatches(q);
  }
  Status AppendMatches(std::string_view ws, std::string_view event, std::vector<store::Match> m,
                       std::vector<store::NewRun> r) override {
    return Count(), inner_->AppendMatches(ws, event, std::move(m), std::move(r));
  }
  Result<store::Run> GetRun(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetRun(ws, id);
  }
  Result<store::Page<store::Run>> ListRuns(const store::RunQuery& q) override {
    return Count(), inner_->ListRuns(q);
  }
  Result<std::vector<store::RunMessage>> ListRunMessages(std::string_view run) override {
    return Count(), inner_->ListRunMessages(run);
  }
  Status RetryRun(std::string_view ws, std::string_view id, int64_t now) override {
    return Count(), inner_->RetryRun(ws, id, now);
  }
  Status CancelRun(std::string_view ws, std::string_view id, int64_t now) override {
    return Count(), inner_->CancelRun(ws, id, now);
  }
  Result<std::vector<store::Run>> ClaimRuns(const store::ClaimRequest& r) override {
    return Count(), inner_->ClaimRuns(r);
  }
  Result<std::vector<Status>> FinishAttempts(
      const std::vector<store::AttemptResult>& r) override {
    return Count(), inner_->FinishAttempts(r);
  }
  Result<std::optional<int64_t>> NextDueTime() override { return Count(), inner_->NextDueTime(); }
  Status ReleaseLeases(std::string_view owner, int64_t now) override {
    return Count(), inner_->ReleaseLeases(owner, now);
  }
  void SetRunsQueuedListener(std::function<void()> listener) override {
    inner_->SetRunsQueuedListener(std::move(listener));
  }
  bool SetStandingClaim(StandingClaim claim) override {
    return inner_->SetStandingClaim(std::move(claim));
  }
  void Close() override { inner_->Close(); }
  store::StoreStats Stats() override { return inner_->Stats(); }
  Result<store::LiveRunCounts> CountLiveRuns() override { return Count(), inner_->CountLiveRuns(); }
  Result<store::PurgeResult> Purge(const store::PurgeRequest& r) override {
    return Count(), inner_->Purge(r);
  }
  Status CreateAgentWebhook(const store::AgentWebhook& w) override {
    return Count(), inner_->CreateAgentWebhook(w);
  }
  Result<store::AgentWebhook> GetAgentWebhook(std::string_view agent,
                                              std::string_view kind) override {
    return Count(), inner_->GetAgentWebhook(agent, kind);
  }
  Result<store::AgentWebhook> FindAgentWebhookByTokenHash(std::string_view hash) override {
    return Count(), inner_->FindAgentWebhookByTokenHash(hash);
  }
  Result<std::vector<store::AgentWebhook>> ListAgentWebhooks(std::string_view ws,
                                                             std::string_view kind) override {
    return Count(), inner_->ListAgentWebhooks(ws, kind);
  }
  Status UpdateAgentWebhook(const store::AgentWebhook& w) override {
    return Count(), inner_->UpdateAgentWebhook(w);
  }
  Status DeleteAgentWebhook(std::string_view ws, std::string_view id) override {
    return Count(), inner_->DeleteAgentWebhook(ws, id);
  }
  Result<store::SourceCursor> GetSourceCursor(std::string_view id) override {
    return Count(), inner_->GetSourceCursor(id);
  }
  Status PutSourceCursor(const store::SourceCursor& c) override {
    return Count(), inner_->PutSourceCursor(c);
  }
  Result<bool> ClaimSourceTurn(std::string_view id, int64_t now, int64_t next) override {
    return Count(), inner_->ClaimSourceTurn(id, now, next);
  }
  Result<store::Trigger> FindTrigger(std::string_view id) override {
    return Count(), inner_->FindTrigger(id);
  }
  Result<store::TriggerExtras> GetTriggerExtras(std::string_view ws, std::string_view id) override {
    return Count(), inner_->GetTriggerExtras(ws, id);
  }
  Status PutTriggerExtras(const store::TriggerExtras& e) override {
    return Count(), inner_->PutTriggerExtras(e);
  }

 private:
  void Count() { ++calls_; }

  store::Store* inner_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> appends_{0};
};

}  // namespace triggerd::testing
