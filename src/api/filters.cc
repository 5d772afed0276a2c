// /api/v1/filters/check and /api/v1/filters/eval: the filter language over HTTP, for editors and
// dry runs. Any authenticated key may call them; they read nothing from the store.
#include "api/internal.h"
#include "filter/filter.h"
#include "verify/catalog.h"
#include "verify/verify.h"

namespace triggerd::api {
namespace {

boost::json::object ErrorJson(const filter::CompileError& error) {
  return {{"message", error.ToString()}, {"line", error.line}, {"column", error.column}};
}

// Reads `filter` (a string; null or absent means the empty filter, which matches everything).
Result<std::string> FilterText(const boost::json::object& body) {
  return StringField(body, "filter", std::string());
}

}  // namespace

http::Response InvalidFilterResponse(const filter::CompileError& error) {
  boost::json::object e = ErrorJson(error);
  e["type"] = "invalid_filter";
  return Json(400, {{"error", std::move(e)}});
}

void RegisterFilterRoutes(http::Router* router, ApiContext* ctx) {
  RegisterFilterGenerateRoute(router, ctx);  // filter_generate.cc
  router->Add("POST", "/api/v1/filters/check", Authed(ctx, [](const Principal&, http::Request& r) {
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                if (auto field = FirstUnknownField(*body, {"filter", "kind", "event_types"})) {
                  return UnknownFieldResponse(*field);
                }
                auto text = FilterText(*body);
                if (!text) return http::ErrorResponse(text.error());
                // Optional: the source kind and the trigger's event types the filter is meant
                // for, to warn about fields those events never have.
                auto kind = StringField(*body, "kind", std::string());
                if (!kind) return FieldErrorResponse(kind.error(), "kind");
                if (!kind->empty() && verify::FindProvider(*kind) == nullptr) {
                  return FieldErrorResponse(
                      Status::InvalidArgument("kind must be custom or a provider preset (GET "
                                              "/api/v1/providers lists them)"),
                      "kind");
                }
                auto event_types = StringListField(*body, "event_types");
                if (!event_types) return FieldErrorResponse(event_types.error(), "event_types");
                if (kind->empty() && !event_types->empty()) {
                  return FieldErrorResponse(
                      Status::InvalidArgument("event_types needs kind: event types are a "
                                              "provider's"),
                      "event_types");
                }
                filter::CompileError error;
                auto compiled = filter::Compile(*text, &error);
                if (!compiled) return Json(200, {{"ok", false}, {"error", ErrorJson(error)}});
                boost::json::array warnings;
                for (auto& w : filter::Warnings(*compiled)) warnings.emplace_back(w);
                if (!kind->empty()) {
                  for (auto& w : verify::FilterWarnings(*kind, *event_types,
                                                        filter::ReferencedFields(*compiled))) {
                    warnings.emplace_back(w);
                  }
                } else if (warnings.empty()) {
                  return Json(200, {{"ok", true}});  // the plain answer's shape, kept
                }
                return Json(200, {{"ok", true}, {"warnings", std::move(warnings)}});
              }));

  router->Add("POST", "/api/v1/filters/eval", Authed(ctx, [](const Principal&, http::Request& r) {
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                if (auto s = RejectUnknownFields(*body, {"filter", "payload", "headers",
                                                         "event_type", "source_id"});
                    !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto text = FilterText(*body);
                if (!text) return http::ErrorResponse(text.error());
                const boost::json::value* payload = body->if_contains("payload");
                if (payload == nullptr) {
                  return http::ErrorResponse(Status::InvalidArgument("payload is required"));
                }
                Headers headers;
                if (const auto* h = body->if_contains("headers"); h && !h->is_null()) {
                  if (!h->is_object()) {
                    return http::ErrorResponse(
                        Status::InvalidArgument("headers must be an object of strings"));
                  }
                  for (const auto& [name, value] : h->as_object()) {
                    if (!value.is_string()) {
                      return http::ErrorResponse(
                          Status::InvalidArgument("headers must be an object of strings"));
                    }
                    headers.push_back({std::string(name), std::string(value.as_string())});
                  }
                }
                auto event_type = StringField(*body, "event_type", std::string());
                if (!event_type) return http::ErrorResponse(event_type.error());
                auto source_id = StringField(*body, "source_id", std::string());
                if (!source_id) return http::ErrorResponse(source_id.error());
                filter::CompileError error;
                auto compiled = filter::Compile(*text, &error);
                if (!compiled) return InvalidFilterResponse(error);
                // On the blocking pool (Authed), within the evaluation budget: an evaluation
                // too expensive for this payload is 422 filter_budget_exceeded.
                filter::EvalContext context{*payload, &headers, *event_type, *source_id};
                Result<boost::json::value> explanation = filter::Explain(*compiled, context);
                if (!explanation) return http::ErrorResponse(explanation.error());
                const bool result = explanation->at("result").as_bool();
                return Json(200, {{"result", result}, {"explanation", std::move(*explanation)}});
              }));
}

}  // namespace triggerd::api
