// The caches that follow the catalog in one process: the ingest source/trigger caches, the
// schedule producer's sources and the dispatcher's per-agent targets. app/serve wires one
// CacheObserver into the Catalog; tests that serve the API do the same.
#pragma once

#include "catalog/catalog.h"

namespace triggerd::ingest {
class Ingestor;
}  // namespace triggerd::ingest
namespace triggerd::schedule {
class Producer;
}  // namespace triggerd::schedule
namespace triggerd::dispatch {
class Dispatcher;
}  // namespace triggerd::dispatch

namespace triggerd::catalog {

class CacheObserver : public Observer {
 public:
  // `ingestor` required; `producer` and `dispatcher` may be null (tests without them). All must
  // outlive the observer's registration.
  CacheObserver(ingest::Ingestor* ingestor, schedule::Producer* producer,
                dispatch::Dispatcher* dispatcher);

  // The producer may be started after the catalog is wired (app/serve: after the start-up
  // apply of the declared config); null = none.
  void SetProducer(schedule::Producer* producer) { producer_ = producer; }

  void SourceChanged(const store::Source& source) override;
  void SourceRemoved(std::string_view source_id) override;
  void TriggerChanged(const store::Trigger& trigger) override;
  void TriggerRemoved(std::string_view trigger_id) override;
  void AgentChanged(const store::Agent& agent) override;
  void AgentRemoved(std::string_view agent_id) override;
  void AgentWebhookChanged(const store::AgentWebhook& webhook) override;
  void AgentWebhookRemoved(std::string_view webhook_id) override;
  // TriggerExtrasChanged is not overridden: no cache holds trigger extras (the Stack AI webhook
  // routes reach any trigger, with or without extras; only its management routes read them, from
  // the store).
  Status Reload() override;

 private:
  ingest::Ingestor* ingestor_;
  schedule::Producer* producer_;
  dispatch::Dispatcher* dispatcher_;
};

}  // namespace triggerd::catalog
