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
Status Catalog::CreateSource(const store::Source& source) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->CreateSource(source));
  NotifyAll([&](Observer& o) { o.SourceChanged(source); });
  return Status::Ok();
}

Status Catalog::UpdateSource(const store::Source& source) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->UpdateSource(source));
  NotifyAll([&](Observer& o) { o.SourceChanged(source); });
  return Status::Ok();
}

Status Catalog::DeleteSource(std::string_view workspace_id, std::string_view source_id) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->DeleteSource(workspace_id, source_id));
  NotifyAll([&](Observer& o) { o.SourceRemoved(source_id); });
  return Status::Ok();
}

Status Catalog::CreateAgent(const store::Agent& agent) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->CreateAgent(agent));
  NotifyAll([&](Observer& o) { o.AgentChanged(agent); });
  return Status::Ok();
}

Status Catalog::UpdateAgent(const store::Agent& agent) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->UpdateAgent(agent));
  NotifyAll([&](Observer& o) { o.AgentChanged(agent); });
  return Status::Ok();
}

Status Catalog::DeleteAgent(std::string_view workspace_id, std::string_view agent_id) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->DeleteAgent(workspace_id, agent_id));
  NotifyAll([&](Observer& o) { o.AgentRemoved(agent_id); });
  return Status::Ok();
}

Status Catalog::CreateTrigger(const store::Trigger& trigger) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->CreateTrigger(trigger));
  NotifyAll([&](Observer& o) { o.TriggerChanged(trigger); });
  return Status::Ok();
}

Status Catalog::UpdateTrigger(const store::Trigger& trigger) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->UpdateTrigger(trigger));
  NotifyAll([&](Observer& o) { o.TriggerChanged(trigger); });
  return Status::Ok();
}

Status Catalog::DeleteTrigger(std::string_view workspace_id, std::string_view trigger_id) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->DeleteTrigger(workspace_id, trigger_id));
  NotifyAll([&](Observer& o) { o.TriggerRemoved(trigger_id); });
  return Status::Ok();
}

Status Catalog::CreateAgentWebhook(const store::AgentWebhook& webhook) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->CreateAgentWebhook(webhook));
  NotifyAll([&](Observer& o) { o.AgentWebhookChanged(webhook); });
  return Status::Ok();
}

Status Catalog::UpdateAgentWebhook(const store::AgentWebhook& webhook) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->UpdateAgentWebhook(webhook));
  NotifyAll([&](Observer& o) { o.AgentWebhookChanged(webhook); });
  return Status::Ok();
}

Status Catalog::DeleteAgentWebhook(std::string_view workspace_id, std::string_view webhook_id) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->DeleteAgentWebhook(workspace_id, webhook_id));
  NotifyAll([&](Observer& o) { o.AgentWebhookRemoved(webhook_id); });
  return Status::Ok();
}

Status Catalog::PutTriggerExtras(const store::TriggerExtras& extras) {
  std::lock_guard lock(write_mu_);
  TRIGGERD_RETURN_IF_ERROR(store_->PutTriggerExtras(extras));
  NotifyAll([&](Observer& o) { o.TriggerExtrasChanged(extras); });
  return Status::Ok();
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
