// Agent webhook endpoints (durable-agents style), docs/COMPATIBILITY.md:
//   POST /agents/{agent_id}/webhook   public: starts a run of the agent with the JSON body
//   GET  /agents/{agent_id}/webhook   public: what an external system needs to register it
//   GET|PUT|DELETE /api/v1/agents/{id}/webhook   management (API key, builder or admin; PUT and
//                                                DELETE: the agent's creator or an admin)
// The public routes carry no API key: the agent id (unguessable, ~131 random bits) scopes them,
// and they answer only when the agent has a webhook (404) that is enabled (403) and the caller
// passes the source check (403) and, when a secret is set, the HMAC check (401); beyond the
// ingest rate limits or backpressure, 429 / 503 with Retry-After. The public routes are looked up
// and checked by ingest::Ingestor from its caches (no store read per webhook); management writes
// go through catalog::Catalog, which keeps those caches current.
#include <cctype>

#include "api/compat/compat.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/ip_network.h"
#include "common/json_parse.h"

namespace triggerd::api::compat {
namespace {

constexpr std::string_view kKind = "agent";
constexpr std::string_view kSignatureHeader = "X-Webhook-Signature";
constexpr size_t kMaxTextBytes = 2048;
constexpr size_t kMinSecretBytes = 16;

// event_source as the seed states it: an origin URL ("https://app.example.com[:port]", what a
// browser sends as Origin), a host name ("app.example.com"), or an IP address ("127.0.0.1",
// "::1": the address a server posts from). Anything else would silently admit nobody, so it is
// refused when configured.
Status ValidateEventSource(std::string_view text) {
  const Status refused = Status::InvalidArgument(
      "event_source must be an origin URL (https://app.example.com), a host name "
      "(app.example.com) or an IP address (127.0.0.1)");
  if (text.empty()) return Status::Ok();  // no origin check
  if (text.size() > 253 + 20) return refused;
  if (text.find("://") != std::string_view::npos) {
    return NormalizeOrigin(text).has_value() ? Status::Ok() : refused;
  }
  if (ParseIpAddress(text)) return Status::Ok();
  // A DNS host name (RFC 1123): dot-separated labels of letters, digits and '-', 1 to 63
  // characters each, not starting or ending with '-'; at most 253 in all.
  if (text.size() > 253) return refused;
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '.';
    if (c == '.') {
      if (label == 0 || label > 63 || text[i - 1] == '-' || text[i - label] == '-') return refused;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      ++label;
    } else {
      return refused;
    }
  }
  return Status::Ok();
}

// The public routes' gate (ingest::Ingestor::AdmitAgentWebhook): 404 no webhook, 403 disabled,
// 403 source not allowed, 413 above 1 MiB, 429 / 503.
Result<ingest::DirectAdmission> Admit(ApiContext* ctx, const http::RequestHead& head,
                                      const std::string& agent_id, bool charge) {
  ingest::AgentWebhookHead request;
  request.agent_id = agent_id;
  request.headers = &head.headers;
  request.remote_ip = head.remote_ip;
  request.content_length = head.content_length;
  request.charge_rate_limits = charge;
  return ctx->ingestor->AdmitAgentWebhook(request);
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
  if (auto unknown = FirstUnknownField(
          body, {"enabled", "event_source", "allowed_ips", "secret", "description", "metadata"})) {
    return UnknownFieldResponse(*unknown);
  }
  auto enabled = BoolField(body, "enabled", webhook->enabled);
  if (!enabled) return FieldErrorResponse(enabled.error(), "enabled");
  webhook->enabled = *enabled;
  if (body.contains("event_source")) {
    auto source = StringField(body, "event_source", std::string());
    if (!source) return FieldErrorResponse(source.error(), "event_source");
    if (Status valid = ValidateEventSource(*source); !valid.ok()) {
      return FieldErrorResponse(valid, "event_source");
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
      return FieldErrorResponse(Status::InvalidArgument("description must be at most 2048 bytes"),
                                "description");
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

// POST /agents/{agent_id}/webhook, once the head was admitted (rate limits charged then): the
// body is verified and the run queued through the ingest pipeline.
void Receive(ApiContext* ctx, http::Request request, http::Reply reply) {
  // Admitted again with the body in hand: the config may have changed meanwhile (the rate
  // limits were charged on the head).
  const std::string agent_id = request.path_params["agent_id"];
  http::RequestHead& head = request;
  head.content_length = request.body.size();
  auto admitted = Admit(ctx, head, agent_id, /*charge=*/false);
  if (!admitted) return reply(IngestRefusal(admitted.error(), *ctx->ingestor));
  if (Status s =
          ctx->ingestor->VerifyAgentWebhook(*admitted->webhook, request.headers, request.body);
      !s.ok()) {
    return reply(http::ErrorResponse(s));
  }
  std::string payload_json;
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    payload_json = "{}";
  } else {
    boost::system::error_code ec;
    (void)ParseJson(request.body, ec);
    if (ec) {
      return reply(http::ErrorResponse(Status::InvalidArgument(
          "the request body is not valid JSON: " + JsonErrorMessage(ec), "invalid_json")));
    }
  }
  ingest::DirectEvent event{std::move(admitted->webhook),
                            "agent.webhook",
                            "",
                            std::move(payload_json),
                            std::move(request.headers),
                            std::move(request.remote_ip),
                            std::move(request.body)};
  ctx->ingestor->IngestDirect(std::move(event), [ctx, reply = std::move(reply),
                                                 agent_id](Result<ingest::IngestOutcome> outcome) {
    if (!outcome) return reply(IngestRefusal(outcome.error(), *ctx->ingestor));
    // workflow_id: the seed's name for what was started, the run (one workflow per request).
    reply(Json(200, {{"status", "accepted"},
                     {"agent_id", agent_id},
                     {"workflow_id", outcome->runs.front().run_id},
                     {"run_id", outcome->runs.front().run_id},
                     {"event_id", outcome->event_id},
                     {"message", "the agent run was queued"}}));
  });
}

// PUT /api/v1/agents/{id}/webhook: creates the webhook (201) or changes the members sent (200).
http::Response PutConfig(ApiContext* ctx, const Principal& p, http::Request& r) {
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
  Status s = creating ? ctx->catalog->CreateAgentWebhook(webhook)
                      : ctx->catalog->UpdateAgentWebhook(webhook);
  if (!s.ok()) return http::ErrorResponse(s);
  return Json(creating ? 201 : 200, ConfigJson(ctx, r, webhook));
}

}  // namespace

void RegisterAgentWebhookRoutes(http::Router* router, ApiContext* ctx) {
  // ---- Public. ----
  auto head_check = [ctx](const http::RequestHead& head,
                          const std::map<std::string, std::string>& params) {
    if (head.method != "POST") return http::HeadDecision{std::nullopt, 0};
    auto admitted = Admit(ctx, head, params.at("agent_id"), /*charge=*/true);
    if (!admitted) return http::HeadDecision{IngestRefusal(admitted.error(), *ctx->ingestor), 0};
    return http::HeadDecision{std::nullopt, admitted->body_limit};
  };
  router->Add(
      "POST", "/agents/{agent_id}/webhook",
      [ctx](http::Request request, http::Reply reply) {
        Receive(ctx, std::move(request), std::move(reply));
      },
      head_check);

  router->Add("GET", "/agents/{agent_id}/webhook", [ctx](http::Request r, http::Reply reply) {
    const std::string agent_id = r.path_params["agent_id"];
    http::RequestHead& head = r;
    head.content_length.reset();  // a GET's body is not the webhook's
    auto admitted = Admit(ctx, head, agent_id, /*charge=*/false);
    if (!admitted) return reply(http::ErrorResponse(admitted.error()));
    const store::AgentWebhook& webhook = admitted->webhook->webhook;
    boost::json::object info;
    info["agent_id"] = agent_id;
    info["url"] = PublicUrl(ctx, r, agent_id);
    info["method"] = "POST";
    info["content_type"] = "application/json";
    info["enabled"] = webhook.enabled;
    info["secret_required"] = !webhook.hmac_secret.empty();
    if (!webhook.hmac_secret.empty()) {
      info["signature_header"] = std::string(kSignatureHeader);
      info["signature_format"] = "sha256=<hex HMAC-SHA256 of the raw body>";
    }
    info["allowed_sources"] = {{"event_source", webhook.event_source},
                               {"allowed_ips", IpArray(webhook)}};
    info["description"] = webhook.description;
    info["metadata"] = Metadata(webhook);
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

  router->Add(
      "PUT", "/api/v1/agents/{id}/webhook",
      Authed(ctx, [ctx](const Principal& p, http::Request& r) { return PutConfig(ctx, p, r); }));

  router->Add("DELETE", "/api/v1/agents/{id}/webhook",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = ManagedAgent(ctx, p, r.path_params["id"], Access::kChange);
                if (!agent) return http::ErrorResponse(agent.error());
                auto webhook = ctx->store->GetAgentWebhook(agent->id, kKind);
                if (!webhook) return http::ErrorResponse(webhook.error());
                if (Status s = ctx->catalog->DeleteAgentWebhook(p.workspace_id, webhook->id);
                    !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api::compat
