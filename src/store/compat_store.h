// CompatStore: the records of the compatibility surfaces (docs/COMPATIBILITY.md) beyond the
// domain model — agent webhooks and the Stack AI-style trigger extras — and their methods. One of
// the narrow interfaces of store/ (store.h aggregates them).
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "store/records.h"

namespace triggerd::store {

// A webhook that starts runs of one agent directly, without a source or trigger of the user's
// (the compatibility surfaces of docs/COMPATIBILITY.md). Kind "agent": the public
// POST /agents/{agent_id}/webhook, checked by origin / IP / optional HMAC. Kind "dagu": the
// Dagu-style per-workflow webhook, authenticated by a bearer token. At most one of each kind per
// agent; deleting the agent deletes them. What one receives is appended as an ordinary event
// (source_id = the webhook's id) with one match record and one run (trigger_id = the webhook's
// id) through AppendEvent, so it is dispatched, listed and retried like any other run.
struct AgentWebhook {
  std::string id;  // whk_…
  std::string workspace_id;
  std::string agent_id;
  std::string kind;  // "agent" | "dagu"
  bool enabled = true;
  std::string token_hash;    // hex SHA-256 of the bearer token; "" when none. Unique when set
  std::string token_prefix;  // first characters of the token, shown to recognise it
  std::string event_source;  // allowed origin URL or hostname; "" = any
  std::vector<std::string> allowed_ips;  // IPs or CIDRs
  // "" when no signature is required. Kind "agent": X-Webhook-Signature; kind "dagu": Dagu's
  // X-Dagu-Signature (api/compat/dagu_webhooks.cc).
  std::string hmac_secret;
  // Kind "dagu", when hmac_secret is set: "strict" (a bad signature is refused) or "observe"
  // (logged and accepted); "" otherwise. And when the secret was made (unix micros; 0 = none).
  std::string hmac_enforcement;
  int64_t hmac_created_at = 0;
  std::string description;
  std::string metadata_json = "{}";  // a JSON object, opaque here: the caller's metadata
  std::string created_by;  // API key id
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// What the Stack AI-style triggers API (docs/COMPATIBILITY.md) keeps about a trigger beyond the
// domain model: the trigger, its source, filter and event types stay in Trigger and Source. At
// most one per trigger; deleting the trigger deletes it.
struct TriggerExtras {
  std::string trigger_id;
  std::string workspace_id;
  std::string connection_id;  // the caller's connection id, opaque; "" = none
  bool owns_source = false;   // the source was made with the trigger (deleted with its last one)
  std::string updated_by;     // API key id of the last change through that API
  int64_t updated_at = 0;
  // The members of the create body's trigger_config that configure nothing of triggerd's
  // (Stack AI's provider parameters: "inbox_id", "polling_frequency", …): a JSON object, opaque
  // here, shown back in the record's trigger_config. "{}" when none.
  std::string trigger_config_json = "{}";
};

class CompatStore {
 public:
  virtual ~CompatStore() = default;

  // Agent webhooks (see AgentWebhook). CreateAgentWebhook: kNotFound when the agent is not in the
  // webhook's workspace; kConflict when the agent already has a webhook of that kind or the token
  // hash is taken. GetAgentWebhook and FindAgentWebhookByTokenHash are not scoped to a workspace
  // (the public routes have none in their path; agent ids and tokens are unguessable): callers of
  // a workspace check workspace_id themselves. UpdateAgentWebhook replaces every field of the
  // webhook with that id (and workspace); DeleteAgentWebhook keeps its events and runs.
  virtual Status CreateAgentWebhook(const AgentWebhook& webhook) = 0;
  virtual Result<AgentWebhook> GetAgentWebhook(std::string_view agent_id,
                                               std::string_view kind) = 0;
  virtual Result<AgentWebhook> FindAgentWebhookByTokenHash(std::string_view token_hash) = 0;
  // Newest first.
  virtual Result<std::vector<AgentWebhook>> ListAgentWebhooks(std::string_view workspace_id,
                                                              std::string_view kind) = 0;
  virtual Status UpdateAgentWebhook(const AgentWebhook& webhook) = 0;
  virtual Status DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) = 0;

  // The Stack AI-style triggers API (see TriggerExtras). FindTrigger is not scoped to a
  // workspace (POST /v1/webhooks/{trigger_id} has none in its path; trigger ids are unique and
  // unguessable): callers of a workspace use GetTrigger. GetTriggerExtras: kNotFound when the
  // trigger has none (made through /api/v1 or the config file) or is not in the workspace.
  // PutTriggerExtras inserts or replaces the row; kNotFound when the trigger is not in
  // `extras.workspace_id`.
  virtual Result<Trigger> FindTrigger(std::string_view trigger_id) = 0;
  virtual Result<TriggerExtras> GetTriggerExtras(std::string_view workspace_id,
                                                 std::string_view trigger_id) = 0;
  virtual Status PutTriggerExtras(const TriggerExtras& extras) = 0;
};

}  // namespace triggerd::store
