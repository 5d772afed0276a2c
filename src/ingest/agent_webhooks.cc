// Direct webhooks (api/compat's agent and Dagu webhooks): their caches, their head checks in each
// surface's documented order, and their append through the pipeline's tail (rate limits,
// backpressure, group commit). See ingest.h.
#include <spdlog/spdlog.h>

#include <cctype>

#include "common/crypto.h"
#include "common/ids.h"
#include "ingest/ingest.h"
#include "ingest/internal.h"

namespace triggerd::ingest {
namespace {

constexpr std::string_view kAgentKind = "agent";
constexpr std::string_view kDaguKind = "dagu";
constexpr std::string_view kSignatureHeader = "X-Webhook-Signature";

std::string Key(std::string_view a, std::string_view b) {
  std::string key;
  key.reserve(a.size() + 1 + b.size());
  key.append(a).append(1, '\n').append(b);
  return key;
}

// "sha256=<hex>" (or bare hex, either case) of HMAC-SHA256(secret, body), compared in constant
// time. The key is prepared once, when the cache entry is built. The refusal codes are the
// agent webhook surface's (docs/COMPATIBILITY.md), not verify's.
class AgentSignatureVerifier final : public verify::Verifier {
 public:
  explicit AgentSignatureVerifier(std::string_view secret)
      : key_(crypto::DigestAlgorithm::kSha256, secret) {}

  // Verifier
  Status Verify(const verify::Request& request) const override {
    auto header = FindHeader(request.headers, kSignatureHeader);
    if (!header || header->empty()) {
      return Status::Unauthenticated(
          "send the body's HMAC-SHA256 as \"X-Webhook-Signature: "
          "sha256=<hex>\"",
          "missing_signature");
    }
    std::string_view given = *header;
    if (given.substr(0, 7) == "sha256=") given.remove_prefix(7);
    std::string lower(given);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!crypto::ConstantTimeEqual(lower, crypto::HexEncode(key_.Sign(request.body)))) {
      return Status::Unauthenticated("the signature does not match the body", "signature_mismatch");
    }
    return Status::Ok();
  }

 private:
  crypto::HmacKey key_;
};

Status NoAgentWebhook() {
  return Status::NotFound("this agent has no webhook", "webhook_not_found");
}
Status NoDaguWebhook() { return Status::NotFound("this DAG has no webhook", "webhook_not_found"); }
Status MissingToken() {
  return Status::Unauthenticated("send the webhook token as \"Authorization: Bearer <token>\"",
                                 "missing_token");
}
Status InvalidToken(std::string_view message = "the webhook token is not valid") {
  return Status::Unauthenticated(std::string(message), "invalid_token");
}

}  // namespace

// The lower-case host of a URL ("https://Example.com:8443/x" -> "example.com") or of a bare
// hostname ("example.com"); "" when there is none.
std::string OriginHost(std::string_view text) {
  if (auto address = ParseIpAddress(text)) return address->to_string();  // "::1" has colons
  if (size_t scheme = text.find("://"); scheme != std::string_view::npos) {
    text.remove_prefix(scheme + 3);
  }
  text = text.substr(0, text.find_first_of("/?#"));
  if (size_t at = text.rfind('@'); at != std::string_view::npos) text.remove_prefix(at + 1);
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    size_t close = text.find(']');
    text = close == std::string_view::npos ? std::string_view() : text.substr(1, close - 1);
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    text = text.substr(0, colon);
  }
  std::string host(text);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

std::shared_ptr<const CachedAgentWebhook> BuildAgentWebhook(const store::AgentWebhook& webhook) {
  auto cached = std::make_shared<CachedAgentWebhook>();
  cached->webhook = webhook;
  cached->event_source_host = OriginHost(webhook.event_source);
  if (auto address = IpNetwork::Parse(cached->event_source_host, IpNetwork::HostBits::kClear)) {
    cached->event_source_networks.push_back(*address);
  }
  for (const std::string& entry : webhook.allowed_ips) {
    // Validated on write; an entry that no longer parses admits nobody.
    if (auto network = IpNetwork::Parse(entry, IpNetwork::HostBits::kClear)) {
      cached->allowed_networks.push_back(*network);
    }
  }
  if (webhook.kind == kAgentKind && !webhook.hmac_secret.empty()) {
    cached->verifier = std::make_unique<AgentSignatureVerifier>(webhook.hmac_secret);
  }
  return cached;
}

