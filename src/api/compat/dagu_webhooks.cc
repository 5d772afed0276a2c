// Dagu-style per-workflow webhooks (docs/COMPATIBILITY.md). A Dagu "DAG" is an agent here; {name}
// is the agent's id, or its name within the caller's workspace.
//   POST   /api/v1/dags/{name}/webhook             create (201) {webhook, token}; token shown once
//   GET    /api/v1/dags/{name}/webhook             the webhook
//   DELETE /api/v1/dags/{name}/webhook             204
//   POST   /api/v1/dags/{name}/webhook/regenerate  a new token, shown once; the old one stops
//   POST   /api/v1/dags/{name}/webhook/toggle      {"enabled": bool}
//   POST   /api/v1/dags/{name}/webhook/hmac/enable      {authMode, enforcementMode?}: a secret,
//   POST   /api/v1/dags/{name}/webhook/hmac/regenerate  shown once ({webhook, hmacSecret})
//   POST   /api/v1/dags/{name}/webhook/hmac/configure   {authMode, enforcementMode?}
//   POST   /api/v1/dags/{name}/webhook/hmac/disable     back to token_only
//   GET    /api/v1/webhooks                        every webhook of the workspace
//   POST   /api/v1/webhooks/{name}                 trigger, Authorization: Bearer <webhook token>
//                                                  [, X-Dagu-Signature: sha256=<hex>]
// Management takes an API key with the builder or admin role; every change also the agent's
// creator or an admin (403 not_owner). The trigger route takes the webhook's own token: 200
// {dagRunId, dagName}; 401 missing/invalid token, or a missing/wrong signature under strict HMAC;
// 403 disabled; 404 no webhook; 409 dagRunId already used; 413 body above 1,048,576 bytes
// (refused on the head); 429 and 503 with Retry-After under the ingest rate limits and
// backpressure. The trigger route is looked up, checked and appended by ingest::Ingestor (its
// caches: no store read per webhook); the signature is checked here, with the secret from that
// cache. Management writes go through catalog::Catalog, which keeps those caches current.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "api/compat/compat.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/json_parse.h"

