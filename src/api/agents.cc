// /api/v1/agents: what a run talks to (an http endpoint, a command, an LLM). Builders and admins
// create agents and every role of the workspace reads them (a trigger of any builder may use any
// agent), credentials excepted: an http target's header values and URL password are shown
// redacted to everyone; only the agent's creator or an admin changes or deletes it. Command
// targets and llm api_key_env values are the operator's to allow (ApiContext::AgentTargets).
#include <algorithm>

#include "api/internal.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "dispatch/target.h"

namespace triggerd::api {
namespace {

constexpr size_t kMaxInstructionsBytes = 64 * 1024;
constexpr int64_t kMaxAttempts = 100;
constexpr int64_t kMaxConcurrency = 1000;

boost::json::object AgentJson(const store::Agent& agent) {
  boost::json::object o;
  o["id"] = agent.id;
  o["name"] = agent.name;
  o["instructions"] = agent.instructions;
  // Header values and a URL's password are write-only (dispatch::RedactTargetConfig).
  auto target = dispatch::ParseTargetConfigText(agent.target_json);
  o["target"] = target ? dispatch::TargetConfigToJson(dispatch::RedactTargetConfig(*target))
                       : boost::json::object();
  o["max_attempts"] = agent.max_attempts;
  o["concurrency"] = agent.concurrency;
  // The secret itself is shown once, when it is made (signing_secret in the 201 / rotate answer).
  o["has_signing_secret"] = !agent.signing_secret.empty();
  o["created_by"] = agent.created_by;
  o["created_at"] = Time(agent.created_at);
  o["updated_at"] = Time(agent.updated_at);
  o["managed_by"] = ManagedByJson(agent.managed_by);
  return o;
}

// Standard Webhooks secret: "whsec_" + base64 of 32 random bytes (what http targets sign with).
std::string NewSigningSecret() { return "whsec_" + crypto::Base64Encode(crypto::RandomBytes(32)); }

// dispatch::ParseTargetConfig names the member in its message ("target.url: …"); that prefix is
// the field. Anything else is about the target as a whole.
std::string TargetField(const std::string& message) {
  if (message.rfind("target", 0) != 0) return "target";
  size_t end = message.find_first_of(": ");
  return end == std::string::npos ? "target" : message.substr(0, end);
}

// A member's error, answered as FieldErrorResponse (UnknownFieldResponse for an unknown one).
BodyError FieldError(Status status, std::string field) {
  return BodyError{std::move(status), std::move(field), std::nullopt};
}
BodyError UnknownField(const std::string& field) {
  return FieldError(Status::InvalidArgument("unknown field \"" + field + "\""), field);
}

}  // namespace

Status RequireAgentOwner(const Principal& p, const store::Agent& agent) {
  TRIGGERD_RETURN_IF_ERROR(RequireRole(p, store::Role::kBuilder));
  if (!CanSee(p, agent.created_by)) {
    return Status::PermissionDenied("only the agent's creator or an admin can change it",
                                    "not_owner");
  }
  return Status::Ok();
}

// Applies the settable members of `body` to `agent` (see api.h). Errors are answered with
// BodyErrorResponse.
std::optional<BodyError> ApplyAgentBody(const boost::json::object& body, bool creating,
                                        bool rotate, store::Agent* agent, std::string* issued) {
  if (auto unknown = FirstUnknownField(
          body, {"name", "instructions", "target", "max_attempts", "concurrency"})) {
    return UnknownField(*unknown);
  }
  if (creating || body.contains("name")) {
    auto name = StringField(body, "name", std::nullopt);
    if (!name) return FieldError(name.error(), "name");
    if (Status s = CheckName(*name, /*required=*/true); !s.ok()) return FieldError(s, "name");
    agent->name = *name;
  }
  if (body.contains("instructions")) {
    auto instructions = StringField(body, "instructions", std::string());
    if (!instructions) return FieldError(instructions.error(), "instructions");
    if (instructions->size() > kMaxInstructionsBytes) {
      return FieldError(Status::InvalidArgument("instructions must be at most 65536 bytes"),
                        "instructions");
    }
    agent->instructions = *instructions;
  }
  bool http_target = false;
  if (creating || body.contains("target")) {
    const boost::json::value* target = body.if_contains("target");
    if (target == nullptr || target->is_null()) {
      return FieldError(Status::InvalidArgument("target is required"), "target");
    }
    auto config = dispatch::ParseTargetConfig(*target);
    if (!config) return FieldError(config.error(), TargetField(config.error().message()));
    // A target read from the API (credentials redacted) and sent back keeps them.
    std::optional<dispatch::TargetConfig> stored;
    if (!creating) {
      auto parsed = dispatch::ParseTargetConfigText(agent->target_json);
      if (parsed) stored = std::move(parsed).value();
    }
    config = dispatch::RestoreRedactedValues(std::move(config).value(), stored);
    if (!config) return FieldError(config.error(), TargetField(config.error().message()));
    agent->target_json = boost::json::serialize(dispatch::TargetConfigToJson(*config));
    http_target = config->type == dispatch::TargetType::kHttp;
  } else {
    auto config = dispatch::ParseTargetConfigText(agent->target_json);
    if (!config) return FieldError(config.error(), "");  // stored: not the caller's fault
    http_target = config->type == dispatch::TargetType::kHttp;
  }
  if (!http_target) {
    agent->signing_secret.clear();
  } else if (agent->signing_secret.empty() || rotate) {
    agent->signing_secret = NewSigningSecret();
    *issued = agent->signing_secret;
  }
  auto max_attempts = IntField(body, "max_attempts", agent->max_attempts);
  if (!max_attempts) return FieldError(max_attempts.error(), "max_attempts");
  if (*max_attempts < 1 || *max_attempts > kMaxAttempts) {
    return FieldError(Status::InvalidArgument("max_attempts must be between 1 and 100"),
                              "max_attempts");
  }
  agent->max_attempts = static_cast<int>(*max_attempts);
  auto concurrency = IntField(body, "concurrency", agent->concurrency);
  if (!concurrency) return FieldError(concurrency.error(), "concurrency");
  if (*concurrency < 1 || *concurrency > kMaxConcurrency) {
    return FieldError(Status::InvalidArgument("concurrency must be between 1 and 1000"),
                              "concurrency");
  }
  agent->concurrency = static_cast<int>(*concurrency);
  return std::nullopt;
}

namespace {

http::Response WithIssued(int status, const store::Agent& agent, const std::string& issued) {
  boost::json::object out = AgentJson(agent);
  if (!issued.empty()) out["signing_secret"] = issued;
  return Json(status, out);
}

// The agent, when the principal may change it (RequireAgentOwner). Existence is checked first,
// so a key of another workspace gets 404 whatever its role.
Result<store::Agent> AgentToChange(ApiContext* ctx, const Principal& p, const std::string& id) {
  auto agent = ctx->store->GetAgent(p.workspace_id, id);
  if (!agent) return agent.error();
  TRIGGERD_RETURN_IF_ERROR(RequireAgentOwner(p, *agent));
  return agent;
}

// The operator's limits on targets set through the API (ApiContext::AgentTargets): 403 with
// field "target", or nullopt. `before`: the stored target_json ("" when creating); a target left
// as it was passes, so an agent made while allowed (or before the limits) can still be renamed.
std::optional<http::Response> RefuseTarget(const ApiContext& ctx, const Principal& p,
                                           const std::string& before, const store::Agent& agent) {
  if (agent.target_json == before) return std::nullopt;
  auto target = dispatch::ParseTargetConfigText(agent.target_json);
  if (!target) return std::nullopt;  // ApplyAgentBody wrote it: it parses
  const std::string where = ctx.config_file.empty() ? "the config file" : ctx.config_file;
  if (target->type == dispatch::TargetType::kCommand) {
    if (!ctx.agent_targets.command_agents) {
      return FieldErrorResponse(
          Status::PermissionDenied(
              "command targets run programs as the server's user, so the API does not accept "
              "them: declare the agent in " + where + " (workspaces: … agents:), or let admin "
              "keys set them with \"api: {command_agents: true}\" there",
              "command_agents_disabled"),
          "target");
    }
    if (p.role != store::Role::kAdmin) {
      return FieldErrorResponse(
          Status::PermissionDenied("only admin keys may set command targets", "admin_required"),
          "target");
    }
  }
  if (target->type == dispatch::TargetType::kLlm && !target->llm.api_key_env.empty()) {
    const auto& allowed = ctx.agent_targets.llm_api_key_envs;
    if (std::find(allowed.begin(), allowed.end(), target->llm.api_key_env) == allowed.end()) {
      return FieldErrorResponse(
          Status::PermissionDenied(
              "api_key_env \"" + target->llm.api_key_env.substr(0, 100) +
                  "\" names a server environment variable the operator has not allowed: list it "
                  "in " + where + " under \"api: {llm_api_key_envs: [...]}\", or declare the "
                  "agent there",
              "api_key_env_not_allowed"),
          "target.api_key_env");
    }
  }
  return std::nullopt;
}

}  // namespace

void RegisterAgentRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("POST", "/api/v1/agents", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                store::Agent agent;
                agent.id = NewId("agt");
                agent.workspace_id = p.workspace_id;
                agent.created_by = p.key_id;
                agent.created_at = agent.updated_at = ctx->clock->NowMicros();
                std::string issued;
                if (auto e = ApplyAgentBody(*body, true, false, &agent, &issued)) {
                  return BodyErrorResponse(*e);
                }
                if (auto refused = RefuseTarget(*ctx, p, "", agent)) return *refused;
                if (auto s = ctx->store->CreateAgent(agent); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                // TODO(issue 17): dropped when this write goes through catalog::Catalog.
                ctx->ingestor->UpsertAgent(agent);
                return WithIssued(201, agent, issued);
              }));

  router->Add("GET", "/api/v1/agents", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                int limit = 0;
                std::optional<int64_t> before;
                if (auto e = ReadPageParams(r, &limit, &before)) return *e;
                auto agents = ctx->store->ListAgents(p.workspace_id);
                if (!agents) return http::ErrorResponse(agents.error());
                auto page = PageInMemory(std::move(*agents), limit, before);
                boost::json::array data;
                for (const auto& agent : page.items) data.push_back(AgentJson(agent));
                return PageJson(std::move(data), page.next_cursor);
              }));

  router->Add("GET", "/api/v1/agents/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = ctx->store->GetAgent(p.workspace_id, r.path_params["id"]);
                if (!agent) return http::ErrorResponse(agent.error());
                return Json(200, AgentJson(*agent));
              }));

  auto update = [ctx](bool rotate) {
    return Authed(ctx, [ctx, rotate](const Principal& p, http::Request& r) {
      auto agent = AgentToChange(ctx, p, r.path_params["id"]);
      if (!agent) return http::ErrorResponse(agent.error());
      if (auto e = RefuseManaged(*ctx, "agent", agent->name, agent->managed_by)) return *e;
      boost::json::object body;
      if (!rotate || !r.body.empty()) {
        auto parsed = ParseObject(r);
        if (!parsed) return http::ErrorResponse(parsed.error());
        body = std::move(*parsed);
      }
      if (rotate) {
        if (auto unknown = FirstUnknownField(body, {})) return UnknownFieldResponse(*unknown);
      }
      std::string issued;
      const std::string target_before = agent->target_json;
      if (auto e = ApplyAgentBody(body, false, rotate, &*agent, &issued)) {
        return BodyErrorResponse(*e);
      }
      if (auto refused = RefuseTarget(*ctx, p, target_before, *agent)) return *refused;
      if (rotate && issued.empty()) {
        return http::ErrorResponse(Status::InvalidArgument(
            "only agents with an http target have a signing secret", "nothing_to_rotate"));
      }
      agent->updated_at = ctx->clock->NowMicros();
      if (auto s = ctx->store->UpdateAgent(*agent); !s.ok()) return http::ErrorResponse(s);
      // The dispatcher caches targets (and their secrets) per agent.
      if (ctx->dispatcher != nullptr) ctx->dispatcher->ForgetAgent(agent->id);
      // TODO(issue 17): dropped when this write goes through catalog::Catalog.
      ctx->ingestor->UpsertAgent(*agent);
      return WithIssued(200, *agent, issued);
    });
  };
  router->Add("PATCH", "/api/v1/agents/{id}", update(false));
  // A new signing secret for an http agent, shown once; the old one stops at once.
  router->Add("POST", "/api/v1/agents/{id}/rotate", update(true));

  router->Add("DELETE", "/api/v1/agents/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = AgentToChange(ctx, p, r.path_params["id"]);
                if (!agent) return http::ErrorResponse(agent.error());
                if (auto e = RefuseManaged(*ctx, "agent", agent->name, agent->managed_by)) {
                  return *e;
                }
                if (auto s = ctx->store->DeleteAgent(p.workspace_id, agent->id); !s.ok()) {
                  if (s.type() == ErrorType::kConflict) {
                    return http::ErrorResponse(Status::Conflict(
                        "triggers still use this agent: delete them or point them at another "
                        "agent first",
                        "agent_in_use"));
                  }
                  return http::ErrorResponse(s);
                }
                if (ctx->dispatcher != nullptr) ctx->dispatcher->ForgetAgent(agent->id);
                // TODO(issue 17): dropped when this write goes through catalog::Catalog.
                ctx->ingestor->RemoveAgent(agent->id);
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api
