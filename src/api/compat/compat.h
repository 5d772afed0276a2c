// api/compat: thin adapters that serve other products' webhook APIs on triggerd's one domain
// model (docs/COMPATIBILITY.md). Each surface translates its requests: configuration to
// store::AgentWebhook, sources and triggers, written through catalog::Catalog (which keeps the
// ingest caches current); webhooks to ingest::Ingestor, which looks them up in those caches,
// charges the rate limits and backpressure and appends ordinary events (direct webhooks: one
// match record and one run), so the runs are dispatched, listed, retried and cancelled by the
// same code as every other run. Internal to api/.
#pragma once

#include "api/internal.h"
#include "catalog/catalog.h"

namespace triggerd::api::compat {

// Registers every compatibility route (agent webhooks, Dagu-style webhooks, Stack AI-style
// triggers).
void RegisterCompatRoutes(http::Router* router, ApiContext* context);

void RegisterAgentWebhookRoutes(http::Router* router, ApiContext* context);
void RegisterDaguWebhookRoutes(http::Router* router, ApiContext* context);
void RegisterStackAiTriggerRoutes(http::Router* router, ApiContext* context);

}  // namespace triggerd::api::compat
