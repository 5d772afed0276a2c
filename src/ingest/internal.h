// Internal to ingest/: the cached forms shared by its files (ingest.cc: the pipeline;
// provider_route.cc: the Stack AI provider route; agent_webhooks.cc: direct webhooks).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ip_network.h"
#include "common/status.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "verify/verify.h"

namespace triggerd::ingest {

struct CachedSource {
  store::Source source;
  std::unique_ptr<verify::Verifier> verifier;  // null when the stored settings are unusable
  Status verifier_error;
  std::vector<IpNetwork> allowed_networks;
  const verify::ProviderInfo* provider = nullptr;
  std::string hmac_header;   // redacted from stored headers
  std::string verification;  // what a passing request was checked with, stored on the event
  // auth.api_key: `verifier` then checks the signature only, and the bearer credential is the
  // source's token (`token_verifier`, null without auth.bearer) or a workspace API key.
  bool api_key = false;
  std::unique_ptr<verify::Verifier> token_verifier;
  std::string api_key_verification;  // `verification` when an API key was the credential
  // The provider may send a signed handshake (Slack url_verification, Discord PING) instead of
  // an event: the body is then parsed and looked at before anything is stored.
  bool expects_handshake = false;
};

// The token of `Authorization: Bearer <token>` (the scheme case-insensitive, surrounding blanks
// trimmed); nullopt without one or when it is empty. bearer.cc.
std::optional<std::string_view> BearerToken(const Headers& headers);

// auth.api_key (cached.api_key): the bearer credential is the source's token (with auth.bearer)
// or `api_key`, an API key of the source's workspace with the builder or admin role as the store
// had it for this request (nullopt: the route looked none up, so only the token can pass). Sets
// *by_api_key when the key was the credential. bearer.cc.
Status CheckBearer(const CachedSource& cached, const verify::Request& request,
                   const std::optional<PresentedApiKey>& api_key, bool* by_api_key);

// Builds the cached form of an agent webhook (its verifier, parsed allow-list). agent_webhooks.cc.
std::shared_ptr<const CachedAgentWebhook> BuildAgentWebhook(const store::AgentWebhook& webhook);

// Agents by id and by name, and agent webhooks by (agent id, kind), by id and by token hash: what
// the direct webhook routes look up. Not thread-safe: the Ingestor guards it with its mu_.
struct Ingestor::DirectWebhooks {
  struct AgentName {
    std::string workspace_id;
    std::string name;
  };
  std::unordered_map<std::string, AgentName> agents;
  std::unordered_map<std::string, std::vector<std::string>> agents_by_name;  // ws + '\n' + name
  std::unordered_map<std::string, std::shared_ptr<const CachedAgentWebhook>>
      by_agent;                                             // id+'\n'+kind
  std::unordered_map<std::string, std::string> keys_by_id;  // webhook id -> its by_agent key
  std::unordered_map<std::string, std::shared_ptr<const CachedAgentWebhook>> by_token_hash;

  void PutAgent(const store::Agent& agent);
  void EraseAgent(const std::string& agent_id);  // and its webhooks
  void PutWebhook(std::shared_ptr<const CachedAgentWebhook> webhook);
  void EraseWebhook(const std::string& webhook_id);
  // The agent webhook of `agent_id` and `kind`, or null.
  std::shared_ptr<const CachedAgentWebhook> Find(std::string_view agent_id,
                                                 std::string_view kind) const;
};

}  // namespace triggerd::ingest
