// /api/v1/events: the durable log, newest first, with its headers (redacted) and payload.
#include "api/internal.h"

namespace triggerd::api {
namespace {

boost::json::object EventJson(const store::Event& event, bool full) {
  boost::json::object o;
  o["id"] = event.id;
  o["source_id"] = event.source_id;
  o["received_at"] = Time(event.received_at);
  o["status"] = event.status;
  o["content_type"] = event.content_type;
  o["event_type"] = event.event_type.empty() ? boost::json::value(nullptr)
                                             : boost::json::value(event.event_type);
  o["delivery_id"] = event.delivery_id.empty() ? boost::json::value(nullptr)
                                               : boost::json::value(event.delivery_id);
  o["verification"] = event.verification;
  o["remote_addr"] = event.remote_addr;
  o["body_bytes"] = event.body.size();
  if (full) {
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
    boost::system::error_code ec;
    const std::string& text = event.payload_json.empty() ? event.body : event.payload_json;
    boost::json::value payload = boost::json::parse(text, ec);
    o["payload"] = ec ? boost::json::value(nullptr) : std::move(payload);
    o["matches"] = boost::json::array();
  }
  return o;
}

Result<std::optional<int64_t>> TimeParam(const http::Request& r, const std::string& name) {
  auto it = r.query_params.find(name);
  if (it == r.query_params.end() || it->second.empty()) return std::optional<int64_t>();
  int64_t t = 0;
  if (!ParseRfc3339(it->second, &t)) {
    return Status::InvalidArgument(name + " must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z");
  }
  return std::optional<int64_t>(t);
}

Result<int64_t> PositiveParam(const http::Request& r, const std::string& name, int64_t fallback) {
  auto it = r.query_params.find(name);
  if (it == r.query_params.end() || it->second.empty()) return fallback;
  int64_t v = 0;
  if (it->second.size() > 18) return Status::InvalidArgument(name + " is out of range");
  for (char c : it->second) {
    if (c < '0' || c > '9') return Status::InvalidArgument(name + " must be a positive integer");
    v = v * 10 + (c - '0');
  }
  if (v <= 0) return Status::InvalidArgument(name + " must be a positive integer");
  return v;
}

}  // namespace

void RegisterEventRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("GET", "/api/v1/events", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                store::EventQuery query;
                query.workspace_id = p.workspace_id;
                query.source_id = r.query_params["source_id"];
                query.status = r.query_params["status"];
                auto since = TimeParam(r, "since");
                if (!since) return http::ErrorResponse(since.error());
                auto until = TimeParam(r, "until");
                if (!until) return http::ErrorResponse(until.error());
                query.since = *since;
                query.until = *until;
                auto limit = PositiveParam(r, "limit", 50);
                if (!limit) return http::ErrorResponse(limit.error());
                query.limit = static_cast<int>(std::min<int64_t>(*limit, 500));
                // The cursor is the opaque next_cursor of the previous page.
                if (!r.query_params["cursor"].empty()) {
                  auto cursor = PositiveParam(r, "cursor", 0);
                  if (!cursor) {
                    return http::ErrorResponse(Status::InvalidArgument("cursor is not valid"));
                  }
                  query.before_seq = *cursor;
                }
                auto page = ctx->store->ListEvents(query);
                if (!page) return http::ErrorResponse(page.error());
                boost::json::array data;
                for (const auto& event : page->items) data.push_back(EventJson(event, false));
                boost::json::value next = nullptr;
                if (page->next_cursor) next = std::to_string(*page->next_cursor);
                return Json(200, {{"data", std::move(data)}, {"next_cursor", next}});
              }));

  router->Add("GET", "/api/v1/events/{id}", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto event = ctx->store->GetEvent(p.workspace_id, r.path_params["id"]);
                if (!event) return http::ErrorResponse(event.error());
                return Json(200, EventJson(*event, true));
              }));
}

}  // namespace triggerd::api
