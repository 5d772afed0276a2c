// /api/v1/events: the durable log, newest first, with its headers (redacted), payload and match
// records; and replay, which evaluates an event against its source's triggers again.
#include "api/internal.h"
#include "common/json_parse.h"
#include "dispatch/dispatch.h"

namespace triggerd::api {
namespace {

// An event as lists show it: no headers, no payload (the store read neither).
boost::json::object SummaryJson(const store::EventSummary& event) {
  boost::json::object o;
  o["id"] = event.id;
  o["source_id"] = event.source_id;
  o["received_at"] = Time(event.received_at);
  o["status"] = event.status;
  o["content_type"] = event.content_type;
  o["event_type"] =
      event.event_type.empty() ? boost::json::value(nullptr) : boost::json::value(event.event_type);
  o["delivery_id"] = event.delivery_id.empty() ? boost::json::value(nullptr)
                                               : boost::json::value(event.delivery_id);
  o["verification"] = event.verification;
  o["remote_addr"] = event.remote_addr;
  o["body_bytes"] = event.body_bytes;
  return o;
}

// The whole event, but its payload (see EventDetail).
boost::json::object EventJson(const store::Event& event) {
  boost::json::object o = SummaryJson(store::SummaryOf(event));
  {
    boost::json::object headers;
    for (const auto& h : event.headers) {
      // Repeated headers are joined as HTTP allows; names keep the case they arrived in.
      auto it = headers.find(h.name);
      if (it == headers.end()) {
        headers[h.name] = h.value;
      } else {
        std::string joined(it->value().as_string());
        joined += ", " + h.value;
        it->value() = joined;
      }
    }
    o["headers"] = std::move(headers);
    // "payload" is spliced in by EventDetail, as the sender's own text.
    // Retention emptied the body (store::PurgeRequest): say so rather than let null look like
    // what was sent.
    if (event.payload_json == "null") o["body_purged"] = true;
  }
  return o;
}

// The event's answer with its payload as the sender's own JSON text, like the agent's message
// (dispatch/message.cc): numbers keep their exact spelling (a 20-digit id, 0.10, 1e400 do not
// come back as doubles). Ingest stored only valid JSON; anything else shows as null.
http::Response EventDetail(const store::Event& event, const boost::json::object& shown) {
  const std::string& payload = event.payload_json.empty() ? event.body : event.payload_json;
  boost::system::error_code ec;
  (void)ParseJson(payload, ec);
  std::string text = SerializeJson(shown);
  text.pop_back();  // '}' (shown has members: it is never "{}")
  text += ",\"payload\":";
  text += ec ? std::string_view("null") : std::string_view(payload);
  text += '}';
  return http::JsonResponse(200, std::move(text));
}

// Non-admins see only the records of their own triggers (see OwnTriggerIds).
Result<std::vector<store::Match>> VisibleMatches(ApiContext* ctx, const Principal& p,
                                                 std::string_view source_id,
                                                 std::vector<store::Match> matches) {
  if (p.role == store::Role::kAdmin || matches.empty()) return matches;
  auto own = OwnTriggerIds(ctx, p, source_id);
  if (!own) return own.error();
  std::vector<store::Match> shown;
  for (auto& match : matches) {
    if (own->count(match.trigger_id) > 0) shown.push_back(std::move(match));
  }
  return shown;
}

// POST /api/v1/events/{id}/replay [{"trigger_ids": [...]}]: the event's source's triggers, as they
// are now, evaluated again; the matched ones start new runs. Records are marked replay=true and
// written with their runs in one durable transaction. A builder replays only to the triggers it
// owns (running another builder's agents on its behalf would bypass personal triggers); admins
// replay to all. trigger_ids narrows further.
http::Response Replay(ApiContext* ctx, const Principal& p, http::Request& r) {
  auto event = ctx->store->GetEvent(p.workspace_id, r.path_params["id"]);
  if (!event) return http::ErrorResponse(event.error());
  if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) return http::ErrorResponse(s);
  std::optional<std::set<std::string>> only;  // trigger_ids, when given
  if (!r.body.empty()) {
    auto body = ParseObject(r);
    if (!body) return http::ErrorResponse(body.error());
    if (auto unknown = FirstUnknownField(*body, {"trigger_ids"})) {
      return UnknownFieldResponse(*unknown);
    }
    if (body->contains("trigger_ids") && !body->at("trigger_ids").is_null()) {
      auto ids = StringListField(*body, "trigger_ids");
      if (!ids) return FieldErrorResponse(ids.error(), "trigger_ids");
      only.emplace(ids->begin(), ids->end());
    }
  }
  boost::system::error_code ec;
  boost::json::value payload = ParseJson(dispatch::EventPayload(*event), ec);
  if (ec) payload = nullptr;
  ingest::EventToMatch to_match;
  to_match.workspace_id = event->workspace_id;
  to_match.source_id = event->source_id;
  to_match.event_id = event->id;
  to_match.event_type = event->event_type;
  to_match.payload = &payload;
  to_match.headers = &event->headers;
  ingest::Evaluation evaluation =
      ctx->ingestor->EvaluateTriggers(to_match, ctx->clock->NowMicros(), /*replay=*/true);

