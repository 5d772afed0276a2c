#include "catalog/catalog.h"

#include <algorithm>

namespace triggerd::catalog {

Catalog::Catalog(store::Store* store) : store_(store) {}

void Catalog::AddObserver(Observer* observer) {
  std::lock_guard lock(observers_mu_);
  observers_.push_back(observer);
}

void Catalog::RemoveObserver(Observer* observer) {
  std::lock_guard lock(observers_mu_);
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

template <typename Notify>
void Catalog::NotifyAll(Notify notify) {
  std::lock_guard lock(observers_mu_);
  for (Observer* observer : observers_) notify(*observer);
}

// Each write: the store first; on success every observer, both under write_mu_ so that two
// writes of one object reach the caches in the order the store committed them.
template <typename StoreWrite, typename Notify>
Status Catalog::Write(StoreWrite store_write, Notify notify) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_write());
  NotifyAll(notify);
  return Status::Ok();
}

Status Catalog::CreateSource(const store::Source& source) {
  return Write([&] { return store_->CreateSource(source); },
               [&](Observer& o) { o.SourceChanged(source); });
}

Status Catalog::UpdateSource(const store::Source& source) {
  return Write([&] { return store_->UpdateSource(source); },
               [&](Observer& o) { o.SourceChanged(source); });
}

Status Catalog::DeleteSource(std::string_view workspace_id, std::string_view source_id) {
  return Write([&] { return store_->DeleteSource(workspace_id, source_id); },
               [&](Observer& o) { o.SourceRemoved(source_id); });
}

Status Catalog::CreateAgent(const store::Agent& agent) {
  return Write([&] { return store_->CreateAgent(agent); },
               [&](Observer& o) { o.AgentChanged(agent); });
}

Status Catalog::UpdateAgent(const store::Agent& agent) {
  return Write([&] { return store_->UpdateAgent(agent); },
               [&](Observer& o) { o.AgentChanged(agent); });
}

Status Catalog::DeleteAgent(std::string_view workspace_id, std::string_view agent_id) {
  return Write([&] { return store_->DeleteAgent(workspace_id, agent_id); },
               [&](Observer& o) { o.AgentRemoved(agent_id); });
}

Status Catalog::CreateTrigger(const store::Trigger& trigger) {
  return Write([&] { return store_->CreateTrigger(trigger); },
               [&](Observer& o) { o.TriggerChanged(trigger); });
}

Status Catalog::UpdateTrigger(const store::Trigger& trigger) {
  return Write([&] { return store_->UpdateTrigger(trigger); },
               [&](Observer& o) { o.TriggerChanged(trigger); });
}

Status Catalog::DeleteTrigger(std::string_view workspace_id, std::string_view trigger_id) {
  return Write([&] { return store_->DeleteTrigger(workspace_id, trigger_id); },
               [&](Observer& o) { o.TriggerRemoved(trigger_id); });
}

Status Catalog::CreateAgentWebhook(const store::AgentWebhook& webhook) {
  return Write([&] { return store_->CreateAgentWebhook(webhook); },
               [&](Observer& o) { o.AgentWebhookChanged(webhook); });
}

Status Catalog::UpdateAgentWebhook(const store::AgentWebhook& webhook) {
  return Write([&] { return store_->UpdateAgentWebhook(webhook); },
               [&](Observer& o) { o.AgentWebhookChanged(webhook); });
}

Status Catalog::DeleteAgentWebhook(std::string_view workspace_id, std::string_view webhook_id) {
  return Write([&] { return store_->DeleteAgentWebhook(workspace_id, webhook_id); },
               [&](Observer& o) { o.AgentWebhookRemoved(webhook_id); });
}

Status Catalog::PutTriggerExtras(const store::TriggerExtras& extras) {
  return Write([&] { return store_->PutTriggerExtras(extras); },
               [&](Observer& o) { o.TriggerExtrasChanged(extras); });
}

Status Catalog::Reload() {
  std::lock_guard lock(write_mu_);
  Status first = Status::Ok();
  NotifyAll([&](Observer& o) {
    Status s = o.Reload();
    if (first.ok() && !s.ok()) first = std::move(s);
  });
  return first;
}

}  // namespace triggerd::catalog
