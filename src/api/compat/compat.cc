// The compatibility surfaces' routes, registered together (docs/COMPATIBILITY.md). Their webhooks
// are ingested by ingest::Ingestor (direct webhooks: Ingestor::IngestDirect, an ordinary event
// appended with its outbox of one match record and one run, exactly what ingest writes for a
// matched trigger); their configuration is written through catalog::Catalog.
#include "api/compat/compat.h"

namespace triggerd::api::compat {

void RegisterCompatRoutes(http::Router* router, ApiContext* context) {
  RegisterAgentWebhookRoutes(router, context);
  RegisterDaguWebhookRoutes(router, context);
  RegisterStackAiTriggerRoutes(router, context);
}

}  // namespace triggerd::api::compat
