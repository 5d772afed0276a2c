// POST /api/v1/filters/generate: a filter from a description in words, by the chat model the
// operator configured (`llm:`; src/nlfilter does the work). Builders and admins, like creating
// triggers. Nothing is saved: the answer is a proposal the user saves as a normal filter.
//
// What the model sees is chosen here: a provider's shipped samples (verify/catalog.h), or for a
// source without a catalog the bodies of its newest stored events; never a header, a secret or a
// source setting.
//
// The model's turns (up to 2 × llm.timeout_ms) run on ApiContext::run_blocking's pool, like every
// management call, off the io threads that serve webhooks; at most kMaxConcurrentGenerations are
// in flight, the others are answered 429 at once.
#include <atomic>

#include "api/internal.h"
#include "common/json_parse.h"
#include "nlfilter/nlfilter.h"
#include "verify/catalog.h"

namespace triggerd::api {
namespace {

constexpr int kMaxConcurrentGenerations = 4;
// Stored events looked at for a custom source's samples (newest first).
constexpr int kEventsScanned = 50;

std::atomic<int> generations_in_flight{0};

class InFlight {
 public:
  InFlight() : admitted_(generations_in_flight.fetch_add(1) < kMaxConcurrentGenerations) {}
  ~InFlight() { generations_in_flight.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  bool admitted() const { return admitted_; }

 private:
  const bool admitted_;
};

// A sample and where it came from, for the answer.
struct Sample {
  boost::json::value payload;
  std::string event_type;
  boost::json::object origin;  // {"origin": "catalog"|"event", "event_type", "event_id"?}
};

boost::json::object Origin(std::string_view origin, std::string_view event_type) {
  boost::json::object o{{"origin", origin}};
  o["event_type"] =
      event_type.empty() ? boost::json::value(nullptr) : boost::json::string(event_type);
  return o;
}

// The catalog's samples: the event type's, or without one the first kMaxSamples event types'.
std::vector<Sample> CatalogSamples(const verify::ProviderCatalog& catalog,
                                   std::string_view event_type) {
  std::vector<Sample> samples;
  for (const verify::EventTypeInfo& info : catalog.event_types) {
    if (samples.size() == nlfilter::kMaxSamples) break;
    if (!event_type.empty() && info.name != event_type) continue;
    boost::system::error_code ec;
    boost::json::value payload = boost::json::parse(info.sample, ec);
    if (ec) continue;  // catalog_test parses every sample: unreachable
    samples.push_back({std::move(payload), std::string(info.name), Origin("catalog", info.name)});
  }
  return samples;
}

// The newest stored events of the source (of `event_type` when given) whose body is JSON: the
// bodies only, never their headers. The list has no bodies; only the few events that may become
// samples are read whole.
Result<std::vector<Sample>> EventSamples(store::Store* store, const store::Source& source,
                                         std::string_view event_type) {
  store::EventQuery query;
  query.workspace_id = source.workspace_id;
  query.source_id = source.id;
  query.limit = kEventsScanned;
  auto page = store->ListEvents(query);
  if (!page) return page.error();
  std::vector<Sample> samples;
  for (const store::EventSummary& listed : page->items) {
    if (samples.size() == nlfilter::kMaxSamples) break;
    if (!event_type.empty() && listed.event_type != event_type) continue;
    auto event = store->GetEvent(listed.workspace_id, listed.id);
    if (!event) {
      if (event.error().type() == ErrorType::kNotFound) continue;  // purged meanwhile
      return event.error();
    }
    if (event->payload_json == "null") continue;  // body purged by retention
    const std::string& text = event->payload_json.empty() ? event->body : event->payload_json;
    boost::system::error_code ec;
    boost::json::value payload = ParseJson(text, ec);
    if (ec) continue;
    boost::json::object origin = Origin("event", event->event_type);
    origin["event_id"] = event->id;
    samples.push_back({std::move(payload), event->event_type, std::move(origin)});
  }
  return samples;
}

http::Response NotConfigured() {
  return Json(501,
              {{"error",
                {{"type", "llm_not_configured"},
                 {"message",
                  "filter generation needs a chat model: add to the config file\n"
                  "  llm:\n    base_url: https://api.openai.com/v1   # any OpenAI-compatible "
                  "endpoint\n    model: gpt-4o-mini\n    api_key_env: OPENAI_API_KEY   # the "
                  "variable holding the key\nand restart triggerd (README.md, \"Filters from a "
                  "description\")"}}}});
}

// Checks the request and gathers what the model will see into *request and *samples (on the io
// thread: quick). An answer when the request is refused at once; nullopt when the model is to be
// asked.
std::optional<http::Response> Prepare(ApiContext* ctx, const Principal& p, http::Request& r,
                                      nlfilter::Request* out, std::vector<Sample>* out_samples) {
  if (auto s = RequireRole(p, store::Role::kBuilder); !s.ok()) {
    return http::ErrorResponse(s);
  }
  auto body = ParseObject(r);
  if (!body) return http::ErrorResponse(body.error());
  if (auto field =
          FirstUnknownField(*body, {"description", "source_id", "provider", "event_type"})) {
    return UnknownFieldResponse(*field);
  }
  nlfilter::Request request;
  auto description = StringField(*body, "description", std::nullopt);
  if (!description) return FieldErrorResponse(description.error(), "description");
  request.description = std::move(description).value();
  if (Status s = nlfilter::CheckDescription(request.description); !s.ok()) {
    return FieldErrorResponse(s, "description");
  }
  auto source_id = StringField(*body, "source_id", std::string());
  if (!source_id) return FieldErrorResponse(source_id.error(), "source_id");
  auto provider = StringField(*body, "provider", std::string());
  if (!provider) return FieldErrorResponse(provider.error(), "provider");
  auto event_type = StringField(*body, "event_type", std::string());
  if (!event_type) return FieldErrorResponse(event_type.error(), "event_type");
  request.event_type = *event_type;
  if (source_id->empty() == provider->empty()) {
    return FieldErrorResponse(
        Status::InvalidArgument("give either source_id (a source of this workspace) or "
                                "provider (a preset, e.g. \"github\")"),
        source_id->empty() ? "source_id" : "provider");
  }

  // What the model may see: the kind and event types, and payload bodies.
  std::string kind = *provider;
  std::optional<store::Source> source;
  if (!source_id->empty()) {
    auto found = ctx->store->GetSource(p.workspace_id, *source_id);
    if (!found) {
      if (found.error().type() == ErrorType::kNotFound) {
        return FieldErrorResponse(
            Status::NotFound("no source " + source_id->substr(0, 100) + " in this workspace"),
            "source_id");
      }
      return http::ErrorResponse(found.error());
    }
    source = std::move(found).value();
    kind = source->kind;
  }
  const verify::ProviderCatalog* catalog = verify::FindCatalog(kind);
  if (!provider->empty() && catalog == nullptr) {
    return FieldErrorResponse(
        Status::InvalidArgument("provider must be a provider preset (GET /api/v1/providers "
                                "lists them); for a custom source give its source_id"),
        "provider");
  }
  if (catalog != nullptr && !event_type->empty() &&
      verify::FindEventType(kind, *event_type) == nullptr) {
    return FieldErrorResponse(
        Status::InvalidArgument("event_type \"" + event_type->substr(0, 100) +
                                "\" is not an event type of " + kind + " (GET /api/v1/providers/" +
                                kind + " lists them)"),
        "event_type");
  }
  if (ctx->filter_model == nullptr) return NotConfigured();

  std::vector<Sample> samples;
  if (catalog != nullptr) {
    for (const verify::EventTypeInfo& info : catalog->event_types) {
      request.event_types.emplace_back(info.name);
    }
    samples = CatalogSamples(*catalog, *event_type);
  } else {
    auto stored = EventSamples(ctx->store, *source, *event_type);
    if (!stored) return http::ErrorResponse(stored.error());
    samples = std::move(stored).value();
  }
  request.source_kind = kind;
  for (const Sample& s : samples) request.samples.push_back({s.payload, s.event_type});
  *out = std::move(request);
  *out_samples = std::move(samples);
  return std::nullopt;
}

// Asks the model (blocks for up to two model turns) and builds the answer.
http::Response Generate(const ApiContext& ctx, const nlfilter::Request& request,
                        const std::vector<Sample>& samples) {
  nlfilter::FailedExpression last;
  auto suggestion = nlfilter::Generate(*ctx.filter_model, request, &last);
  if (!suggestion) {
    const Status& error = suggestion.error();
    if (error.code() == nlfilter::kModelFailedCode) {
      return Json(502, {{"error", {{"type", error.code()}, {"message", error.message()}}}});
    }
    if (error.code() == nlfilter::kInvalidFilterCode) {
      return Json(422, {{"error",
                         {{"type", error.code()},
                          {"message", error.message()},
                          {"filter", last.filter},
                          {"line", last.error.line},
                          {"column", last.error.column}}}});
    }
    return FieldErrorResponse(error, "description");
  }
  boost::json::array results;
  for (std::size_t i = 0; i < suggestion->sample_results.size(); ++i) {
    nlfilter::SampleResult& result = suggestion->sample_results[i];
    boost::json::object o = samples[i].origin;
    o["sample"] = samples[i].payload;
    o["matched"] = result.matched;
    o["explanation"] = std::move(result.explanation);
    results.push_back(std::move(o));
  }
  return Json(200, {{"filter", suggestion->filter},
                    {"explanation", suggestion->explanation},
                    {"turns", suggestion->turns},
                    {"sample_results", std::move(results)}});
}

}  // namespace

void RegisterFilterGenerateRoute(http::Router* router, ApiContext* ctx) {
  router->Add("POST", "/api/v1/filters/generate",
              AuthedAsync(ctx, [ctx](const Principal& p, http::Request& r, http::Reply reply) {
                nlfilter::Request request;
                std::vector<Sample> samples;
                if (auto answer = Prepare(ctx, p, r, &request, &samples)) {
                  reply(std::move(*answer));
                  return;
                }
                auto slot = std::make_shared<InFlight>();
                if (!slot->admitted()) {
                  http::Response busy = http::ErrorResponse(
                      Status(ErrorType::kRateLimited, "rate_limited",
                             "other filters are being generated; retry in a few seconds"));
                  busy.headers.push_back({"Retry-After", "5"});
                  reply(std::move(busy));
                  return;
                }
                // Already on the blocking pool (AuthedAsync), which holds a thread for each
                // generation in flight besides those of the management calls (app/serve.cc).
                reply(Generate(*ctx, request, samples));
              }));
}

}  // namespace triggerd::api
