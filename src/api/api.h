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

namespace triggerd::api {

struct ApiContext {
  store::Store* store = nullptr;
  ingest::Ingestor* ingestor = nullptr;
  dispatch::Dispatcher* dispatcher = nullptr;  // null in tests without dispatch
  const Clock* clock = nullptr;
  // Prefix of the ingest URLs shown to users, e.g. "https://hooks.example.com". Empty: the
  // address the caller reached the API on ("http://" + Host header).
  std::string public_base_url;
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
