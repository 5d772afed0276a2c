// The one path by which the compatibility surfaces start runs: an ordinary event appended with
// its outbox (one match record, one run), exactly what ingest writes for a matched trigger. The
// dispatcher is woken by the store's runs-queued listener like for any other append.
#include "api/compat/compat.h"
#include "common/ids.h"

namespace triggerd::api::compat {

void RegisterCompatRoutes(http::Router* router, ApiContext* context) {
  RegisterAgentWebhookRoutes(router, context);
  RegisterDaguWebhookRoutes(router, context);
  RegisterStackAiTriggerRoutes(router, context);
}

void StartDirectRun(ApiContext* ctx, DirectRunRequest request,
                    std::function<void(Result<DirectRunOutcome>)> done) {
  const store::AgentWebhook& webhook = *request.webhook;
  http::Request& http_request = *request.request;
  const int64_t now = ctx->clock->NowMicros();

  store::NewEvent event;
  event.id = NewTimeOrderedId("evt", now);
  event.workspace_id = webhook.workspace_id;
  event.source_id = webhook.id;
  event.received_at = now;
  auto content_type = FindHeader(http_request.headers, "Content-Type");
  event.content_type = content_type ? std::string(*content_type) : "application/json";
  event.event_type = request.event_type;
  event.delivery_id = request.delivery_id;
  event.headers = ingest::RedactHeaders(http_request.headers, "");
  event.body = std::move(http_request.body);
  event.payload_json = std::move(request.payload_json);
  event.remote_addr = http_request.remote_ip;
  event.verification = request.verification;

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
  match.message = "direct " + request.event_type;
  match.evaluated_at = now;

  DirectRunOutcome outcome{event.id, run.id, false};
  event.matches.push_back(std::move(match));
  event.runs.push_back(std::move(run));
  ctx->store->AppendEvent(
      std::move(event), [outcome = std::move(outcome), done = std::move(done)](
                            Result<store::AppendOutcome> appended) mutable {
        if (!appended) {
          done(appended.error());
          return;
        }
        if (appended->duplicate) {
          outcome.event_id = appended->event_id;
          outcome.run_id.clear();
          outcome.duplicate = true;
        }
        done(std::move(outcome));
      });
}

}  // namespace triggerd::api::compat