namespace triggerd::api::compat {
namespace {

constexpr std::string_view kKind = "dagu";
constexpr size_t kMaxBodyBytes = ingest::kDirectWebhookMaxBodyBytes;  // Dagu's limit
constexpr size_t kTokenPrefixLength = 12;                             // "trgd_wh_" + 4 characters
constexpr size_t kMaxDagRunIdBytes = 64;
// Mirrors dispatch::kDaguWebhookEventType: the command target gives such runs Dagu's variables.
constexpr std::string_view kEventType = "dagu.webhook";

// Dagu's HMAC scheme, fixed (its "v1"): X-Dagu-Signature: sha256=<hex HMAC-SHA256(secret, raw
// body)>.
constexpr std::string_view kHmacAlgorithm = "HMAC-SHA256";
constexpr std::string_view kHmacHeader = "X-Dagu-Signature";
constexpr std::string_view kHmacFormat = "sha256=<hex>";
constexpr size_t kHmacSecretLength = 44;  // base62: ~262 bits, Dagu's is 32 random bytes

std::string NewToken() { return "trgd_wh_" + crypto::RandomToken(40); }

// The HMAC settings of a Dagu webhook (store::AgentWebhook's hmac_enforcement and
// hmac_created_at). HMAC is on when the webhook's hmac_secret is set.
struct HmacSettings {
  bool observe = false;      // log a bad signature and accept (token still required)
  int64_t generated_at = 0;  // 0: unknown
};
HmacSettings ReadHmacSettings(const store::AgentWebhook& w) {
  return {w.hmac_enforcement == "observe", w.hmac_created_at};
}
void WriteHmacSettings(store::AgentWebhook* w, const HmacSettings& settings) {
  const bool on = !w->hmac_secret.empty();
  w->hmac_enforcement = !on ? "" : settings.observe ? "observe" : "strict";
  w->hmac_created_at = on ? settings.generated_at : 0;
}

// Dagu's error body is {"code", "message"}; ours is {"error": {"type", "message"}} (with
// "field" when the error is about one member of the body). Both, so that clients of either read
// it. Every error of this surface is answered through here (the API key check included).
http::Response DaguError(const Status& status, std::string_view field = "") {
  const int http_status = http::HttpStatusFor(status.type());
  std::string_view code = "internal_error";
  switch (http_status) {
    case 400:
      code = "bad_request";
      break;
    case 401:
      code = "unauthorized";
      break;
    case 403:
      code = "forbidden";
      break;
    case 404:
      code = "not_found";
      break;
    case 409:
      code = "already_exists";
      break;
    case 413:
      code = "bad_request";  // Dagu's code for its 413 (its enum has no other)
      break;
    case 429:
      code = "too_many_requests";
      break;
    case 503:
      code = "service_unavailable";
      break;
    default:
      break;
  }
  boost::json::object error{{"type", status.code().empty() ? "internal" : status.code()},
                            {"message", status.message()}};
  if (!field.empty()) error["field"] = field;
  boost::json::object body{
      {"error", std::move(error)}, {"code", code}, {"message", status.message()}};
  return Json(http_status, body);
}

// A run id as Dagu accepts one: 1..64 of [A-Za-z0-9_-].
bool IsValidDagRunId(std::string_view id) {
  if (id.empty() || id.size() > kMaxDagRunIdBytes) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

// Dagu names a run it was not given a name for with a UUID v7 (time-ordered).
std::string NewDagRunId(int64_t now_micros) {
  std::string b = crypto::RandomBytes(16);
  uint64_t ms = static_cast<uint64_t>(now_micros / 1000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<char>((ms >> (8 * (5 - i))) & 0xff);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x70);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = crypto::HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

// When the webhook last started a run: the newest of its events (each accepted trigger appends
// one). Read from the event log rather than written on every trigger, which would add a write
// transaction per request; nullopt when it never ran or retention purged its events.
std::optional<int64_t> LastUsedAt(ApiContext* ctx, const store::AgentWebhook& w) {
  store::EventQuery query;
  query.workspace_id = w.workspace_id;
  query.source_id = w.id;
  query.limit = 1;
  auto page = ctx->store->ListEvents(query);
  if (!page || page->items.empty()) return std::nullopt;
  return page->items.front().received_at;
}

// Go's encoding/json text of a JSON value, as Dagu's json.Marshal writes its payload member into
// WEBHOOK_PAYLOAD: compact; object members sorted by key (bytes), as Go's maps are; in strings
// <, > and & as \u003c \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, \b \f \n \r \t short, other
// control characters as \u00xx; a fraction or exponent number as Go prints a float64 ('f' form
// for 1e-6 <= |x| < 1e21, else 'e' with "e-7", "e+21"). Deliberately not Go: an integer keeps
// every digit (Go goes through float64 and rounds beyond 2^53), and a number beyond a double's
// range, which Go refuses, is written as SerializeJson does (1e999).
void AppendGoString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else if (c == 0xe2 && i + 2 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) & 0xfe) == 0xa8) {
      out->append(static_cast<unsigned char>(text[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendGoDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append(std::isnan(d) ? "null" : d > 0 ? "1e999" : "-1e999");
    return;
  }
  const double magnitude = std::fabs(d);
  const bool exponent = magnitude != 0 && (magnitude < 1e-6 || magnitude >= 1e21);
  char buffer[64];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, d,
                    exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  // Go writes e-7 where C++ (and strconv) write e-07.
  if (const size_t n = text.size(); exponent && n >= 4 && text.compare(n - 4, 3, "e-0") == 0) {
    text.erase(n - 2, 1);
  }
  out->append(text);
}

void AppendGoJson(const boost::json::value& v, std::string* out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      std::vector<const boost::json::key_value_pair*> members;
      for (const auto& member : v.get_object()) members.push_back(&member);
      std::stable_sort(members.begin(), members.end(),
                       [](const auto* a, const auto* b) { return a->key() < b->key(); });
      out->push_back('{');
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendGoString(members[i]->key(), out);
        out->push_back(':');
        AppendGoJson(members[i]->value(), out);
      }
      out->push_back('}');
      return;
    }
    case boost::json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendGoJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case boost::json::kind::string:
      AppendGoString(v.get_string(), out);
      return;
    case boost::json::kind::double_:
      AppendGoDouble(v.get_double(), out);
      return;
    default:  // null, bool, int64, uint64: the same text in both
      out->append(SerializeJson(v));
      return;
  }
}

// Dagu's WebhookDetails, plus agentId.
boost::json::object WebhookJson(ApiContext* ctx, const store::AgentWebhook& w,
                                const store::Agent& agent) {
  const bool hmac = !w.hmac_secret.empty();
  boost::json::object hmac_json{{"enabled", hmac}, {"secretConfigured", hmac}};
  if (hmac) {
    const HmacSettings settings = ReadHmacSettings(w);
    hmac_json["enforcementMode"] = settings.observe ? "observe" : "strict";
    hmac_json["algorithm"] = kHmacAlgorithm;
    hmac_json["headerName"] = kHmacHeader;
    hmac_json["format"] = kHmacFormat;
    if (settings.generated_at != 0) hmac_json["updatedAt"] = Time(settings.generated_at);
  }
  boost::json::object out{{"id", w.id},
                          {"dagName", agent.name},
                          {"agentId", agent.id},
                          {"tokenPrefix", w.token_prefix},
                          {"enabled", w.enabled},
                          {"authMode", hmac ? "token_and_hmac" : "token_only"},
                          {"hmac", std::move(hmac_json)},
                          {"createdAt", Time(w.created_at)},
                          {"updatedAt", Time(w.updated_at)},
                          {"createdBy", w.created_by}};
  if (auto used = LastUsedAt(ctx, w)) out["lastUsedAt"] = Time(*used);
  return out;
}

// {name} in the caller's workspace: an agent id, else the agent with that name. Names are not
// unique (another builder may reuse one), so several agents of that name narrow to the caller's
// own: a builder keeps managing their DAG whoever else picks its name. 404 for none; 409
// ambiguous_name only when the caller owns none or several of them.
Result<store::Agent> ResolveDag(ApiContext* ctx, const Principal& p, const std::string& name) {
  auto agent = ctx->store->GetAgent(p.workspace_id, name);
  if (agent || agent.error().type() != ErrorType::kNotFound) return agent;
  auto agents = ctx->store->ListAgents(p.workspace_id);
  if (!agents) return agents.error();
  std::vector<store::Agent> named;
  for (auto& a : *agents) {
    if (a.name == name) named.push_back(std::move(a));
  }
  if (named.empty()) {
    return Status::NotFound("no DAG (agent) named \"" + name + "\"", "dag_not_found");
  }
  if (named.size() == 1) return std::move(named.front());
  std::erase_if(named, [&p](const store::Agent& a) { return a.created_by != p.key_id; });
  if (named.size() == 1) return std::move(named.front());
  return Status::Conflict("several agents are named \"" + name + "\": use the agent id",
                          "ambiguous_name");
}

// The DAG and its webhook for a management call: builder or admin to read; to change the
// webhook, the agent's creator or an admin (RequireAgentOwner, as PATCH /api/v1/agents/{id}).
struct Managed {
  store::Agent agent;
  store::AgentWebhook webhook;
};
enum class Access { kRead, kChange };
Result<store::Agent> ManagedDag(ApiContext* ctx, const Principal& p, const std::string& name,
                                Access access) {
  TRIGGERD_RETURN_IF_ERROR(RequireRole(p, store::Role::kBuilder));
  auto agent = ResolveDag(ctx, p, name);
  if (agent && access == Access::kChange) {
    TRIGGERD_RETURN_IF_ERROR(RequireAgentOwner(p, *agent));
  }
  return agent;
}
Result<Managed> ManagedWebhook(ApiContext* ctx, const Principal& p, const std::string& name,
                               Access access) {
  auto agent = ManagedDag(ctx, p, name, access);
  if (!agent) return agent.error();
  auto webhook = ctx->store->GetAgentWebhook(agent->id, kKind);
  if (!webhook) {
    if (webhook.error().type() == ErrorType::kNotFound) {
      return Status::NotFound("this DAG has no webhook", "webhook_not_found");
    }
    return webhook.error();
  }
  return Managed{std::move(*agent), std::move(*webhook)};
}

// Management routes take an API key like the rest of the API; a missing or bad one is answered
// in this surface's error shape.
http::RouteSpec ManagementRoute(ApiContext* ctx, AuthedHandler handler) {
  return Authed(ctx, std::move(handler), [](const Status& s) { return DaguError(s); });
}

// A refusal of the trigger route: Dagu's error shape, with Retry-After on 429 and 503.
http::Response TriggerRefusal(ApiContext* ctx, const Status& status) {
  http::Response response = DaguError(status);
  AddRetryAfter(status, *ctx->ingestor, &response);
  return response;
}

std::string BearerToken(const http::RequestHead& r) {
  auto header = FindHeader(r.headers, "Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header || header->size() <= kScheme.size() ||
      !HeaderNameEquals(header->substr(0, kScheme.size()), kScheme)) {
    return "";
  }
  return std::string(header->substr(kScheme.size()));
}

// Dagu's HMAC check of a webhook with a secret: X-Dagu-Signature must be "sha256=" and the hex
// (either case) HMAC-SHA256 of the raw body under the secret, compared in constant time. kOk when
// the webhook has no secret.
Status CheckSignature(const store::AgentWebhook& w, const Headers& headers, std::string_view body) {
  if (w.hmac_secret.empty()) return Status::Ok();
  auto header = FindHeader(headers, kHmacHeader);
  if (!header || header->empty()) {
    return Status::Unauthenticated("missing webhook HMAC signature", "missing_signature");
  }
  constexpr std::string_view kPrefix = "sha256=";
  std::string given(header->starts_with(kPrefix) ? header->substr(kPrefix.size()) : "");
  std::transform(given.begin(), given.end(), given.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string expected = crypto::HexEncode(
      crypto::HmacKey(crypto::DigestAlgorithm::kSha256, w.hmac_secret).Sign(body));
  if (given.empty() || !crypto::ConstantTimeEqual(given, expected)) {
    return Status::Unauthenticated("invalid webhook HMAC signature", "signature_mismatch");
  }
  return Status::Ok();
}

void Trigger(ApiContext* ctx, http::Request request, http::Reply reply) {
  // Admitted again with the body in hand (the webhook may have changed while it was read); the
  // rate limits were charged on the head.
  const std::string token = BearerToken(request);
  auto admitted = ctx->ingestor->AdmitDaguWebhook(
      {request.path_params["name"], token, /*charge_rate_limits=*/false});
  if (!admitted) return reply(TriggerRefusal(ctx, admitted.error()));

  // Dagu's order: the token (above), then the signature over the raw body, then the body.
  const store::AgentWebhook& webhook = admitted->webhook->webhook;
  if (Status signed_ok = CheckSignature(webhook, request.headers, request.body); !signed_ok.ok()) {
    if (!ReadHmacSettings(webhook).observe) return reply(TriggerRefusal(ctx, signed_ok));
    // Observe mode: the failure is logged and the request goes on (Dagu's dry run before strict).
    spdlog::warn("dagu webhook {}: HMAC check failed, accepted in observe mode: {}", webhook.id,
                 signed_ok.code());
  }

  // WEBHOOK_PAYLOAD by Dagu's three rules: a top-level "payload" member (not null), serialised
  // as Go does; else the raw body when it is JSON; else {} (no body, or a body that is not JSON:
  // Dagu documents {} for "no JSON body", and the sender's text stays in the event's body).
  // "dagRunId" in a JSON object names the run.
  std::string payload_json;
  std::string dag_run_id;
  const bool has_body = request.body.find_first_not_of(" \t\r\n") != std::string::npos;
  boost::system::error_code ec;
  const boost::json::value body = has_body ? ParseJson(request.body, ec) : nullptr;
  if (!has_body || ec) {
    payload_json = "{}";
  } else if (const boost::json::object* wrapper = body.if_object()) {
    if (const boost::json::value* id = wrapper->if_contains("dagRunId"); id && !id->is_null()) {
      if (!id->is_string() || !IsValidDagRunId(id->as_string())) {
        return reply(DaguError(Status::InvalidArgument(
            "dagRunId must be 1 to 64 characters of letters, digits, '-' and '_'",
            "invalid_dag_run_id")));
      }
      dag_run_id = std::string(id->as_string());
    }
    if (const boost::json::value* payload = wrapper->if_contains("payload");
        payload && !payload->is_null()) {
      AppendGoJson(*payload, &payload_json);
    }
  }
  if (dag_run_id.empty()) dag_run_id = NewDagRunId(ctx->clock->NowMicros());
  ingest::DirectEvent event{
      std::move(admitted->webhook), std::string(kEventType),    dag_run_id,
      std::move(payload_json),      std::move(request.headers), std::move(request.remote_ip),
      std::move(request.body)};
  ctx->ingestor->IngestDirect(std::move(event), [ctx, reply = std::move(reply), dag_run_id,
                                                 dag_name = std::move(admitted->agent_name)](
                                                    Result<ingest::IngestOutcome> outcome) {
    if (!outcome) return reply(TriggerRefusal(ctx, outcome.error()));
    if (outcome->duplicate) {
      return reply(DaguError(Status::Conflict("dag-run with ID " + dag_run_id + " already exists",
                                              "dag_run_id_in_use")));
    }
    reply(Json(200, {{"dagRunId", dag_run_id},
                     {"dagName", dag_name},
                     {"runId", outcome->runs.front().run_id},
                     {"eventId", outcome->event_id}}));
  });
}

Status HmacNotConfigured() {
  return Status::InvalidArgument("webhook HMAC is not configured", "hmac_not_configured");
}

// The body of hmac/enable and hmac/configure, {"authMode", "enforcementMode"?}, into `*observe`;
// a refusal names the member at fault in `*field`. authMode token_and_hmac (strict or observe);
// hmac_only is refused (400): by name, the webhook token is what tells triggerd the workspace, so
// a request without one could not be routed (docs/COMPATIBILITY.md). An omitted enforcementMode
// is `current` (configure keeps the mode), else strict (enable), as Dagu.
Status ParseHmacMode(const http::Request& r, std::optional<bool> current, bool* observe,
                     std::string* field) {
  auto body = ParseObject(r);
  if (!body) return body.error();
  if (auto unknown = FirstUnknownField(*body, {"authMode", "enforcementMode"})) {
    *field = *unknown;
    return Status::InvalidArgument("unknown field \"" + *unknown + "\"");
  }
  *field = "authMode";
  const boost::json::value* auth = body->if_contains("authMode");
  if (auth == nullptr || !auth->is_string()) {
    return Status::InvalidArgument("authMode is required: token_and_hmac");
  }
  if (auth->as_string() == "hmac_only") {
    return Status::InvalidArgument(
        "authMode hmac_only is not supported: triggerd needs the webhook token to find the DAG; "
        "use token_and_hmac",
        "unsupported_auth_mode");
  }
  if (auth->as_string() != "token_and_hmac") {
    return Status::InvalidArgument("invalid webhook auth mode");
  }
  *field = "enforcementMode";
  const boost::json::value* mode = body->if_contains("enforcementMode");
  if (mode == nullptr || mode->is_null()) {
    *observe = current.value_or(false);
  } else if (mode->is_string() && mode->as_string() == "strict") {
    *observe = false;
  } else if (mode->is_string() && mode->as_string() == "observe") {
    *observe = true;
  } else {
    return Status::InvalidArgument("invalid webhook HMAC enforcement mode");
  }
  field->clear();
  return Status::Ok();
}

// POST /api/v1/dags/{name}/webhook: the DAG's webhook, with its token shown once (201); 409 when
// it has one already.
http::Response CreateWebhook(ApiContext* ctx, const Principal& p, http::Request& r) {
  auto agent = ManagedDag(ctx, p, r.path_params["name"], Access::kChange);
  if (!agent) return DaguError(agent.error());
  const int64_t now = ctx->clock->NowMicros();
  std::string token = NewToken();
  store::AgentWebhook webhook;
  webhook.id = NewId("whk");
  webhook.workspace_id = p.workspace_id;
  webhook.agent_id = agent->id;
  webhook.kind = std::string(kKind);
  webhook.token_hash = crypto::SecretHash(token);
  webhook.token_prefix = token.substr(0, kTokenPrefixLength);
  webhook.created_by = p.key_id;
  webhook.created_at = webhook.updated_at = now;
  if (Status s = ctx->catalog->CreateAgentWebhook(webhook); !s.ok()) {
    if (s.type() == ErrorType::kConflict) {
      return DaguError(Status::Conflict("this DAG already has a webhook", "webhook_exists"));
    }
    return DaguError(s);
  }
  return Json(201, {{"webhook", WebhookJson(ctx, webhook, *agent)}, {"token", token}});
}

}  // namespace

void RegisterDaguWebhookRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("POST", "/api/v1/dags/{name}/webhook",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                return CreateWebhook(ctx, p, r);
              }));

  router->Add("GET", "/api/v1/dags/{name}/webhook",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kRead);
                if (!managed) return DaguError(managed.error());
                return Json(200, WebhookJson(ctx, managed->webhook, managed->agent));
              }));

  router->Add(
      "DELETE", "/api/v1/dags/{name}/webhook",
      ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
        auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
        if (!managed) return DaguError(managed.error());
        if (Status s = ctx->catalog->DeleteAgentWebhook(p.workspace_id, managed->webhook.id);
            !s.ok()) {
          return DaguError(s);
        }
        return http::Response{204, {}, "", ""};
      }));

  router->Add("POST", "/api/v1/dags/{name}/webhook/regenerate",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                std::string token = NewToken();
                managed->webhook.token_hash = crypto::SecretHash(token);
                managed->webhook.token_prefix = token.substr(0, kTokenPrefixLength);
                managed->webhook.updated_at = ctx->clock->NowMicros();
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, {{"webhook", WebhookJson(ctx, managed->webhook, managed->agent)},
                                  {"token", token}});
              }));

  router->Add("POST", "/api/v1/dags/{name}/webhook/toggle",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                auto body = ParseObject(r);
                if (!body) return DaguError(body.error());
                if (auto unknown = FirstUnknownField(*body, {"enabled"})) {
                  return DaguError(Status::InvalidArgument("unknown field \"" + *unknown + "\""),
                                   *unknown);
                }
                const boost::json::value* enabled = body->if_contains("enabled");
                if (enabled == nullptr || !enabled->is_bool()) {
                  return DaguError(Status::InvalidArgument("enabled is required: true or false"),
                                   "enabled");
                }
                managed->webhook.enabled = enabled->as_bool();
                managed->webhook.updated_at = ctx->clock->NowMicros();
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, WebhookJson(ctx, managed->webhook, managed->agent));
              }));

  // HMAC (Dagu's /webhook/hmac/*): enable and regenerate show a new secret once; configure
  // changes the mode and keeps the secret; disable drops it.
  router->Add("POST", "/api/v1/dags/{name}/webhook/hmac/enable",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                bool observe = false;
                std::string field;
                if (Status s = ParseHmacMode(r, std::nullopt, &observe, &field); !s.ok()) {
                  return DaguError(s, field);
                }
                const int64_t now = ctx->clock->NowMicros();
                const std::string secret = crypto::RandomToken(kHmacSecretLength);
                managed->webhook.hmac_secret = secret;
                WriteHmacSettings(&managed->webhook, {observe, now});
                managed->webhook.updated_at = now;
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, {{"webhook", WebhookJson(ctx, managed->webhook, managed->agent)},
                                  {"hmacSecret", secret}});
              }));

  router->Add("POST", "/api/v1/dags/{name}/webhook/hmac/configure",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                if (managed->webhook.hmac_secret.empty()) return DaguError(HmacNotConfigured());
                HmacSettings settings = ReadHmacSettings(managed->webhook);
                std::string field;
                if (Status s = ParseHmacMode(r, settings.observe, &settings.observe, &field);
                    !s.ok()) {
                  return DaguError(s, field);
                }
                WriteHmacSettings(&managed->webhook, settings);
                managed->webhook.updated_at = ctx->clock->NowMicros();
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, WebhookJson(ctx, managed->webhook, managed->agent));
              }));

  router->Add("POST", "/api/v1/dags/{name}/webhook/hmac/regenerate",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                if (managed->webhook.hmac_secret.empty()) return DaguError(HmacNotConfigured());
                HmacSettings settings = ReadHmacSettings(managed->webhook);
                const int64_t now = ctx->clock->NowMicros();
                const std::string secret = crypto::RandomToken(kHmacSecretLength);
                managed->webhook.hmac_secret = secret;
                settings.generated_at = now;
                WriteHmacSettings(&managed->webhook, settings);
                managed->webhook.updated_at = now;
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, {{"webhook", WebhookJson(ctx, managed->webhook, managed->agent)},
                                  {"hmacSecret", secret}});
              }));

  router->Add("POST", "/api/v1/dags/{name}/webhook/hmac/disable",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                auto managed = ManagedWebhook(ctx, p, r.path_params["name"], Access::kChange);
                if (!managed) return DaguError(managed.error());
                managed->webhook.hmac_secret.clear();
                WriteHmacSettings(&managed->webhook, {});
                managed->webhook.updated_at = ctx->clock->NowMicros();
                if (Status s = ctx->catalog->UpdateAgentWebhook(managed->webhook); !s.ok()) {
                  return DaguError(s);
                }
                return Json(200, WebhookJson(ctx, managed->webhook, managed->agent));
              }));

  router->Add("GET", "/api/v1/webhooks",
              ManagementRoute(ctx, [ctx](const Principal& p, http::Request& r) {
                if (Status s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
                  return DaguError(s);
                }
                // ?limit= and ?cursor= as every list of ours, in Dagu's error body.
                auto limit = LimitParam(r);
                if (!limit) return DaguError(limit.error(), "limit");
                auto cursor = CursorParam(r);
                if (!cursor) return DaguError(cursor.error(), "cursor");
                auto webhooks = ctx->store->ListAgentWebhooks(p.workspace_id, kKind);
                if (!webhooks) return DaguError(webhooks.error());
                auto page = PageInMemory(std::move(*webhooks), *limit, *cursor);
                boost::json::array data;
                for (const auto& w : page.items) {
                  auto agent = ctx->store->GetAgent(p.workspace_id, w.agent_id);
                  if (!agent) continue;  // deleted meanwhile (the cascade took the webhook)
                  data.push_back(WebhookJson(ctx, w, *agent));
                }
                // "data"/"next_cursor" as every list of ours; "webhooks" as Dagu's.
                boost::json::array copy = data;
                boost::json::value next = nullptr;
                if (page.next_cursor) next = std::to_string(*page.next_cursor);
                return Json(200, {{"data", std::move(data)},
                                  {"next_cursor", std::move(next)},
                                  {"webhooks", std::move(copy)}});
              }));

  // The head: the size first (the body is never read), then the webhook, its token and the rate
  // limits, so a refused request costs no body read either.
  auto head_check = [ctx](const http::RequestHead& head,
                          const std::map<std::string, std::string>& params) {
    if (head.content_length && *head.content_length > kMaxBodyBytes) {
      return http::HeadDecision{DaguError(Status(ErrorType::kPayloadTooLarge, "payload_too_large",
                                                 "webhook payload too large (max 1048576 bytes)")),
                                0};
    }
    const std::string token = BearerToken(head);
    auto admitted = ctx->ingestor->AdmitDaguWebhook({params.at("name"), token});
    if (!admitted) return http::HeadDecision{TriggerRefusal(ctx, admitted.error()), 0};
    return http::HeadDecision{std::nullopt, kMaxBodyBytes};
  };
  router->Add(
      "POST", "/api/v1/webhooks/{name}",
      [ctx](http::Request request, http::Reply reply) {
        Trigger(ctx, std::move(request), std::move(reply));
      },
      head_check);
}

}  // namespace triggerd::api::compat
