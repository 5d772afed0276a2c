// /api/v1/providers: the provider presets a source's `kind` can name, how each verifies, where
// it puts the event type and delivery id, its event types with sample payloads and light
// schemas (verify/catalog.h). Any authenticated key may read them; nothing comes from the store.
#include <map>

#include "api/internal.h"
#include "verify/catalog.h"
#include "verify/verify.h"

namespace triggerd::api {
namespace {

boost::json::value Str(std::string_view s) {
  if (s.empty()) return nullptr;
  return boost::json::string(s);
}

boost::json::value FieldRefJson(const verify::FieldRef& ref) {
  if (ref.source == verify::FieldSource::kNone) return nullptr;
  boost::json::object o;
  o["source"] = ref.source == verify::FieldSource::kHeader ? "header" : "body";
  o["name"] = ref.name;
  if (!ref.alt_name.empty()) o["alt_name"] = ref.alt_name;
  return o;
}

boost::json::object VerificationJson(const verify::ProviderCatalog& p) {
  const verify::VerificationInfo& v = p.verification;
  boost::json::array headers;
  for (std::string_view h : v.headers) {
    if (!h.empty()) headers.emplace_back(h);
  }
  const int64_t tolerance = verify::DefaultToleranceSeconds(p.kind).value_or(0);
  boost::json::object o;
  o["headers"] = std::move(headers);
  o["algorithm"] = v.algorithm;
  o["encoding"] = Str(v.encoding);
  o["prefix"] = Str(v.prefix);
  o["signed_content"] = v.signed_content;
  o["timestamp"] = Str(v.timestamp);
  o["timestamp_tolerance_seconds"] = tolerance > 0 ? boost::json::value(tolerance) : nullptr;
  o["several_signatures"] = v.several_signatures;
  o["secret"] = v.secret;
  return o;
}

// JSON text the catalog embeds; it parses (catalog_test), so a failure here is a bug: null.
boost::json::value ParseEmbedded(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return ec ? boost::json::value(nullptr) : v;
}

boost::json::value SchemaJson(std::string_view kind, std::string_view event_type) {
  const verify::EventSchema* schema = verify::FindSchema(kind, event_type);
  if (schema == nullptr) return nullptr;
  boost::json::array fields;
  for (const auto& f : schema->fields()) {
    boost::json::array kinds;
    std::string_view rest = f.kinds;
    while (!rest.empty()) {
      const size_t bar = rest.find('|');
      kinds.emplace_back(rest.substr(0, bar));
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    fields.push_back(boost::json::object{{"path", f.path}, {"kinds", std::move(kinds)}});
  }
  boost::json::array open(schema->open().begin(), schema->open().end());
  return boost::json::object{{"fields", std::move(fields)}, {"open", std::move(open)}};
}

// One provider; `detail` adds each event type's sample and schema and the handshake's sample.
boost::json::object ProviderJson(const verify::ProviderCatalog& p, bool detail) {
  const verify::ProviderInfo* info = verify::FindProvider(p.kind);
  boost::json::object o;
  o["kind"] = p.kind;
  o["display_name"] = info != nullptr ? info->display_name : p.kind;
  o["verification"] = VerificationJson(p);
  o["event_type"] = info != nullptr ? FieldRefJson(info->event_type) : nullptr;
  o["delivery_id"] = info != nullptr ? FieldRefJson(info->delivery_id) : nullptr;
  if (p.handshake != nullptr) {
    boost::json::object h{{"name", p.handshake->name},
                          {"description", p.handshake->description},
                          {"signed_by_provider", p.handshake->signed_by_provider}};
    if (detail) h["sample"] = ParseEmbedded(p.handshake->sample);
    o["handshake"] = std::move(h);
  } else {
    o["handshake"] = nullptr;
  }
  o["samples"] =
      boost::json::object{{"illustrative", p.illustrative}, {"origin", p.samples_origin}};
  o["notes"] = Str(p.notes);
  boost::json::array events;
  for (const auto& e : p.event_types) {
    boost::json::object event{
        {"name", e.name}, {"description", e.description}, {"has_schema", !e.schema_json.empty()}};
    if (detail) {
      event["sample"] = ParseEmbedded(e.sample);
      event["schema"] = SchemaJson(p.kind, e.name);
    }
    events.push_back(std::move(event));
  }
  o["event_types"] = std::move(events);
  return o;
}

// The answers never change while the process runs: built once, on first request.
const std::string& ListBody() {
  static const std::string body = [] {
    boost::json::array items;
    for (const auto& p : verify::Catalog()) items.push_back(ProviderJson(p, false));
    return boost::json::serialize(
        boost::json::object{{"data", std::move(items)}, {"next_cursor", nullptr}});
  }();
  return body;
}

const std::string* DetailBody(std::string_view kind) {
  static const auto* bodies = [] {
    auto* out = new std::map<std::string, std::string, std::less<>>();
    for (const auto& p : verify::Catalog()) {
      out->emplace(std::string(p.kind), boost::json::serialize(ProviderJson(p, true)));
    }
    return out;
  }();
  auto it = bodies->find(kind);
  return it == bodies->end() ? nullptr : &it->second;
}

}  // namespace

void RegisterProviderRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("GET", "/api/v1/providers", Authed(ctx, [](const Principal&, http::Request&) {
                return http::JsonResponse(200, ListBody());
              }));
  router->Add("GET", "/api/v1/providers/{kind}",
              Authed(ctx, [](const Principal&, http::Request& r) {
                const std::string& kind = r.path_params["kind"];
                const std::string* body = DetailBody(kind);
                if (body == nullptr) {
                  return http::ErrorResponse(Status::NotFound(
                      "no provider preset \"" + kind.substr(0, 100) +
                      "\"; GET /api/v1/providers lists them (custom sources have no catalog)"));
                }
                return http::JsonResponse(200, *body);
              }));
}

}  // namespace triggerd::api
