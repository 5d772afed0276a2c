// /api/v1/agents: what a run talks to (an http endpoint, a command, an LLM). Builders and admins
// create agents and every role of the workspace reads them (a builder binds triggers only to its
// own agents, an admin to any: triggers.cc), credentials excepted: an http target's header values and URL password are shown
// redacted to everyone; only the agent's creator or an admin changes or deletes it. Command
// targets and llm api_key_env values are the operator's to allow (ApiContext::AgentTargets).
#include <algorithm>

#include "api/internal.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "dispatch/target.h"

namespace triggerd::api {
namespace {

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

}  // namespace

Status RequireAgentOwner(const Principal& p, const store::Agent& agent) {
  TRIGGERD_RETURN_IF_ERROR(RequireRole(p, store::Role::kBuilder));
  if (!CanSee(p, agent.created_by)) {
    return Status::PermissionDenied("only the agent's creator or an admin can change it",
                                    "not_owner");
  }
  return Status::Ok();
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
                if (auto s = ctx->catalog->CreateAgent(agent); !s.ok()) {
                  return http::ErrorResponse(s);
                }
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
      if (auto s = ctx->catalog->UpdateAgent(*agent); !s.ok()) return http::ErrorResponse(s);
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
                if (auto s = ctx->catalog->DeleteAgent(p.workspace_id, agent->id); !s.ok()) {
                  if (s.type() == ErrorType::kConflict) {
                    return http::ErrorResponse(Status::Conflict(
                        "triggers still use this agent: delete them or point them at another "
                        "agent first",
                        "agent_in_use"));
                  }
                  return http::ErrorResponse(s);
                }
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api
