// Agent webhook endpoints (durable-agents style), docs/COMPATIBILITY.md:
//   POST /agents/{agent_id}/webhook   public: starts a run of the agent with the JSON body
//   GET  /agents/{agent_id}/webhook   public: what an external system needs to register it
//   GET|PUT|DELETE /api/v1/agents/{id}/webhook   management (API key, builder or admin; PUT and
//                                                DELETE: the agent's creator or an admin)
// The public routes carry no API key: the agent id (unguessable, ~131 random bits) scopes them,
// and they answer only when the agent has a webhook (404) that is enabled (403) and the caller
// passes the source check (403) and, when a secret is set, the HMAC check (401).
#include <cctype>

#include "api/compat/compat.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/ip_network.h"

namespace triggerd::api::compat {
namespace {

constexpr std::string_view kKind = "agent";
constexpr std::string_view kSignatureHeader = "X-Webhook-Signature";
constexpr size_t kMaxBodyBytes = 1024 * 1024;
constexpr size_t kMaxTextBytes = 2048;
constexpr size_t kMinSecretBytes = 16;

// The lower-case host of a URL ("https://Example.com:8443/x" -> "example.com") or of a bare
// hostname ("example.com"); "" when there is none.
std::string HostOf(std::string_view text) {
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

// Source validation, exactly as the issue states it: an empty event_source allows every caller;
// else an Origin (or, without one, Referer) whose hostname is event_source's allows; else a
// client address in allowed_ips allows; else 403.
Status CheckSource(const store::AgentWebhook& webhook, const Headers& headers,
                   std::string_view remote_ip) {
  if (webhook.event_source.empty()) return Status::Ok();
  auto origin = FindHeader(headers, "Origin");
  if (!origin || origin->empty() || *origin == "null") origin = FindHeader(headers, "Referer");
  if (origin && !origin->empty() && HostOf(*origin) == HostOf(webhook.event_source)) {
    return Status::Ok();
  }
  std::vector<IpNetwork> networks;
  for (const std::string& entry : webhook.allowed_ips) {
    if (auto network = IpNetwork::Parse(entry, IpNetwork::HostBits::kClear)) {
      networks.push_back(*network);
    }
  }
  if (AnyContains(networks, remote_ip)) return Status::Ok();
  return Status::PermissionDenied("the request's origin and address are not allowed to call this "
                                  "webhook", "source_not_allowed");
}

// The public routes' gate: the webhook exists (404), is enabled (403), and the caller passes the
// source check (403).
Result<store::AgentWebhook> Admit(ApiContext* ctx, std::string_view agent_id,
                                  const Headers& headers, std::string_view remote_ip) {
  auto webhook = ctx->store->GetAgentWebhook(agent_id, kKind);
  if (!webhook) {
    if (webhook.error().type() == ErrorType::kNotFound) {
      return Status::NotFound("this agent has no webhook", "webhook_not_found");
    }
    return webhook.error();
  }
  if (!webhook->enabled) {
    return Status::PermissionDenied("this agent's webhook is disabled", "webhook_disabled");
  }
  TRIGGERD_RETURN_IF_ERROR(CheckSource(*webhook, headers, remote_ip));
  return webhook;
}

// "sha256=<hex>" (or bare hex) of HMAC-SHA256(secret, body), compared in constant time.
Status CheckSignature(const store::AgentWebhook& webhook, const http::Request& request) {
  if (webhook.hmac_secret.empty()) return Status::Ok();
  auto header = FindHeader(request.headers, kSignatureHeader);
  if (!header || header->empty()) {
    return Status::Unauthenticated("send the body's HMAC-SHA256 as \"X-Webhook-Signature: "
                                   "sha256=<hex>\"", "missing_signature");
  }
  std::string_view given = *header;
  if (given.substr(0, 7) == "sha256=") given.remove_prefix(7);
  std::string expected = crypto::HexEncode(
      crypto::Hmac(crypto::DigestAlgorithm::kSha256, webhook.hmac_secret, request.body));
  std::string lower(given);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!crypto::ConstantTimeEqual(lower, expected)) {
    return Status::Unauthenticated("the signature does not match the body", "signature_mismatch");
  }
  return Status::Ok();
}

std::string PublicUrl(ApiContext* ctx, const http::Request& r, std::string_view agent_id) {
  return BaseUrl(*ctx, r) + "/agents/" + std::string(agent_id) + "/webhook";
}

boost::json::value Metadata(const store::AgentWebhook& webhook) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(webhook.metadata_json, ec);
  return ec ? boost::json::value(boost::json::object()) : v;
}

boost::json::array IpArray(const store::AgentWebhook& webhook) {
  boost::json::array ips;
  for (const auto& ip : webhook.allowed_ips) ips.emplace_back(ip);
  return ips;
}

// The management view. The secret is never shown: the caller chose it.
boost::json::object ConfigJson(ApiContext* ctx, const http::Request& r,
                               const store::AgentWebhook& w) {
  boost::json::object o;
  o["id"] = w.id;
  o["agent_id"] = w.agent_id;
  o["url"] = PublicUrl(ctx, r, w.agent_id);
  o["enabled"] = w.enabled;
  o["event_source"] = w.event_source;
  o["allowed_ips"] = IpArray(w);
  o["has_secret"] = !w.hmac_secret.empty();
  o["signature_header"] = std::string(kSignatureHeader);
  o["description"] = w.description;
  o["metadata"] = Metadata(w);
  o["created_by"] = w.created_by;
  o["created_at"] = Time(w.created_at);
  o["updated_at"] = Time(w.updated_at);
  return o;
}

// Applies the members sent in `body` to `webhook`. Returns the error response, if any.
std::optional<http::Response> ApplyConfig(const boost::json::object& body,
                                          store::AgentWebhook* webhook) {
  if (auto unknown = FirstUnknownField(body, {"enabled", "event_source", "allowed_ips", "secret",
                                              "description", "metadata"})) {
    return UnknownFieldResponse(*unknown);
  }
  auto enabled = BoolField(body, "enabled", webhook->enabled);
  if (!enabled) return FieldErrorResponse(enabled.error(), "enabled");
  webhook->enabled = *enabled;
  if (body.contains("event_source")) {
    auto source = StringField(body, "event_source", std::string());
    if (!source) return FieldErrorResponse(source.error(), "event_source");
    if (source->size() > kMaxTextBytes || (!source->empty() && HostOf(*source).empty())) {
      return FieldErrorResponse(
          Status::InvalidArgument("event_source must be an origin URL or a hostname"),
          "event_source");
    }
    webhook->event_source = *source;
  }
  if (body.contains("allowed_ips")) {
    auto ips = StringListField(body, "allowed_ips");
    if (!ips) return FieldErrorResponse(ips.error(), "allowed_ips");
    for (const auto& ip : *ips) {
      if (auto network = IpNetwork::Parse(ip); !network) {
        return FieldErrorResponse(network.error(), "allowed_ips");
      }
    }
    webhook->allowed_ips = std::move(*ips);
  }
  if (body.contains("secret")) {
    auto secret = StringField(body, "secret", std::string());
    if (!secret) return FieldErrorResponse(secret.error(), "secret");
    if (!secret->empty() && (secret->size() < kMinSecretBytes || secret->size() > kMaxTextBytes)) {
      return FieldErrorResponse(
          Status::InvalidArgument("secret must be 16 to 2048 characters (or empty or null to "
                                  "remove it)"),
          "secret");
    }
    webhook->hmac_secret = *secret;
  }
  if (body.contains("description")) {
    auto description = StringField(body, "description", std::string());
    if (!description) return FieldErrorResponse(description.error(), "description");
    if (description->size() > kMaxTextBytes) {
      return FieldErrorResponse(
          Status::InvalidArgument("description must be at most 2048 bytes"), "description");
    }
    webhook->description = *description;
  }
  if (const boost::json::value* metadata = body.if_contains("metadata")) {
    if (!metadata->is_object() && !metadata->is_null()) {
      return FieldErrorResponse(Status::InvalidArgument("metadata must be a JSON object"),
                                "metadata");
    }
    webhook->metadata_json =
        metadata->is_null() ? "{}" : boost::json::serialize(metadata->as_object());
    if (webhook->metadata_json.size() > 16 * 1024) {
      return FieldErrorResponse(Status::InvalidArgument("metadata must be at most 16 KiB"),
                                "metadata");
    }
  }
  return std::nullopt;
}

// The agent's webhook for management: the agent must be in the caller's workspace (else 404,
// whatever the role), and the caller a builder or admin; to change the webhook, the agent's
// creator or an admin (RequireAgentOwner, as PATCH /api/v1/agents/{id}).
enum class Access { kRead, kChange };
Result<store::Agent> ManagedAgent(ApiContext* ctx, const Principal& p, const std::string& id,
                                  Access access) {
  auto agent = ctx->store->GetAgent(p.workspace_id, id);
  if (!agent) return agent.error();
  TRIGGERD_RETURN_IF_ERROR(access == Access::kChange ? RequireAgentOwner(p, *agent)
                                                     : RequireRole(p, store::Role::kBuilder));
  return agent;
}

}  // namespace

