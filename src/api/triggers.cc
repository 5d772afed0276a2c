// /api/v1/triggers: bind a source to an agent with an optional filter. Triggers are personal:
// builders and admins create them on any source of the workspace, bound to an agent they own
// (admins: any agent; RequireAgentOwner, so an agent's runs always belong to someone who can see
// and delete the agent); a non-admin sees and manages only the triggers it created (another's
// trigger is answered like an unknown id), admins all.
// Every change is pushed to the ingest cache at once, so the next webhook sees it.
#include "api/internal.h"
#include "common/ids.h"
#include "common/json_parse.h"
#include "dispatch/dispatch.h"
#include "filter/filter.h"
#include "verify/catalog.h"

namespace triggerd::api {
namespace {

boost::json::object TriggerJson(const store::Trigger& trigger) {
  boost::json::object o;
  o["id"] = trigger.id;
  o["source_id"] = trigger.source_id;
  o["agent_id"] = trigger.agent_id;
  o["name"] = trigger.name;
  o["filter"] =
      trigger.filter.empty() ? boost::json::value(nullptr) : boost::json::value(trigger.filter);
  o["event_types"] = boost::json::array(trigger.event_types.begin(), trigger.event_types.end());
  o["include_payload"] = trigger.include_payload;
  o["enabled"] = trigger.enabled;
  o["created_by"] = trigger.created_by;
  o["created_at"] = Time(trigger.created_at);
  o["updated_at"] = Time(trigger.updated_at);
  o["managed_by"] = ManagedByJson(trigger.managed_by);
  return o;
}

// The trigger when the principal may see it. Unknown, of another workspace, or another
// non-admin's: the same 404, so ids of others' triggers cannot be probed.
Result<store::Trigger> VisibleTrigger(ApiContext* ctx, const Principal& p, const std::string& id) {
  auto trigger = ctx->store->GetTrigger(p.workspace_id, id);
  if (trigger && CanSee(p, trigger->created_by)) return trigger;
  if (!trigger && trigger.error().type() != ErrorType::kNotFound) return trigger.error();
  return Status::NotFound("no trigger \"" + id.substr(0, 100) + "\"");
}

std::optional<http::Response> CheckReference(const Status& found, std::string_view field,
                                             std::string_view what, const std::string& id) {
  if (auto e = CheckReferenceError(found, field, what, id)) return BodyErrorResponse(*e);
  return std::nullopt;
}

// The trigger as saved, plus `warnings`: fields its filter reads that the source's provider
// never sends for the subscribed event types (a likely typo; saved anyway, never an error).
boost::json::object SavedTriggerJson(ApiContext* ctx, const store::Trigger& trigger) {
  boost::json::object out = TriggerJson(trigger);
  boost::json::array warnings;
  auto source = ctx->store->GetSource(trigger.workspace_id, trigger.source_id);
  auto compiled = filter::Compile(trigger.filter);
  if (compiled) {
    for (auto& warning : filter::Warnings(*compiled)) warnings.emplace_back(std::move(warning));
  }
  if (source && compiled) {
    for (auto& warning : verify::FilterWarnings(source->kind, trigger.event_types,
                                                filter::ReferencedFields(*compiled))) {
      warnings.emplace_back(std::move(warning));
    }
  }
  out["warnings"] = std::move(warnings);
  return out;
}

// 403 not_owner unless the principal may bind a trigger to the trigger's agent: its creator or an
// admin (RequireAgentOwner). Checked when a trigger is created and when its agent_id changes; a
// binding left as it was passes. An agent that vanished since ApplyTriggerBody checked it is
// answered as an unknown reference.
std::optional<http::Response> RefuseForeignAgent(ApiContext* ctx, const Principal& p,
                                                 const store::Trigger& trigger) {
  auto agent = ctx->store->GetAgent(p.workspace_id, trigger.agent_id);
  if (!agent) {
    if (auto e = CheckReference(agent.error(), "agent_id", "agent", trigger.agent_id)) return e;
    return http::ErrorResponse(agent.error());
  }
  if (auto s = RequireAgentOwner(p, *agent); !s.ok()) {
    if (s.code() == "not_owner") {
      s = Status::PermissionDenied(
          "agent \"" + agent->name.substr(0, 200) +
              "\" belongs to another builder: a trigger may use only an agent you created "
              "(an admin may use any)",
          "not_owner");
    }
    return FieldErrorResponse(s, "agent_id");
  }
  return std::nullopt;
}

bool Subscribed(const store::Trigger& trigger, std::string_view event_type) {
  if (trigger.event_types.empty()) return true;
  for (const auto& type : trigger.event_types) {
    if (type == event_type) return true;
  }
  return false;
}

// POST /api/v1/triggers/{id}/test: what ingest would decide for this trigger and an event, with
// the filter's explanation. Writes nothing and starts nothing. `matched` is true exactly when
// ingest would record "matched" and start a run; `filter_matched` is the filter alone.
http::Response TestTrigger(ApiContext* ctx, const Principal& p, const store::Trigger& trigger,
                           const boost::json::object& body) {
  if (auto unknown = FirstUnknownField(body, {"payload", "headers", "event_type", "event_id"})) {
    return UnknownFieldResponse(*unknown);
  }
  boost::json::value payload;
  Headers headers;
  std::string event_type;
  if (const auto* event_id = body.if_contains("event_id"); event_id && !event_id->is_null()) {
    for (std::string_view other : {"payload", "headers", "event_type"}) {
      if (body.contains(other)) {
        return FieldErrorResponse(
            Status::InvalidArgument("send either event_id or payload (with headers and "
                                    "event_type), not both"),
            other);
      }
    }
    if (!event_id->is_string()) {
      return FieldErrorResponse(Status::InvalidArgument("event_id must be a string"), "event_id");
    }
    std::string id(event_id->as_string());
    auto event = ctx->store->GetEvent(p.workspace_id, id);
    if (auto e = CheckReference(event.status(), "event_id", "event", id)) return *e;
    boost::system::error_code ec;
    payload = ParseJson(dispatch::EventPayload(*event), ec);
    if (ec) payload = nullptr;
    headers = event->headers;  // as stored: redacted
    event_type = event->event_type;
  } else {
    const boost::json::value* given = body.if_contains("payload");
    if (given == nullptr) {
      return FieldErrorResponse(Status::InvalidArgument("payload or event_id is required"),
                                "payload");
    }
    payload = *given;
    if (const auto* h = body.if_contains("headers"); h && !h->is_null()) {
      if (!h->is_object()) {
        return FieldErrorResponse(Status::InvalidArgument("headers must be an object of strings"),
                                  "headers");
      }
      for (const auto& [name, value] : h->as_object()) {
        if (!value.is_string()) {
          return FieldErrorResponse(Status::InvalidArgument("headers must be an object of strings"),
                                    "headers");
        }
        headers.push_back({std::string(name), std::string(value.as_string())});
      }
    }
    auto type = StringField(body, "event_type", std::string());
    if (!type) return FieldErrorResponse(type.error(), "event_type");
    event_type = *type;
  }

  const bool subscribed = Subscribed(trigger, event_type);
  boost::json::object out;
  filter::CompileError error;
  auto compiled = filter::Compile(trigger.filter, &error);
  bool filter_matched = false;
  bool evaluation_failed = false;
  if (!compiled) {
    // Refused when saved, but a filter stored by an older version may no longer compile.
    out["explanation"] = nullptr;
    out["filter_error"] = {
        {"message", error.ToString()}, {"line", error.line}, {"column", error.column}};
  } else {
    filter::EvalContext context{payload, &headers, event_type, trigger.source_id};
    Result<boost::json::value> explanation = filter::Explain(*compiled, context);
    if (explanation) {
      filter_matched = explanation->at("result").as_bool();
      out["explanation"] = std::move(*explanation);
    } else {
      // Over the evaluation budget: at ingest, this trigger's filter_error.
      evaluation_failed = true;
      out["explanation"] = nullptr;
      out["filter_error"] = {{"type", explanation.error().code()},
                             {"message", explanation.error().message()}};
    }
  }
  out["filter_matched"] = filter_matched;
  // The same order of decisions as ingest::Ingestor::EvaluateTriggers.
  store::MatchOutcome outcome = !trigger.enabled ? store::MatchOutcome::kDisabled
                                : !subscribed    ? store::MatchOutcome::kIgnored
                                : !compiled || evaluation_failed
                                    ? store::MatchOutcome::kFilterError
                                : filter_matched ? store::MatchOutcome::kMatched
                                                 : store::MatchOutcome::kIgnored;
  out["matched"] = outcome == store::MatchOutcome::kMatched;
  out["outcome"] = store::MatchOutcomeName(outcome);
  out["event_type"] =
      event_type.empty() ? boost::json::value(nullptr) : boost::json::value(event_type);
  out["event_type_subscribed"] = subscribed;
  out["enabled"] = trigger.enabled;
  return Json(200, out);
}

}  // namespace

boost::json::object MatchJson(const store::Match& match) {
  boost::json::object o;
  o["event_id"] = match.event_id;
  o["trigger_id"] = match.trigger_id;
  o["outcome"] = store::MatchOutcomeName(match.outcome);
  o["run_id"] =
      match.run_id.empty() ? boost::json::value(nullptr) : boost::json::value(match.run_id);
  o["message"] = match.message;
  // api.md: a trigger skipped by its event-type subscription is "ignored" with reason
  // "event_type"; every other record has no reason beyond its outcome (null).
  o["reason"] =
      match.reason.empty() ? boost::json::value(nullptr) : boost::json::value(match.reason);
  o["evaluated_at"] = Time(match.evaluated_at);
  o["replay"] = match.replay;
  return o;
}

Result<std::set<std::string>> OwnTriggerIds(ApiContext* ctx, const Principal& p,
                                            std::string_view source_id) {
  auto triggers = ctx->store->ListTriggers(p.workspace_id, source_id, "");
  if (!triggers) return triggers.error();
  std::set<std::string> own;
  for (const auto& trigger : *triggers) {
    if (trigger.created_by == p.key_id) own.insert(trigger.id);
  }
  return own;
}

void RegisterTriggerRoutes(http::Router* router, ApiContext* ctx) {
  router->Add(
      "POST", "/api/v1/triggers", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
        if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
          return http::ErrorResponse(s);
        }
        auto body = ParseObject(r);
        if (!body) return http::ErrorResponse(body.error());
        store::Trigger trigger;
        trigger.id = NewId("trg");
        trigger.workspace_id = p.workspace_id;
        trigger.created_by = p.key_id;
        trigger.created_at = trigger.updated_at = ctx->clock->NowMicros();
        if (auto e = ApplyTriggerBody(ctx->store, *body, true, &trigger)) {
          return BodyErrorResponse(*e);
        }
        if (auto e = RefuseForeignAgent(ctx, p, trigger)) return *e;
        if (auto s = ctx->catalog->CreateTrigger(trigger); !s.ok()) {
          // kNotFound: the source or agent was deleted since it was checked.
          if (s.type() == ErrorType::kNotFound) {
            return http::ErrorResponse(Status::InvalidArgument(s.message(), "unknown_reference"));
          }
          return http::ErrorResponse(s);
        }
        return Json(201, SavedTriggerJson(ctx, trigger));
      }));

  router->Add("GET", "/api/v1/triggers", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                int limit = 0;
                std::optional<int64_t> before;
                if (auto e = ReadPageParams(r, &limit, &before)) return *e;
                auto triggers = ctx->store->ListTriggers(
                    p.workspace_id, r.query_params["source_id"], r.query_params["agent_id"]);
                if (!triggers) return http::ErrorResponse(triggers.error());
                // Paged after the visibility filter, so positions count only what the key sees.
                std::erase_if(*triggers, [&p](const store::Trigger& trigger) {
                  return !CanSee(p, trigger.created_by);
                });
                auto page = PageInMemory(std::move(*triggers), limit, before);
                boost::json::array data;
                for (const auto& trigger : page.items) data.push_back(TriggerJson(trigger));
                return PageJson(std::move(data), page.next_cursor);
              }));

  router->Add("GET", "/api/v1/triggers/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                return Json(200, TriggerJson(*trigger));
              }));

  router->Add("PATCH", "/api/v1/triggers/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                if (auto e = RefuseManaged(*ctx, "trigger", trigger->name, trigger->managed_by)) {
                  return *e;
                }
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                const std::string agent_before = trigger->agent_id;
                if (auto e = ApplyTriggerBody(ctx->store, *body, false, &*trigger)) {
                  return BodyErrorResponse(*e);
                }
                if (trigger->agent_id != agent_before) {
                  if (auto e = RefuseForeignAgent(ctx, p, *trigger)) return *e;
                }
                trigger->updated_at = ctx->clock->NowMicros();
                if (auto s = ctx->catalog->UpdateTrigger(*trigger); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return Json(200, SavedTriggerJson(ctx, *trigger));
              }));

  router->Add("DELETE", "/api/v1/triggers/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                if (auto e = RefuseManaged(*ctx, "trigger", trigger->name, trigger->managed_by)) {
                  return *e;
                }
                if (auto s = ctx->catalog->DeleteTrigger(p.workspace_id, trigger->id); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return http::Response{204, {}, "", ""};
              }));

  router->Add("POST", "/api/v1/triggers/{id}/test",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                return TestTrigger(ctx, p, *trigger, *body);
              }));

  router->Add("GET", "/api/v1/triggers/{id}/matches",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                store::MatchQuery query;
                query.workspace_id = p.workspace_id;
                query.trigger_id = trigger->id;
                if (const std::string& outcome = r.query_params["outcome"]; !outcome.empty()) {
                  query.outcome = store::ParseMatchOutcome(outcome);
                  if (!query.outcome) {
                    return FieldErrorResponse(
                        Status::InvalidArgument(
                            "outcome must be one of matched, ignored, disabled, filter_error"),
                        "outcome");
                  }
                }
                if (auto e = ReadPageParams(r, &query.limit, &query.before_seq)) return *e;
                auto page = ctx->store->ListTriggerMatches(query);
                if (!page) return http::ErrorResponse(page.error());
                boost::json::array data;
                for (const auto& match : page->items) data.push_back(MatchJson(match));
                return PageJson(std::move(data), page->next_cursor);
              }));
}

}  // namespace triggerd::api
