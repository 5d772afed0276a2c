// Dagu-style per-workflow webhooks (docs/COMPATIBILITY.md). A Dagu "DAG" is an agent here; {name}
// is the agent's id, or its name within the caller's workspace.
//   POST   /api/v1/dags/{name}/webhook             create (201) {webhook, token}; token shown once
//   GET    /api/v1/dags/{name}/webhook             the webhook
//   DELETE /api/v1/dags/{name}/webhook             204
//   POST   /api/v1/dags/{name}/webhook/regenerate  a new token, shown once; the old one stops
//   POST   /api/v1/dags/{name}/webhook/toggle      {"enabled": bool}
//   GET    /api/v1/webhooks                        every webhook of the workspace
//   POST   /api/v1/webhooks/{name}                 trigger, Authorization: Bearer <webhook token>
// Management takes an API key with the builder or admin role; creating, deleting, regenerating
// and toggling also the agent's creator or an admin (403 not_owner). The trigger route takes the
// webhook's own token: 200 {dagRunId, dagName}; 401 missing/invalid token; 403 disabled; 404 no
// webhook; 409 dagRunId already used; 413 body above 1,048,576 bytes (refused on the head); 429
// and 503 with Retry-After under the ingest rate limits and backpressure. The trigger route is
// looked up, checked and appended by ingest::Ingestor (its caches: no store read per webhook);
// management writes go through catalog::Catalog, which keeps those caches current.
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

std::string NewToken() { return "trgd_wh_" + crypto::RandomToken(40); }

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
      code = "payload_too_large";
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

boost::json::object WebhookJson(const store::AgentWebhook& w, const store::Agent& agent) {
  return {{"id", w.id},
          {"dagName", agent.name},
          {"agentId", agent.id},
          {"tokenPrefix", w.token_prefix},
          {"enabled", w.enabled},
          {"createdAt", Time(w.created_at)},
          {"updatedAt", Time(w.updated_at)},
          {"createdBy", w.created_by}};
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

void Trigger(ApiContext* ctx, http::Request request, http::Reply reply) {
  // Admitted again with the body in hand (the webhook may have changed while it was read); the
  // rate limits were charged on the head.
  const std::string token = BearerToken(request);
  auto admitted = ctx->ingestor->AdmitDaguWebhook(
      {request.path_params["name"], token, /*charge_rate_limits=*/false});
  if (!admitted) return reply(TriggerRefusal(ctx, admitted.error()));

  // Payload rules: a top-level "payload" member is what the run gets, else the whole JSON body,
  // else (no body) {}. "dagRunId" in the wrapper names the run.
  std::string payload_json;
  std::string dag_run_id;
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    payload_json = "{}";
  } else {
    boost::system::error_code ec;
    boost::json::value body = ParseJson(request.body, ec);
    if (ec) {
      return reply(DaguError(Status::InvalidArgument(
          "the request body is not valid JSON: " + JsonErrorMessage(ec), "invalid_json")));
    }
    if (const boost::json::object* wrapper = body.if_object()) {
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
        payload_json = SerializeJson(*payload);
      }
    }
  }
  if (dag_run_id.empty()) dag_run_id = NewDagRunId(ctx->clock->NowMicros());
  ingest::DirectEvent event{std::move(admitted->webhook),
                            "dagu.webhook",
                            dag_run_id,
                            std::move(payload_json),
                            std::move(request.headers),
                            std::move(request.remote_ip),
                            std::move(request.body)};
  ctx->ingestor->IngestDirect(std::move(event), [ctx, reply = std::move(reply), dag_run_id,
                                                 dag_name = std::move(admitted->agent_name)](
                                                    Result<ingest::IngestOutcome> outcome) {
    if (!outcome) return reply(TriggerRefusal(ctx, outcome.error()));
    if (outcome->duplicate) {
      return reply(DaguError(Status::Conflict(
          "dagRunId \"" + dag_run_id + "\" was already used for this DAG", "dag_run_id_in_use")));
    }
    reply(Json(200, {{"dagRunId", dag_run_id},
                     {"dagName", dag_name},
                     {"runId", outcome->runs.front().run_id},
                     {"eventId", outcome->event_id}}));
  });
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
  return Json(201, {{"webhook", WebhookJson(webhook, *agent)}, {"token", token}});
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
                return Json(200, WebhookJson(managed->webhook, managed->agent));
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
                return Json(200, {{"webhook", WebhookJson(managed->webhook, managed->agent)},
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
                return Json(200, WebhookJson(managed->webhook, managed->agent));
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
                  data.push_back(WebhookJson(w, *agent));
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
                                                 "the body is larger than 1048576 bytes")),
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