// ---- Ingestor::DirectWebhooks ----

void Ingestor::DirectWebhooks::PutAgent(const store::Agent& agent) {
  auto it = agents.find(agent.id);
  if (it != agents.end()) {
    if (it->second.workspace_id == agent.workspace_id && it->second.name == agent.name) return;
    auto& ids = agents_by_name[Key(it->second.workspace_id, it->second.name)];
    std::erase(ids, agent.id);
    if (ids.empty()) agents_by_name.erase(Key(it->second.workspace_id, it->second.name));
  }
  agents[agent.id] = {agent.workspace_id, agent.name};
  agents_by_name[Key(agent.workspace_id, agent.name)].push_back(agent.id);
}

void Ingestor::DirectWebhooks::EraseAgent(const std::string& agent_id) {
  auto it = agents.find(agent_id);
  if (it != agents.end()) {
    const std::string key = Key(it->second.workspace_id, it->second.name);
    auto& ids = agents_by_name[key];
    std::erase(ids, agent_id);
    if (ids.empty()) agents_by_name.erase(key);
    agents.erase(it);
  }
  for (std::string_view kind : {kAgentKind, kDaguKind}) {
    if (auto webhook = Find(agent_id, kind)) EraseWebhook(webhook->webhook.id);
  }
}

void Ingestor::DirectWebhooks::PutWebhook(std::shared_ptr<const CachedAgentWebhook> cached) {
  const store::AgentWebhook& webhook = cached->webhook;
  EraseWebhook(webhook.id);  // its token may have changed (Dagu's regenerate)
  const std::string key = Key(webhook.agent_id, webhook.kind);
  if (auto previous = by_agent.find(key); previous != by_agent.end()) {
    EraseWebhook(previous->second->webhook.id);  // one per agent and kind
  }
  keys_by_id[webhook.id] = key;
  if (!webhook.token_hash.empty()) by_token_hash[webhook.token_hash] = cached;
  by_agent[key] = std::move(cached);
}

void Ingestor::DirectWebhooks::EraseWebhook(const std::string& webhook_id) {
  auto key = keys_by_id.find(webhook_id);
  if (key == keys_by_id.end()) return;
  if (auto it = by_agent.find(key->second); it != by_agent.end()) {
    const std::string& hash = it->second->webhook.token_hash;
    if (auto token = by_token_hash.find(hash);
        !hash.empty() && token != by_token_hash.end() && token->second == it->second) {
      by_token_hash.erase(token);
    }
    by_agent.erase(it);
  }
  keys_by_id.erase(key);
}

std::shared_ptr<const CachedAgentWebhook> Ingestor::DirectWebhooks::Find(
    std::string_view agent_id, std::string_view kind) const {
  auto it = by_agent.find(Key(agent_id, kind));
  return it == by_agent.end() ? nullptr : it->second;
}

// ---- Ingestor: the caches' changes ----

void Ingestor::UpsertAgent(const store::Agent& agent) {
  std::unique_lock lock(mu_);
  ++cache_changes_;
  direct_->PutAgent(agent);
}

void Ingestor::RemoveAgent(std::string_view agent_id) {
  std::unique_lock lock(mu_);
  ++cache_changes_;
  direct_->EraseAgent(std::string(agent_id));
}

void Ingestor::UpsertAgentWebhook(const store::AgentWebhook& webhook) {
  auto cached = BuildAgentWebhook(webhook);  // the HMAC key prepared outside the lock
  std::unique_lock lock(mu_);
  ++cache_changes_;
  direct_->PutWebhook(std::move(cached));
}

void Ingestor::RemoveAgentWebhook(std::string_view webhook_id) {
  std::unique_lock lock(mu_);
  ++cache_changes_;
  direct_->EraseWebhook(std::string(webhook_id));
}

