// /api/v1/runs: one event delivered to one trigger's agent, with its conversation. A run belongs
// to the owner of its trigger (when it was created): non-admins see and act on their own runs
// only (another's is answered like an unknown id), admins on all.
#include "api/internal.h"
#include "dispatch/dispatch.h"

namespace triggerd::api {
namespace {

boost::json::value OptionalTime(const std::optional<int64_t>& t) {
  return t ? boost::json::value(Time(*t)) : boost::json::value(nullptr);
}

boost::json::object RunJson(const store::Run& run) {
  boost::json::object o;
  o["id"] = run.id;
  o["event_id"] = run.event_id;
  o["trigger_id"] = run.trigger_id;
  o["agent_id"] = run.agent_id;
  o["owner"] = run.owner;
  o["status"] = store::RunStatusName(run.status);
  o["attempts"] = run.attempts;
  o["max_attempts"] = run.max_attempts;
  // Only a run waiting for an attempt has a meaningful next attempt.
  const bool waiting =
      run.status == store::RunStatus::kQueued || run.status == store::RunStatus::kRetrying;
  o["next_attempt_at"] = waiting ? boost::json::value(Time(run.next_attempt_at)) : nullptr;
  o["include_payload"] = run.include_payload;
  o["started_at"] = OptionalTime(run.started_at);
  o["finished_at"] = OptionalTime(run.finished_at);
  o["last_error"] =
      run.last_error.empty() ? boost::json::value(nullptr) : boost::json::value(run.last_error);
  o["created_at"] = Time(run.created_at);
  return o;
}

// The run when the principal may see it; otherwise the same 404 as an unknown id.
Result<store::Run> VisibleRun(ApiContext* ctx, const Principal& p, const std::string& id) {
  auto run = ctx->store->GetRun(p.workspace_id, id);
  if (run && CanSee(p, run->owner)) return run;
  if (!run && run.error().type() != ErrorType::kNotFound) return run.error();
  return Status::NotFound("no run \"" + id.substr(0, 100) + "\"");
}

// The run with its messages: first the one it sends (rebuilt from the event, byte for byte what
// the target receives), then what each attempt produced, oldest first.
http::Response RunDetail(ApiContext* ctx, const Principal& p, const store::Run& run) {
  boost::json::object out = RunJson(run);
  boost::json::array messages;
  auto event = ctx->store->GetEvent(p.workspace_id, run.event_id);
  if (event) {
    messages.push_back({{"role", "event"},
                        {"content", dispatch::BuildRunMessage(run, *event)},
                        {"at", Time(run.created_at)}});
  } else if (event.error().type() != ErrorType::kNotFound) {
    return http::ErrorResponse(event.error());
  }
  auto said = ctx->store->ListRunMessages(run.id);
  if (!said) return http::ErrorResponse(said.error());
  for (const auto& message : *said) {
    messages.push_back({{"role", message.role},
                        {"content", message.content},
                        {"at", Time(message.at)},
                        {"attempt", message.attempt}});
  }
  out["messages"] = std::move(messages);
  return Json(200, out);
}

}  // namespace

void RegisterRunRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("GET", "/api/v1/runs", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                store::RunQuery query;
                query.workspace_id = p.workspace_id;
                query.trigger_id = r.query_params["trigger_id"];
                query.agent_id = r.query_params["agent_id"];
                query.event_id = r.query_params["event_id"];
                if (p.role != store::Role::kAdmin) query.owner = p.key_id;
                if (const std::string& status = r.query_params["status"]; !status.empty()) {
                  query.status = store::ParseRunStatus(status);
                  if (!query.status) {
                    return FieldErrorResponse(
                        Status::InvalidArgument("status must be one of queued, running, "
                                                "succeeded, failed, retrying, dead, cancelled"),
                        "status");
                  }
                }
                auto since = TimeParam(r, "since");
                if (!since) return FieldErrorResponse(since.error(), "since");
                auto until = TimeParam(r, "until");
                if (!until) return FieldErrorResponse(until.error(), "until");
                query.since = *since;
                query.until = *until;
                if (auto e = ReadPageParams(r, &query.limit, &query.before_seq)) return *e;
                auto page = ctx->store->ListRuns(query);
                if (!page) return http::ErrorResponse(page.error());
                boost::json::array data;
                for (const auto& run : page->items) data.push_back(RunJson(run));
                return PageJson(std::move(data), page->next_cursor);
              }));

  router->Add("GET", "/api/v1/runs/{id}", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto run = VisibleRun(ctx, p, r.path_params["id"]);
                if (!run) return http::ErrorResponse(run.error());
                return RunDetail(ctx, p, *run);
              }));

  // retry: a failed or dead run is queued again with a fresh budget of attempts; cancel: a queued
  // or retrying run stops. Any other state is 409 (a running attempt cannot be cut short).
  auto transition = [ctx](bool retry) {
    return Authed(ctx, [ctx, retry](const Principal& p, http::Request& r) {
      auto run = VisibleRun(ctx, p, r.path_params["id"]);
      if (!run) return http::ErrorResponse(run.error());
      if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) return http::ErrorResponse(s);
      const int64_t now = ctx->clock->NowMicros();
      Status s = retry ? ctx->store->RetryRun(p.workspace_id, run->id, now)
                       : ctx->store->CancelRun(p.workspace_id, run->id, now);
      if (!s.ok()) {
        if (s.type() == ErrorType::kConflict) {
          // Re-read: the state may have moved since `run` was loaded.
          auto current = ctx->store->GetRun(p.workspace_id, run->id);
          std::string state(store::RunStatusName(current ? current->status : run->status));
          return http::ErrorResponse(Status::Conflict(
              std::string(retry ? "only a failed or dead run can be retried"
                                : "only a queued or retrying run can be cancelled") +
                  "; this run is " + state,
              "invalid_run_state"));
        }
        return http::ErrorResponse(s);
      }
      // The store's runs-queued listener wakes the dispatcher too; this is belt and braces.
      if (retry && ctx->dispatcher != nullptr) ctx->dispatcher->Wake();
      auto updated = ctx->store->GetRun(p.workspace_id, run->id);
      if (!updated) return http::ErrorResponse(updated.error());
      return RunDetail(ctx, p, *updated);
    });
  };
  router->Add("POST", "/api/v1/runs/{id}/retry", transition(true));
  router->Add("POST", "/api/v1/runs/{id}/cancel", transition(false));
}

}  // namespace triggerd::api