void RegisterAgentWebhookRoutes(http::Router* router, ApiContext* ctx) {
  // ---- Public. ----
  auto head_check = [ctx](const http::RequestHead& head,
                          const std::map<std::string, std::string>& params) {
    if (head.method != "POST") return http::HeadDecision{std::nullopt, 0};
    auto admitted = Admit(ctx, params.at("agent_id"), head.headers, head.remote_ip);
    if (!admitted) return http::HeadDecision{http::ErrorResponse(admitted.error()), 0};
    if (head.content_length && *head.content_length > kMaxBodyBytes) {
      return http::HeadDecision{
          http::ErrorResponse(Status(ErrorType::kPayloadTooLarge, "payload_too_large",
                                     "the body is larger than 1048576 bytes")),
          0};
    }
    return http::HeadDecision{std::nullopt, kMaxBodyBytes};
  };
  router->Add(
      "POST", "/agents/{agent_id}/webhook",
      [ctx](http::Request request, http::Reply reply) {
        // Admitted again with the body in hand: the config may have changed meanwhile.
        const std::string agent_id = request.path_params["agent_id"];
        auto webhook = Admit(ctx, agent_id, request.headers, request.remote_ip);
        if (!webhook) return reply(http::ErrorResponse(webhook.error()));
        if (Status s = CheckSignature(*webhook, request); !s.ok()) {
          return reply(http::ErrorResponse(s));
        }
        std::string payload_json;
        if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
          payload_json = "{}";
        } else {
          boost::system::error_code ec;
          boost::json::parse(request.body, ec);
          if (ec) {
            return reply(http::ErrorResponse(Status::InvalidArgument(
                "the request body is not valid JSON: " + ec.message(), "invalid_json")));
          }
        }
        DirectRunRequest run{&*webhook, "agent.webhook", "", std::move(payload_json),
                             webhook->hmac_secret.empty() ? "none" : "hmac", &request};
        StartDirectRun(ctx, std::move(run),
                       [reply = std::move(reply), agent_id](Result<DirectRunOutcome> outcome) {
                         if (!outcome) return reply(http::ErrorResponse(outcome.error()));
                         reply(Json(200, {{"status", "accepted"},
                                          {"agent_id", agent_id},
                                          {"run_id", outcome->run_id},
                                          {"event_id", outcome->event_id},
                                          {"message", "the agent run was queued"}}));
                       });
      },
      head_check);

  router->Add("GET", "/agents/{agent_id}/webhook", [ctx](http::Request r, http::Reply reply) {
    const std::string agent_id = r.path_params["agent_id"];
    auto webhook = Admit(ctx, agent_id, r.headers, r.remote_ip);
    if (!webhook) return reply(http::ErrorResponse(webhook.error()));
    boost::json::object info;
    info["agent_id"] = agent_id;
    info["url"] = PublicUrl(ctx, r, agent_id);
    info["method"] = "POST";
    info["content_type"] = "application/json";
    info["enabled"] = webhook->enabled;
    info["secret_required"] = !webhook->hmac_secret.empty();
    if (!webhook->hmac_secret.empty()) {
      info["signature_header"] = std::string(kSignatureHeader);
      info["signature_format"] = "sha256=<hex HMAC-SHA256 of the raw body>";
    }
    info["allowed_sources"] = {{"event_source", webhook->event_source},
                               {"allowed_ips", IpArray(*webhook)}};
    info["description"] = webhook->description;
    info["metadata"] = Metadata(*webhook);
    reply(Json(200, info));
  });

  // ---- Management. ----
  router->Add("GET", "/api/v1/agents/{id}/webhook",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = ManagedAgent(ctx, p, r.path_params["id"], Access::kRead);
                if (!agent) return http::ErrorResponse(agent.error());
                auto webhook = ctx->store->GetAgentWebhook(agent->id, kKind);
                if (!webhook) return http::ErrorResponse(webhook.error());
                return Json(200, ConfigJson(ctx, r, *webhook));
              }));

  // Creates the webhook (201) or changes the members sent (200).
  router->Add("PUT", "/api/v1/agents/{id}/webhook",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = ManagedAgent(ctx, p, r.path_params["id"], Access::kChange);
                if (!agent) return http::ErrorResponse(agent.error());
                boost::json::object body;
                if (!r.body.empty()) {
                  auto parsed = ParseObject(r);
                  if (!parsed) return http::ErrorResponse(parsed.error());
                  body = std::move(*parsed);
                }
                const int64_t now = ctx->clock->NowMicros();
                auto existing = ctx->store->GetAgentWebhook(agent->id, kKind);
                if (!existing && existing.error().type() != ErrorType::kNotFound) {
                  return http::ErrorResponse(existing.error());
                }
                const bool creating = !existing;
                store::AgentWebhook webhook;
                if (creating) {
                  webhook.id = NewId("whk");
                  webhook.workspace_id = p.workspace_id;
                  webhook.agent_id = agent->id;
                  webhook.kind = std::string(kKind);
                  webhook.created_by = p.key_id;
                  webhook.created_at = now;
                } else {
                  webhook = std::move(*existing);
                }
                if (auto e = ApplyConfig(body, &webhook)) return *e;
                webhook.updated_at = now;
                Status s = creating ? ctx->store->CreateAgentWebhook(webhook)
                                    : ctx->store->UpdateAgentWebhook(webhook);
                if (!s.ok()) return http::ErrorResponse(s);
                return Json(creating ? 201 : 200, ConfigJson(ctx, r, webhook));
              }));

  router->Add("DELETE", "/api/v1/agents/{id}/webhook",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = ManagedAgent(ctx, p, r.path_params["id"], Access::kChange);
                if (!agent) return http::ErrorResponse(agent.error());
                auto webhook = ctx->store->GetAgentWebhook(agent->id, kKind);
                if (!webhook) return http::ErrorResponse(webhook.error());
                if (Status s = ctx->store->DeleteAgentWebhook(p.workspace_id, webhook->id);
                    !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api::compat