// ---- The public routes ----

Result<DirectAdmission> Ingestor::AdmitAgentWebhook(const AgentWebhookHead& request) const {
  DirectAdmission admission;
  {
    std::shared_lock lock(mu_);
    admission.webhook = direct_->Find(request.agent_id, kAgentKind);
    if (admission.webhook) {
      auto agent = direct_->agents.find(admission.webhook->webhook.agent_id);
      if (agent != direct_->agents.end()) admission.agent_name = agent->second.name;
    }
  }
  if (!admission.webhook) {
    ++refused_other_;
    return NoAgentWebhook();
  }
  const CachedAgentWebhook& cached = *admission.webhook;
  if (!cached.webhook.enabled) {
    ++refused_other_;
    return Status::PermissionDenied("this agent's webhook is disabled", "webhook_disabled");
  }
  // Source validation, the seed's rule: the request's origin is its Origin header or the client's
  // address. The address is the TCP peer's and cannot be forged, so a caller at an address of
  // allowed_ips, or at the address event_source names (event_source "127.0.0.1"), is allowed with
  // or without an Origin. The Origin (or, without one, Referer) header is set truthfully by
  // browsers but by any other client at will: matching event_source's host, it narrows which
  // pages may post from a browser and authenticates nothing, so it is consulted only when
  // allowed_ips is empty (an allow-list of addresses is never widened by a header).
  if (!cached.webhook.allowed_ips.empty() || !cached.webhook.event_source.empty()) {
    bool allowed = AnyContains(cached.allowed_networks, request.remote_ip) ||
                   AnyContains(cached.event_source_networks, request.remote_ip);
    if (!allowed && cached.webhook.allowed_ips.empty() && request.headers != nullptr) {
      std::optional<std::string_view> origin = FindHeader(*request.headers, "Origin");
      if (!origin || origin->empty() || *origin == "null") {
        origin = FindHeader(*request.headers, "Referer");
      }
      allowed = origin && !origin->empty() && OriginHost(*origin) == cached.event_source_host;
    }
    if (!allowed) {
      ++refused_other_;
      return Status::PermissionDenied(
          "neither the request's origin nor its address is allowed to call this webhook",
          "source_not_allowed");
    }
  }
  if (request.content_length && *request.content_length > kDirectWebhookMaxBodyBytes) {
    ++refused_other_;
    return Status(ErrorType::kPayloadTooLarge, "payload_too_large",
                  "the body is larger than 1048576 bytes");
  }
  if (request.charge_rate_limits) {
    TRIGGERD_RETURN_IF_ERROR(Charge(cached.webhook.id, cached.webhook.workspace_id));
  }
  return admission;
}

