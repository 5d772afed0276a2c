// api: the REST surface (../shared/api.md) — management routes under /api/v1, the webhook
// ingest route, and service probes — registered on an http::Router. Handlers are thin: they
// authenticate the API key, check the role, translate JSON to the domain and back, and leave
// the work to store/ingest/verify.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/validate.h"
#include "common/clock.h"
#include "common/result.h"
#include "dispatch/dispatch.h"
#include "filter/filter.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "store/store.h"

namespace triggerd::schedule {
class Producer;
}  // namespace triggerd::schedule

namespace triggerd::catalog {
class Catalog;
}  // namespace triggerd::catalog

namespace triggerd::metrics {
class Registry;
}  // namespace triggerd::metrics

namespace triggerd::nlfilter {
class ChatModel;
}  // namespace triggerd::nlfilter

namespace triggerd::api {

struct ApiContext {
  store::Store* store = nullptr;
  catalog::Catalog* catalog = nullptr;  // every configuration write goes through it
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
  // The declarative config file (app/declared.h), named in the 409 that answers a change of an
  // object it manages. Empty: "the config file".
  std::string config_file;
  // Schedule and poll sources (src/schedule): their counters in /metrics (source changes reach
  // the producer through the catalog). Null in tests without a producer.
  schedule::Producer* producer = nullptr;
  // POST /api/v1/filters/generate (filter_generate.cc): the chat model the operator configured
  // (`llm:`), owned by the caller and outliving the router. Null: the route answers 501.
  nlfilter::ChatModel* filter_model = nullptr;
  // Runs `task` on a thread that is not an io thread: every management call (Authed: its store
  // reads, and writes that wait for the group commit's fsync) and a chat model's turns (seconds).
  // An io thread serves many connections, webhooks among them. The caller owns the threads and
  // waits for every task to finish (after the server's Stop, before the server is destroyed: a
  // task answers through a Reply). Null: tasks run inline on the io thread (tests).
  std::function<void(std::function<void()> task)> run_blocking;
  // Agent targets that act with the server's own authority, which no workspace role (admin
  // included) has: a command target runs a program as the server's user (who can read
  // master.key), and an llm target's api_key_env sends one of the server's environment variables
  // as a bearer token to a base_url of the agent author's choosing. Through the API they are
  // refused (403, field "target") unless the operator allows them here (triggerd.yaml `api:`,
  // app/config.h); agents declared in the config file are not limited. Checked when an agent is
  // created and when a change gives it another target (agents.cc), so an agent made while
  // allowed keeps running and can still be renamed.
  struct AgentTargets {
    bool command_agents = false;  // admin keys may create command targets
    // The api_key_env values an llm target may name ("" = no key is always allowed).
    std::vector<std::string> llm_api_key_envs;
  } agent_targets;
};

// The body validators moved to the catalog (catalog/validate.h); these names stay for the
// handlers' convenience.
using catalog::ApplyAgentBody;
using catalog::ApplySourceBody;
using catalog::ApplyTriggerBody;
using catalog::BodyError;
using catalog::CheckName;
using catalog::CheckReferenceError;
using catalog::IssuedSourceSecrets;
using catalog::NormalizeOrigin;

// Registers every route, the web console's (ui::RegisterRoutes, /ui/) included. `context` must
// outlive the router.
void RegisterRoutes(http::Router* router, ApiContext* context);

struct Bootstrap {
  std::string workspace_id;
  std::string admin_key;  // the full key: shown once, never stored
};
// First start: when the store has no workspace, creates one named `name` with an admin key, both
// in one transaction (Store::CreateFirstWorkspace: of several nodes starting at once on one
// database, one creates). Returns nullopt when a workspace already exists.
Result<std::optional<Bootstrap>> BootstrapIfEmpty(store::Store* store, const Clock& clock,
                                                  const std::string& name);

// A new API key, as POST /api/v1/keys makes one (`triggerd key create` too): the record is
// stored, the full key returned once and never kept.
struct IssuedKey {
  store::ApiKey record;
  std::string secret;
};
Result<IssuedKey> IssueApiKey(store::Store* store, const Clock& clock,
                              const std::string& workspace_id, const std::string& name,
                              store::Role role, const std::string& created_by);

}  // namespace triggerd::api