  std::optional<std::set<std::string>> own;
  if (p.role != store::Role::kAdmin) {
    auto ids = OwnTriggerIds(ctx, p, event->source_id);
    if (!ids) return http::ErrorResponse(ids.error());
    own = std::move(*ids);
  }
  auto keep = [&](const std::string& trigger_id) {
    return (!own || own->count(trigger_id) > 0) && (!only || only->count(trigger_id) > 0);
  };
  std::vector<store::Match> matches;
  for (auto& match : evaluation.matches) {
    if (keep(match.trigger_id)) matches.push_back(std::move(match));
  }
  std::vector<store::NewRun> runs;
  for (auto& run : evaluation.runs) {
    if (keep(run.trigger_id)) runs.push_back(std::move(run));
  }

  boost::json::array runs_json;
  for (const auto& run : runs) {
    runs_json.push_back({{"trigger_id", run.trigger_id}, {"run_id", run.id}});
  }
  boost::json::array matches_json;
  for (const auto& match : matches) matches_json.push_back(MatchJson(match));
  const bool started = !runs.empty();
  if (!matches.empty() || started) {
    if (auto s = ctx->store->AppendMatches(p.workspace_id, event->id, std::move(matches),
                                           std::move(runs));
        !s.ok()) {
      return http::ErrorResponse(s);
    }
  }
  // The store's runs-queued listener wakes the dispatcher too; this is belt and braces.
  if (started && ctx->dispatcher != nullptr) ctx->dispatcher->Wake();
  return Json(200, {{"event_id", event->id},
                    {"runs", std::move(runs_json)},
                    {"matches", std::move(matches_json)}});
}

}  // namespace

void RegisterEventRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("GET", "/api/v1/events", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                store::EventQuery query;
                query.workspace_id = p.workspace_id;
                query.source_id = r.query_params["source_id"];
                // Every event is "received" (store::Event::status); another value would match
                // nothing and look like an empty log, so it is refused like runs' statuses.
                query.status = r.query_params["status"];
                if (!query.status.empty() && query.status != "received") {
                  return FieldErrorResponse(
                      Status::InvalidArgument("status must be one of received"), "status");
                }
                auto since = TimeParam(r, "since");
                if (!since) return FieldErrorResponse(since.error(), "since");
                auto until = TimeParam(r, "until");
                if (!until) return FieldErrorResponse(until.error(), "until");
                query.since = *since;
                query.until = *until;
                if (auto e = ReadPageParams(r, &query.limit, &query.before_seq)) return *e;
                auto page = ctx->store->ListEvents(query);
                if (!page) return http::ErrorResponse(page.error());
                boost::json::array data;
                for (const auto& event : page->items) data.push_back(SummaryJson(event));
                return PageJson(std::move(data), page->next_cursor);
              }));

  router->Add("GET", "/api/v1/events/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto event = ctx->store->GetEvent(p.workspace_id, r.path_params["id"]);
                if (!event) return http::ErrorResponse(event.error());
                auto matches = ctx->store->ListEventMatches(p.workspace_id, event->id);
                if (!matches) return http::ErrorResponse(matches.error());
                auto shown = VisibleMatches(ctx, p, event->source_id, std::move(*matches));
                if (!shown) return http::ErrorResponse(shown.error());
                boost::json::object out = EventJson(*event);
                boost::json::array data;
                for (const auto& match : *shown) data.push_back(MatchJson(match));
                out["matches"] = std::move(data);
                return EventDetail(*event, out);
              }));

  router->Add(
      "POST", "/api/v1/events/{id}/replay",
      Authed(ctx, [ctx](const Principal& p, http::Request& r) { return Replay(ctx, p, r); }));
}

}  // namespace triggerd::api