Result<DirectAdmission> Ingestor::AdmitDaguWebhook(const DaguWebhookHead& request) const {
  const std::string hash = request.bearer_token.empty() ? "" : crypto::SecretHash(request.bearer_token);
  DirectAdmission admission;
  Status refused = Status::Ok();
  {
    std::shared_lock lock(mu_);
    const DirectWebhooks& direct = *direct_;
    auto name_of = [&direct](const std::string& agent_id) -> const std::string* {
      auto it = direct.agents.find(agent_id);
      return it == direct.agents.end() ? nullptr : &it->second.name;
    };
    if (auto by_id = direct.Find(request.name, kDaguKind)) {
      if (request.bearer_token.empty()) {
        refused = MissingToken();
      } else if (!crypto::ConstantTimeEqual(hash, by_id->webhook.token_hash)) {
        refused = InvalidToken();
      } else {
        admission.webhook = std::move(by_id);
      }
    } else if (IsWellFormedId(request.name, "agt")) {
      refused = NoDaguWebhook();
    } else if (request.bearer_token.empty()) {
      refused = MissingToken();
    } else {
      // By name: the token names the workspace (names are per workspace; the path has none).
      auto by_token = direct.by_token_hash.find(hash);
      if (by_token == direct.by_token_hash.end() || by_token->second->webhook.kind != kDaguKind) {
        refused = InvalidToken();
      } else if (const std::string* name = name_of(by_token->second->webhook.agent_id);
                 name != nullptr && *name == request.name) {
        admission.webhook = by_token->second;
      } else {
        // A valid token of another DAG: 401 when the named DAG (one agent of that name in the
        // token's workspace) has a webhook, 404 when it has none or the name is ambiguous.
        auto named =
            direct.agents_by_name.find(Key(by_token->second->webhook.workspace_id, request.name));
        const bool named_has_webhook = named != direct.agents_by_name.end() &&
                                       named->second.size() == 1 &&
                                       direct.Find(named->second.front(), kDaguKind) != nullptr;
        refused = named_has_webhook ? InvalidToken("the webhook token is not valid for this DAG")
                                    : NoDaguWebhook();
      }
    }
    if (admission.webhook) {
      if (const std::string* name = name_of(admission.webhook->webhook.agent_id)) {
        admission.agent_name = *name;
      }
    }
  }
  if (!refused.ok()) {
    ++(refused.type() == ErrorType::kUnauthenticated ? refused_auth_ : refused_other_);
    return refused;
  }
  if (!admission.webhook->webhook.enabled) {
    ++refused_other_;
    return Status::PermissionDenied("this DAG's webhook is disabled", "webhook_disabled");
  }
  if (request.charge_rate_limits) {
    // After the token: a sender without it must not drain the buckets of the one with it.
    const store::AgentWebhook& webhook = admission.webhook->webhook;
    TRIGGERD_RETURN_IF_ERROR(Charge(webhook.id, webhook.workspace_id));
  }
  return admission;
}

Status Ingestor::VerifyAgentWebhook(const CachedAgentWebhook& webhook, const Headers& headers,
                                    std::string_view body) const {
  if (webhook.verifier == nullptr) return Status::Ok();
  const verify::Request request{headers, body, "POST", "", clock_->NowUnixSeconds()};
  Status verified = webhook.verifier->Verify(request);
  if (!verified.ok()) {
    ++refused_auth_;
    spdlog::warn("ingest: agent webhook {} refused a request: {}", webhook.webhook.id,
                 verified.code());
  }
  return verified;
}

void Ingestor::IngestDirect(DirectEvent direct, std::function<void(Result<IngestOutcome>)> done) {
  const store::AgentWebhook& webhook = direct.webhook->webhook;
  const int64_t now = clock_->NowMicros();

  store::NewEvent event;
  event.id = NewTimeOrderedId("evt", now);
  event.workspace_id = webhook.workspace_id;
  event.source_id = webhook.id;
  event.received_at = now;
  auto content_type = FindHeader(direct.headers, "Content-Type");
  event.content_type = content_type ? std::string(*content_type) : "application/json";
  event.event_type = std::move(direct.event_type);
  event.delivery_id = std::move(direct.delivery_id);
  event.headers = RedactHeaders(std::move(direct.headers), "");
  event.body = std::move(direct.body);
  event.payload_json = std::move(direct.payload_json);
  event.remote_addr = std::move(direct.remote_ip);
  event.verification = webhook.kind == kDaguKind     ? "bearer"
                       : webhook.hmac_secret.empty() ? "none"
                                                     : "hmac";

  store::NewRun run;
  run.id = NewTimeOrderedId("run", now);
  run.workspace_id = webhook.workspace_id;
  run.event_id = event.id;
  run.trigger_id = webhook.id;
  run.agent_id = webhook.agent_id;
  run.owner = webhook.created_by;
  run.include_payload = true;
  run.max_attempts = 0;  // the store copies the agent's in the same transaction
  run.created_at = now;

  store::Match match;
  match.event_id = event.id;
  match.trigger_id = webhook.id;
  match.outcome = store::MatchOutcome::kMatched;
  match.run_id = run.id;
  match.message = "direct " + event.event_type;
  match.evaluated_at = now;

  std::vector<StartedRun> started{{webhook.id, run.id}};
  event.matches.push_back(std::move(match));
  event.runs.push_back(std::move(run));
  Append(std::move(event), std::move(started), std::move(done));
}

}  // namespace triggerd::ingest
