// catalog: the one owner of configuration — workspaces' sources, agents, triggers and the
// compatibility surfaces' agent webhooks and trigger extras. Every configuration write goes
// through a Catalog, which writes the store and then tells every Observer (the ingest caches,
// the schedule producer, the dispatcher's targets), so no caller can forget a cache. The REST
// handlers (api/, api/compat/) and the declared config (app/declared) are thin adapters over it:
// JSON or YAML in, a validated domain object, one Catalog call.
//
// Reads go straight to the store (Catalog::store()); only writes are owned here. Workspaces and
// API keys are identity, not configuration: nothing caches them (a key is looked up per call),
// so api/keys.cc and the bootstrap write them to the store directly.
//
// Thread safety: every method may be called from any thread. Writes are serialised (one at a
// time, store write and notification together), so observers see changes in the order the store
// committed them and a cache never ends on an older version of an object than the store holds.
// Writes wait for the store's durable commit: call them off the io threads (api/ runs management
// handlers on a blocking pool).
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/store.h"

namespace triggerd::catalog {

// Told of every committed configuration change, after the store has it, in commit order. Called
// with the catalog's write lock held: must not block, nor call back into the Catalog. The
// default implementations ignore the change.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void SourceChanged(const store::Source& source) {}
  // Its triggers and cursor went with it (the store deletes them in the same transaction).
  virtual void SourceRemoved(std::string_view source_id) {}
  virtual void TriggerChanged(const store::Trigger& trigger) {}
  virtual void TriggerRemoved(std::string_view trigger_id) {}
  virtual void AgentChanged(const store::Agent& agent) {}
  // Its agent webhooks went with it.
  virtual void AgentRemoved(std::string_view agent_id) {}
  virtual void AgentWebhookChanged(const store::AgentWebhook& webhook) {}
  virtual void AgentWebhookRemoved(std::string_view webhook_id) {}
  virtual void TriggerExtrasChanged(const store::TriggerExtras& extras) {}
  // Another process changed the configuration (several nodes on PostgreSQL), or the caller asked
  // for a full reload: everything cached must be read again from the store. An error is kept
  // by the caller for a later retry (app/cluster retries at the next heartbeat).
  virtual Status Reload() { return Status::Ok(); }
};

class Catalog {
 public:
  // `store` must outlive the catalog.
  explicit Catalog(store::Store* store);

  // Registers an observer; it must outlive the catalog (or be removed first). Safe at any time.
  void AddObserver(Observer* observer);
  void RemoveObserver(Observer* observer);

  // Sources. The store's errors unchanged (kNotFound, kConflict, …).
  Status CreateSource(const store::Source& source);
  Status UpdateSource(const store::Source& source);
  Status DeleteSource(std::string_view workspace_id, std::string_view source_id);

  // Agents. DeleteAgent: kConflict while a trigger uses the agent.
  Status CreateAgent(const store::Agent& agent);
  Status UpdateAgent(const store::Agent& agent);
  Status DeleteAgent(std::string_view workspace_id, std::string_view agent_id);

  // Triggers.
  Status CreateTrigger(const store::Trigger& trigger);
  Status UpdateTrigger(const store::Trigger& trigger);
  Status DeleteTrigger(std::string_view workspace_id, std::string_view trigger_id);

  // The compatibility surfaces' records (store::AgentWebhook, store::TriggerExtras).
  Status CreateAgentWebhook(const store::AgentWebhook& webhook);
  Status UpdateAgentWebhook(const store::AgentWebhook& webhook);
  Status DeleteAgentWebhook(std::string_view workspace_id, std::string_view webhook_id);
  Status PutTriggerExtras(const store::TriggerExtras& extras);

  // Tells every observer to reload from the store (app/cluster: another node's change). Every
  // observer is told; the first error is returned.
  Status Reload();

  store::Store* store() const { return store_; }

 private:
  template <typename Notify>
  void NotifyAll(Notify notify);
  template <typename StoreWrite, typename Notify>
  Status Write(StoreWrite store_write, Notify notify);

  store::Store* store_;
  std::mutex write_mu_;  // one write (store + notification) at a time
  std::mutex observers_mu_;
  std::vector<Observer*> observers_;
};

}  // namespace triggerd::catalog
