// api/compat: thin adapters that serve other products' webhook APIs on triggerd's one domain
// model (docs/COMPATIBILITY.md). Each surface translates its requests to store::AgentWebhook
// configuration and to ordinary events with one match record and one run, appended through
// store::Store::AppendEvent (the transactional outbox), so the runs are dispatched, listed,
// retried and cancelled by the same code as every other run. Internal to api/.
#pragma once

#include <functional>
#include <string>

#include "api/internal.h"

namespace triggerd::api::compat {

// Registers every compatibility route (agent webhooks, Dagu-style webhooks, Stack AI-style
// triggers).
void RegisterCompatRoutes(http::Router* router, ApiContext* context);

void RegisterAgentWebhookRoutes(http::Router* router, ApiContext* context);
void RegisterDaguWebhookRoutes(http::Router* router, ApiContext* context);
void RegisterStackAiTriggerRoutes(http::Router* router, ApiContext* context);

// What a direct webhook request becomes: an event of source `webhook.id` with one match record
// and one run of `webhook.agent_id` (trigger_id = webhook.id, owner = webhook.created_by).
struct DirectRunRequest {
  const store::AgentWebhook* webhook = nullptr;  // not owned; read before StartDirectRun returns
  std::string event_type;                        // "agent.webhook" | "dagu.webhook"
  std::string delivery_id;   // de-duplicates per webhook (atomically, in the append); "" = none
  std::string payload_json;  // the run's payload when it is not the body itself; "" = the body
  std::string verification;  // "none" | "bearer" | "hmac"
  http::Request* request = nullptr;  // headers, body (moved out), remote address
};

struct DirectRunOutcome {
  std::string event_id;
  std::string run_id;
  bool duplicate = false;  // the delivery id was used before: nothing was written
};

// Appends the event with its run. `done` runs once, after the commit (on the store's writer
// thread: it must not block) or with the error.
void StartDirectRun(ApiContext* context, DirectRunRequest request,
                    std::function<void(Result<DirectRunOutcome>)> done);

}  // namespace triggerd::api::compat
