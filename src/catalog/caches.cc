#include "catalog/caches.h"

#include "dispatch/dispatch.h"
#include "ingest/ingest.h"
#include "schedule/schedule.h"

namespace triggerd::catalog {

CacheObserver::CacheObserver(ingest::Ingestor* ingestor, schedule::Producer* producer,
                             dispatch::Dispatcher* dispatcher)
    : ingestor_(ingestor), producer_(producer), dispatcher_(dispatcher) {}

void CacheObserver::SourceChanged(const store::Source& source) {
  ingestor_->Upsert(source);
  if (producer_ != nullptr) producer_->Upsert(source);
}

void CacheObserver::SourceRemoved(std::string_view source_id) {
  ingestor_->Remove(source_id);
  if (producer_ != nullptr) producer_->Remove(source_id);
}

void CacheObserver::TriggerChanged(const store::Trigger& trigger) {
  ingestor_->UpsertTrigger(trigger);
}

void CacheObserver::TriggerRemoved(std::string_view trigger_id) {
  ingestor_->RemoveTrigger(trigger_id);
}

// The dispatcher caches each agent's target (and its signing secret): built again on next use.
// The ingestor keeps agents' names (Dagu's webhook route takes a name) and, with an agent, drops
// its direct webhooks (the store deletes them with it).
void CacheObserver::AgentChanged(const store::Agent& agent) {
  ingestor_->UpsertAgent(agent);
  if (dispatcher_ != nullptr) dispatcher_->ForgetAgent(agent.id);
}

void CacheObserver::AgentRemoved(std::string_view agent_id) {
  ingestor_->RemoveAgent(agent_id);
  if (dispatcher_ != nullptr) dispatcher_->ForgetAgent(std::string(agent_id));
}

void CacheObserver::AgentWebhookChanged(const store::AgentWebhook& webhook) {
  ingestor_->UpsertAgentWebhook(webhook);
}

void CacheObserver::AgentWebhookRemoved(std::string_view webhook_id) {
  ingestor_->RemoveAgentWebhook(webhook_id);
}

Status CacheObserver::Reload() {
  TRIGGERD_RETURN_IF_ERROR(ingestor_->Reload());
  if (producer_ != nullptr) TRIGGERD_RETURN_IF_ERROR(producer_->Load());
  if (dispatcher_ != nullptr) dispatcher_->ForgetAllAgents();
  return Status::Ok();
}

}  // namespace triggerd::catalog
