// api: the REST surface (../shared/api.md) — management routes under /api/v1, the webhook
// ingest route, and service probes — registered on an http::Router. Handlers are thin: they
// authenticate the API key, check the role, translate JSON to the domain and back, and leave
// the work to store/ingest/verify.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "dispatch/dispatch.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "store/store.h"

namespace triggerd::metrics {
class Registry;
}  // namespace triggerd::metrics

namespace triggerd::api {

struct ApiContext {
  store::Store* store = nullptr;
  ingest::Ingestor* ingestor = nullptr;
  dispatch::Dispatcher* dispatcher = nullptr;  // null in tests without dispatch
  const Clock* clock = nullptr;
  // Prefix of the ingest URLs shown to users, e.g. "https://hooks.example.com". Empty: the
  // address the caller reached the API on ("http://" + Host header).
  std::string public_base_url;
  // GET /metrics (metrics_route.cc). With a registry (owned by the caller, outliving the router),
  // RegisterRoutes also sets the router's observer (requests by route) and registers collectors
  // of the ingestor's, store's and dispatcher's stats: once per registry. Without one, /metrics
  // answers 404. `require_key`: a scrape needs an API key (any role); default off, since
  // Prometheus scrapes over a private network (the service listens on loopback by default).
  struct Metrics {
    metrics::Registry* registry = nullptr;
    bool require_key = false;
  } metrics;
};

// Registers every route. `context` must outlive the router.
void RegisterRoutes(http::Router* router, ApiContext* context);

struct Bootstrap {
  std::string workspace_id;
  std::string admin_key;  // the full key: shown once, never stored
};
// First start: when the store has no workspace, creates one named `name` with an admin key.
// Returns nullopt when a workspace already exists.
Result<std::optional<Bootstrap>> BootstrapIfEmpty(store::Store* store, const Clock& clock,
                                                  const std::string& name);

}  // namespace triggerd::api
