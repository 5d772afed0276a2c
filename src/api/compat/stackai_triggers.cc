// Stack AI-style triggers API (docs/COMPATIBILITY.md, section 4). A project is an agent of the
// caller's workspace, the organisation is the workspace, and a Stack AI trigger record is a view
// of one trigger with its source; nothing is stored twice (store::TriggerExtras keeps only what
// the domain model has no place for). {id} is a project_trigger_id (UUID) or a trg_ id.
//   POST   /projects/{project_id}/triggers          source + trigger in one go (status DISABLED)
//   GET    /projects/{project_id}/triggers          the project's triggers, an array
//   GET    /triggers                                every trigger of the workspace, an array
//   GET    /triggers/{id}, DELETE /triggers/{id}    one; DELETE also drops the source it made
//   POST   /triggers/{id}/enable, …/disable         status ENABLED / DISABLED
//   GET    /providers/{provider_id}/triggers[/{trigger_id}]   the catalog's definitions; public
//   POST   /organizations/{org_id}/triggers/{id}/{webhook|webook|polling|scheduled}/key/{key}
//                                                   Stack AI's retired routes: 410 gone
//   POST   /v1/webhooks/{webhook_id}                a trigger id or a provider name: ingest
//   GET    /api/v0/project-triggers/{id}/test-samples         the last payloads, else samples
// API key as the rest of the API: every role reads every trigger of the workspace (Stack AI's
// organisation owns them); builder or admin to change, and the trigger's (to create, the
// project's) creator or an admin (RequireAgentOwner's rule); another workspace's id is 404.
// Bodies are validated by ApplySourceBody and ApplyTriggerBody, the functions POST
// /api/v1/sources and /api/v1/triggers (and the config file) use, and written through
// catalog::Catalog; webhooks go through ingest::Ingestor, looked up in its caches.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include "api/compat/compat.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/json_parse.h"
#include "dispatch/dispatch.h"
#include "schedule/schedule.h"
#include "verify/catalog.h"
#include "verify/verify.h"

namespace triggerd::api::compat {
namespace {

namespace json = boost::json;

constexpr size_t kMaxSamples = 10;  // test-samples answers at most this many payloads
constexpr int kSampleScan = 200;    // of the source's latest events, newest first
constexpr size_t kMaxConnectionIdBytes = 200;
constexpr std::string_view kAnyEvent = "any";

// The source settings a webhook trigger's trigger_config may carry: the members of a POST
// /api/v1/sources body that configure verification and admission (`secret` travels in
// webhook_data; `filter` is the trigger's).
constexpr std::string_view kWebhookSettings[] = {"auth", "allowed_ips", "allowed_origins",
                                                 "delivery_id_header", "max_body_bytes"};

bool GeneratedKind(std::string_view kind) {
  store::Source probe;
  probe.kind = std::string(kind);
  return probe.generated();
}

// Stack AI's "webhook" is our "custom".
std::string SourceKind(std::string_view provider_id) {
  return provider_id == "webhook" ? "custom" : std::string(provider_id);
}

json::value NullIfEmpty(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

// Whether ingest's short path (no URL secret) is open to the source: it authenticates requests by
// a signature or a token (ingest::Ingestor::Admit), so /v1/webhooks/{trigger_id} reaches it.
bool AuthenticatesRequests(const store::Source& source) {
  if (source.generated()) return false;
  if (source.kind != "custom") return true;
  auto settings = verify::ParseAuthSettingsJson(source.kind, source.auth_json);
  return settings && (settings->bearer || settings->hmac);
}

// ---- project_trigger_id ----
// Stack AI names a trigger by a UUID (project_trigger_id); triggerd's ids are "trg_" + 22 base62
// digits. A trigger made here gets an id whose digits spell a random version-4 UUID (122 random
// bits), so either id converts to the other with no lookup — the webhook route, which reads no
// database, takes both. Any other trigger (made through /api/v1 or the config file) shows a
// version-8 UUID derived from its id by SHA-256, resolved by reading the workspace's triggers.

using Uuid = unsigned __int128;
constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kIdDigits = 22;  // NewId's random part; 62^22 > 2^128

int DigitValue(char c) {
  const size_t at = kDigits.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

unsigned UuidVersion(Uuid u) { return static_cast<unsigned>((u >> 76) & 0xF); }
bool Rfc4122Variant(Uuid u) { return ((u >> 62) & 0x3) == 0x2; }
Uuid WithVersion(Uuid u, unsigned version) {
  u &= ~((Uuid{0xF} << 76) | (Uuid{0x3} << 62));
  return u | (Uuid{version} << 76) | (Uuid{0x2} << 62);
}

std::string FormatUuid(Uuid u) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int bit = 124;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) continue;
    out[i] = kHex[static_cast<unsigned>((u >> bit) & 0xF)];
    bit -= 4;
  }
  return out;
}

// 8-4-4-4-12 hex digits, either case.
std::optional<Uuid> ParseUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid u = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return std::nullopt;
    u = (u << 4) | static_cast<Uuid>(v);
  }
  return u;
}

// The number a trigger id's digits spell, when the id is "trg_" + 22 digits below 2^128.
std::optional<Uuid> DigitsOf(std::string_view trigger_id) {
  if (!trigger_id.starts_with("trg_") || trigger_id.size() != 4 + kIdDigits) return std::nullopt;
  Uuid u = 0;
  constexpr Uuid kMax = ~Uuid{0};
  for (char c : trigger_id.substr(4)) {
    const int d = DigitValue(c);
    if (d < 0 || u > (kMax - static_cast<Uuid>(d)) / 62) return std::nullopt;
    u = u * 62 + static_cast<Uuid>(d);
  }
  return u;
}

std::string TriggerIdOfUuid(Uuid u) {
  std::string id = "trg_" + std::string(kIdDigits, '0');
  for (size_t i = id.size(); i > 4; --i) {
    id[i - 1] = kDigits[static_cast<size_t>(u % 62)];
    u /= 62;
  }
  return id;
}

// A new trigger id whose project_trigger_id is a random version-4 UUID.
std::string NewStackAiTriggerId() {
  const std::string bytes = crypto::RandomBytes(16);
  Uuid u = 0;
  for (unsigned char b : bytes) u = (u << 8) | b;
  return TriggerIdOfUuid(WithVersion(u, 4));
}

std::string ProjectTriggerId(std::string_view trigger_id) {
  if (auto u = DigitsOf(trigger_id); u && UuidVersion(*u) == 4 && Rfc4122Variant(*u)) {
    return FormatUuid(*u);
  }
  const std::string digest = crypto::Digest(crypto::DigestAlgorithm::kSha256, trigger_id);
  Uuid u = 0;
  for (size_t i = 0; i < 16; ++i) u = (u << 8) | static_cast<unsigned char>(digest[i]);
  return FormatUuid(WithVersion(u, 8));
}

// The triggerd id a version-4 project_trigger_id stands for (no lookup); nullopt for anything
// else.
std::optional<std::string> TriggerIdOfProjectTriggerId(std::string_view id) {
  auto u = ParseUuid(id);
  if (!u || UuidVersion(*u) != 4 || !Rfc4122Variant(*u)) return std::nullopt;
  return TriggerIdOfUuid(*u);
}

// ---- The catalog as trigger definitions ----

// Stack AI's name for a provider's trigger: "on_" + the event type in snake case
// ("on_customer_created" for Stripe's customer.created, "on_pull_request" for GitHub's
// pull_request); the generic webhook's "any" stays.
std::string StackAiTriggerName(std::string_view event_type) {
  if (event_type == kAnyEvent) return std::string(kAnyEvent);
  std::string name = "on_";
  bool separate = false;
  for (char c : event_type) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
      separate = true;
      continue;
    }
    if (separate && name.size() > 3) name += '_';
    separate = false;
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

json::value ParseEmbedded(std::string_view text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object Definition(std::string_view provider_id, std::string_view display_name,
                        std::string_view event_type, std::string_view description,
                        std::string_view sample, std::string_view schema) {
  return {{"trigger_id", StackAiTriggerName(event_type)},
          {"provider_id", provider_id},
          {"name", std::string(display_name) + ": " + std::string(event_type)},
          {"description", description},
          {"event_type", event_type},
          {"sample", ParseEmbedded(sample)},
          {"schema", ParseEmbedded(schema)}};
}

// Every provider_id's definitions, in catalog order; built once (the catalog is compiled in).
using Definitions = std::map<std::string, std::vector<json::object>, std::less<>>;
const Definitions& AllDefinitions() {
  static const Definitions* definitions = [] {
    auto* out = new Definitions();
    for (const auto& provider : verify::Catalog()) {
      const verify::ProviderInfo* info = verify::FindProvider(provider.kind);
      const std::string_view display = info != nullptr ? info->display_name : provider.kind;
      auto& list = (*out)[std::string(provider.kind)];
      for (const auto& e : provider.event_types) {
        list.push_back(
            Definition(provider.kind, display, e.name, e.description, e.sample, e.schema_json));
      }
    }
    for (std::string_view generic : {"custom", "webhook"}) {
      (*out)[std::string(generic)].push_back(
          Definition(generic, "Webhook", kAnyEvent, "Every request the webhook receives", "", ""));
    }
    if (GeneratedKind(schedule::kScheduleKind)) {
      (*out)[std::string(schedule::kScheduleKind)].push_back(
          Definition(schedule::kScheduleKind, "Schedule", "schedule.tick",
                     "A tick of the schedule (trigger_config: cron and timezone, or "
                     "interval_seconds)",
                     "", ""));
    }
    if (GeneratedKind(schedule::kPollKind)) {
      (*out)[std::string(schedule::kPollKind)].push_back(Definition(
          schedule::kPollKind, "Poll", "poll.item",
          "A new item of the polled feed (trigger_config: url, interval_seconds, …)", "", ""));
    }
    return out;
  }();
  return *definitions;
}

const std::vector<json::object>* DefinitionsOf(std::string_view provider_id) {
  auto it = AllDefinitions().find(provider_id);
  return it == AllDefinitions().end() ? nullptr : &it->second;
}

// GET /providers/{provider_id}/triggers's answer, serialized once (the lists are large — GitHub's
// samples weigh ~0.6 MB — and public, answered on the io thread); nullptr for an unknown provider.
const std::string* DefinitionListBody(std::string_view provider_id) {
  static const auto* bodies = [] {
    auto* out = new std::map<std::string, std::string, std::less<>>();
    for (const auto& [provider, definitions] : AllDefinitions()) {
      out->emplace(provider, SerializeJson(json::array(definitions.begin(), definitions.end())));
    }
    return out;
  }();
  auto it = bodies->find(provider_id);
  return it == bodies->end() ? nullptr : &it->second;
}

// The definition `trigger_id` names: its Stack AI name, or the event type itself.
const json::object* FindDefinition(std::string_view provider_id, std::string_view trigger_id) {
  const auto* definitions = DefinitionsOf(provider_id);
  if (definitions == nullptr) return nullptr;
  for (const auto& d : *definitions) {
    if (d.at("trigger_id").as_string() == trigger_id ||
        d.at("event_type").as_string() == trigger_id)
      return &d;
  }
  return nullptr;
}

Status UnknownProvider(const std::string& provider_id) {
  return Status::NotFound(
      "no provider \"" + provider_id.substr(0, 100) + "\"; GET /api/v1/providers lists them",
      "provider_not_found");
}

// ---- The trigger record ----

// "any" for every event type, else the subscribed types' Stack AI names joined by ",".
std::string TriggerIdOf(const store::Trigger& trigger) {
  if (trigger.event_types.empty()) return std::string(kAnyEvent);
  std::string joined;
  for (const auto& type : trigger.event_types) {
    if (!joined.empty()) joined += ",";
    joined += StackAiTriggerName(type);
  }
  return joined;
}

// Where to send webhooks. null for a schedule or poll source (it receives none). `url` is the
// route of this surface when the source authenticates requests, else the secret ingest URL.
json::value WebhookData(const std::string& base_url, const store::Source* source,
                        const store::Trigger& trigger, const Principal& viewer) {
  if (source == nullptr || source->generated()) return nullptr;
  bool elided = false;
  const std::string ingest_url = IngestUrl(base_url, *source, viewer, &elided);
  json::object o;
  o["url"] = AuthenticatesRequests(*source) ? base_url + "/v1/webhooks/" + trigger.id : ingest_url;
  o["ingest_url"] = ingest_url;
  o["url_secret_elided"] = elided;
  o["provider_url"] = verify::FindCatalog(source->kind) != nullptr
                          ? json::value(base_url + "/v1/webhooks/" + source->kind)
                          : json::value(nullptr);
  o["has_secret"] = !source->signing_secret.empty();
  o["has_token"] = !source->token_hash.empty();
  return o;
}

// The trigger's configuration as trigger_config reads on create: the opaque members kept in the
// extras (Stack AI's provider parameters), `filter`, and the source's settings (a schedule's or
// poll's config, poll headers redacted; a webhook source's auth and admission settings). Read
// from the trigger and the source, so a change made through /api/v1 shows here too.
json::object TriggerConfig(const store::Source* source, const store::Trigger& trigger,
                           const store::TriggerExtras* extras) {
  json::object o;
  if (extras != nullptr) {
    boost::system::error_code ec;
    json::value opaque = json::parse(extras->trigger_config_json, ec);
    if (!ec && opaque.is_object()) o = std::move(opaque.as_object());
  }
  if (source != nullptr && source->generated()) {
    for (auto& [member, value] : schedule::ShownConfig(*source)) o[member] = std::move(value);
  } else if (source != nullptr) {
    boost::system::error_code ec;
    json::value auth = json::parse(source->auth_json, ec);
    o["auth"] = ec ? json::value(json::object()) : auth;
    o["allowed_ips"] = json::array(source->allowed_ips.begin(), source->allowed_ips.end());
    o["allowed_origins"] =
        json::array(source->allowed_origins.begin(), source->allowed_origins.end());
    o["delivery_id_header"] = source->delivery_id_header;
    o["max_body_bytes"] = source->max_body_bytes;
  }
  o["filter"] = NullIfEmpty(trigger.filter);
  return o;
}

// A schedule's or poll's cursor (src/schedule), null for webhook sources and before the first
// tick or poll.
json::value CursorData(ApiContext* ctx, const store::Source* source) {
  if (source == nullptr || !source->generated()) return nullptr;
  auto cursor = ctx->store->GetSourceCursor(source->id);
  if (!cursor) return nullptr;
  boost::system::error_code ec;
  json::value data = json::parse(cursor->cursor_data, ec);
  return ec ? json::value(nullptr) : data;
}

json::object RecordJson(ApiContext* ctx, const std::string& base_url, const Principal& viewer,
                        const store::Trigger& trigger, const store::Source* source,
                        const store::TriggerExtras* extras) {
  json::object o;
  o["project_trigger_id"] = ProjectTriggerId(trigger.id);
  o["id"] = trigger.id;
  o["project_id"] = trigger.agent_id;
  o["provider_id"] = source != nullptr ? json::value(source->kind) : json::value(nullptr);
  o["trigger_id"] = TriggerIdOf(trigger);
  o["connection_id"] = extras != nullptr ? NullIfEmpty(extras->connection_id) : nullptr;
  o["webhook_data"] = WebhookData(base_url, source, trigger, viewer);
  o["cursor_data"] = CursorData(ctx, source);
  o["trigger_config"] = TriggerConfig(source, trigger, extras);
  o["status"] = trigger.enabled ? "ENABLED" : "DISABLED";
  o["source_id"] = trigger.source_id;
  o["created_by"] = trigger.created_by;
  o["updated_by"] = extras != nullptr ? NullIfEmpty(extras->updated_by) : nullptr;
  o["created_at"] = Time(trigger.created_at);
  o["updated_at"] = Time(std::max(trigger.updated_at, extras != nullptr ? extras->updated_at : 0));
  return o;
}

// The record of one trigger, reading its source and extras.
Result<json::object> Record(ApiContext* ctx, const Principal& p, const http::Request& r,
                            const store::Trigger& trigger) {
  auto source = ctx->store->GetSource(trigger.workspace_id, trigger.source_id);
  if (!source && source.error().type() != ErrorType::kNotFound) return source.error();
  auto extras = ctx->store->GetTriggerExtras(trigger.workspace_id, trigger.id);
  if (!extras && extras.error().type() != ErrorType::kNotFound) return extras.error();
  return RecordJson(ctx, BaseUrl(*ctx, r), p, trigger, source ? &*source : nullptr,
                    extras ? &*extras : nullptr);
}

http::Response RecordResponse(ApiContext* ctx, const Principal& p, const http::Request& r,
                              int status, const store::Trigger& trigger) {
  auto record = Record(ctx, p, r, trigger);
  if (!record) return http::ErrorResponse(record.error());
  return Json(status, *record);
}

// [record…], newest first, as Stack AI answers: every trigger of `agent_id` ("" = all) in the
// workspace. With ?limit= or ?cursor= the array is one page of our lists' paging and the header
// X-Next-Cursor carries the next page's cursor (absent on the last page).
http::Response ListResponse(ApiContext* ctx, const Principal& p, const http::Request& r,
                            const std::string& agent_id) {
  const bool paged = r.query_params.contains("limit") || r.query_params.contains("cursor");
  int limit = 0;
  std::optional<int64_t> before;
  if (auto e = ReadPageParams(r, &limit, &before)) return *e;
  auto triggers = ctx->store->ListTriggers(p.workspace_id, "", agent_id);
  if (!triggers) return http::ErrorResponse(triggers.error());
  if (!paged) limit = static_cast<int>(std::max<size_t>(triggers->size(), 1));
  auto page = PageInMemory(std::move(*triggers), limit, before);
  auto sources = ctx->store->ListSources(p.workspace_id);
  if (!sources) return http::ErrorResponse(sources.error());
  std::map<std::string, const store::Source*, std::less<>> by_id;
  for (const auto& s : *sources) by_id[s.id] = &s;
  const std::string base_url = BaseUrl(*ctx, r);
  json::array data;
  for (const auto& trigger : page.items) {
    auto extras = ctx->store->GetTriggerExtras(p.workspace_id, trigger.id);
    if (!extras && extras.error().type() != ErrorType::kNotFound) {
      return http::ErrorResponse(extras.error());
    }
    auto source = by_id.find(trigger.source_id);
    data.push_back(RecordJson(ctx, base_url, p, trigger,
                              source == by_id.end() ? nullptr : source->second,
                              extras ? &*extras : nullptr));
  }
  http::Response response = Json(200, data);
  if (page.next_cursor)
    response.headers.push_back({"X-Next-Cursor", std::to_string(*page.next_cursor)});
  return response;
}

// A trigger of the caller's workspace by project_trigger_id or triggerd id. Stack AI's triggers
// belong to the organisation: every role reads all of the workspace's (unlike /api/v1/triggers,
// where non-admins see their own); another workspace's id or an unknown one: the same 404.
Result<store::Trigger> VisibleTrigger(ApiContext* ctx, const Principal& p, const std::string& id) {
  std::string trigger_id = id;
  if (auto converted = TriggerIdOfProjectTriggerId(id)) {
    trigger_id = *converted;
  } else if (ParseUuid(id)) {
    // A derived (version 8) id: the workspace's triggers are few, read them whole.
    auto triggers = ctx->store->ListTriggers(p.workspace_id, "", "");
    if (!triggers) return triggers.error();
    const std::string wanted = FormatUuid(*ParseUuid(id));
    for (auto& t : *triggers) {
      if (ProjectTriggerId(t.id) == wanted) return std::move(t);
    }
    trigger_id.clear();
  }
  if (!trigger_id.empty()) {
    auto trigger = ctx->store->GetTrigger(p.workspace_id, trigger_id);
    if (trigger || trigger.error().type() != ErrorType::kNotFound) return trigger;
  }
  return Status::NotFound("no trigger \"" + id.substr(0, 100) + "\"", "trigger_not_found");
}

Result<store::Agent> Project(ApiContext* ctx, const Principal& p, const std::string& id) {
  auto agent = ctx->store->GetAgent(p.workspace_id, id);
  if (!agent && agent.error().type() == ErrorType::kNotFound) {
    return Status::NotFound("no project (agent) \"" + id.substr(0, 100) + "\"",
                            "project_not_found");
  }
  return agent;
}

// ---- Create ----

// A validation error of the shared body functions, reported under this surface's member name
// (an invalid filter keeps its line and column).
http::Response RenamedFieldError(const BodyError& error, std::string_view field) {
  http::Response response = BodyErrorResponse(error);
  boost::system::error_code ec;
  json::value body = json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    if (json::value* e = body.as_object().if_contains("error"); e && e->is_object()) {
      e->as_object()["field"] = field;
      response.body = json::serialize(body);
    }
  }
  return response;
}

http::Response BadField(const std::string& message, std::string_view field) {
  return FieldErrorResponse(Status::InvalidArgument(message), field);
}

// An optional member that must be an object when present and not null.
std::optional<http::Response> OptionalObject(const json::object& body, std::string_view name,
                                             json::object* out) {
  const json::value* v = body.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_object()) return BadField(std::string(name) + " must be an object", name);
  *out = v->as_object();
  return std::nullopt;
}

constexpr size_t kMaxOpaqueConfigBytes = 16 * 1024;

template <size_t N>
bool Among(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// Whether a trigger_config member configures the source of `kind`.
bool SourceSetting(std::string_view kind, std::string_view member) {
  if (kind == schedule::kScheduleKind) return Among(schedule::kScheduleConfigMembers, member);
  if (kind == schedule::kPollKind) return Among(schedule::kPollConfigMembers, member);
  return Among(kWebhookSettings, member);
}

// trigger_config split three ways: "filter" (the trigger's), the source's settings (POST
// /api/v1/sources's members for `kind`, into `source_body`), and the rest — Stack AI's provider
// parameters ("inbox_id", "polling_frequency", …), which configure nothing here — kept opaque in
// `opaque`. webhook_data.secret becomes the source's secret. An error response naming the
// member at fault, or nullopt.
std::optional<http::Response> FillSourceBody(const std::string& kind, bool generated,
                                             const json::object& config,
                                             const json::object& webhook_data,
                                             json::object* source_body, json::value* filter,
                                             json::object* opaque) {
  json::object settings;
  for (const auto& [member, value] : config) {
    if (member == "filter") {
      *filter = value;
    } else if (SourceSetting(kind, member)) {
      settings[member] = value;
    } else {
      (*opaque)[member] = value;
    }
  }
  if (SerializeJson(*opaque).size() > kMaxOpaqueConfigBytes) {
    return BadField("trigger_config's provider parameters exceed 16384 bytes of JSON",
                    "trigger_config");
  }
  if (generated) {
    if (!webhook_data.empty()) {
      return BadField("a " + kind + " trigger receives no webhooks: webhook_data does not apply",
                      "webhook_data");
    }
    (*source_body)[kind] = std::move(settings);
  } else {
    for (auto& [member, value] : settings) (*source_body)[member] = std::move(value);
    // A generic webhook authenticates by a generated token unless trigger_config.auth says
    // otherwise, so /v1/webhooks/{trigger id} can take it (a source with no auth is reachable
    // only by its secret ingest URL).
    if (kind == "custom" && !source_body->contains("auth"))
      (*source_body)["auth"] = {{"bearer", true}};
    if (const json::value* secret = webhook_data.if_contains("secret")) {
      (*source_body)["secret"] = *secret;
    }
  }
  return std::nullopt;
}

// 400 unknown_trigger naming the provider's valid trigger ids.
http::Response UnknownTrigger(const std::string& provider_id, const std::string& trigger_id) {
  std::string valid;
  if (const auto* definitions = DefinitionsOf(provider_id)) {
    for (const auto& d : *definitions) {
      if (!valid.empty()) valid += ", ";
      valid += std::string(d.at("trigger_id").as_string());
    }
  }
  return FieldErrorResponse(
      Status::InvalidArgument("trigger_id \"" + trigger_id.substr(0, 100) +
                                  "\" is not a trigger of provider \"" + provider_id +
                                  "\"; valid: " + valid + " (GET /providers/" + provider_id +
                                  "/triggers)",
                              "unknown_trigger"),
      "trigger_id");
}

http::Response Create(ApiContext* ctx, const Principal& p, http::Request& r) {
  // Existence first, so a key of another workspace gets 404 whatever its role.
  auto agent = Project(ctx, p, r.path_params["project_id"]);
  if (!agent) return http::ErrorResponse(agent.error());
  // A project's triggers are the project's (agent's) creator's or an admin's to add.
  if (auto s = RequireAgentOwner(p, *agent); !s.ok()) return http::ErrorResponse(s);
  auto body = ParseObject(r);
  if (!body) return http::ErrorResponse(body.error());
  if (auto unknown =
          FirstUnknownField(*body, {"provider_id", "trigger_id", "connection_id", "trigger_config",
                                    "trigger_config_params", "webhook_data"})) {
    return UnknownFieldResponse(*unknown);
  }

  auto provider_id = StringField(*body, "provider_id", std::nullopt);
  if (!provider_id) return FieldErrorResponse(provider_id.error(), "provider_id");
  const std::string kind = SourceKind(*provider_id);
  // Routing only: which shape the source body takes. ApplySourceBody validates the kind itself.
  const bool generated = GeneratedKind(kind);
  if (!generated && verify::FindProvider(kind) == nullptr) {
    return FieldErrorResponse(
        Status::InvalidArgument("provider_id \"" + provider_id->substr(0, 50) +
                                    "\" is not a provider of GET /api/v1/providers, \"webhook\", "
                                    "\"custom\", \"schedule\" or \"poll\"",
                                "unknown_provider"),
        "provider_id");
  }
  // Required, as Stack AI requires it: the trigger subscribes to that definition's event type.
  auto requested = StringField(*body, "trigger_id", std::nullopt);
  if (!requested) return FieldErrorResponse(requested.error(), "trigger_id");
  const json::object* definition = FindDefinition(*provider_id, *requested);
  if (definition == nullptr) return UnknownTrigger(*provider_id, *requested);
  const std::string event(definition->at("event_type").as_string());
  std::string connection_id;
  if (const json::value* c = body->if_contains("connection_id"); c && !c->is_null()) {
    if (!c->is_string() || c->as_string().size() > kMaxConnectionIdBytes) {
      return BadField("connection_id must be a string of at most 200 characters", "connection_id");
    }
    connection_id = std::string(c->as_string());
  }
  // trigger_config_params is Stack AI's name for it; trigger_config, the record's, is taken too.
  if (body->contains("trigger_config") && body->contains("trigger_config_params")) {
    return BadField("give trigger_config or trigger_config_params, not both",
                    "trigger_config_params");
  }
  json::object config;
  if (auto e = OptionalObject(*body, "trigger_config", &config)) return *e;
  if (auto e = OptionalObject(*body, "trigger_config_params", &config)) return *e;
  json::object webhook_data;
  if (auto e = OptionalObject(*body, "webhook_data", &webhook_data)) return *e;
  if (auto unknown = FirstUnknownField(webhook_data, {"secret"})) {
    return UnknownFieldResponse("webhook_data." + *unknown);
  }

  // The source: POST /api/v1/sources's body, from provider_id, trigger_config and webhook_data.
  const std::string name = kind + " trigger of " + agent->id;
  json::object source_body{{"name", name}, {"kind", kind}, {"enabled", true}};
  json::value filter = nullptr;
  json::object opaque;
  if (auto e =
          FillSourceBody(kind, generated, config, webhook_data, &source_body, &filter, &opaque)) {
    return *e;
  }
  const int64_t now = ctx->clock->NowMicros();
  store::Source source;
  source.id = NewId("src");
  source.workspace_id = p.workspace_id;
  source.url_secret = crypto::RandomToken(32);
  source.created_by = p.key_id;
  source.created_at = source.updated_at = now;
  IssuedSourceSecrets issued;
  if (auto e = ApplySourceBody(source_body, true, false, &source, &issued)) {
    const bool about_secret = e->status.message().starts_with("secret");
    return RenamedFieldError(*e, about_secret ? "webhook_data.secret" : "trigger_config");
  }

  // The trigger: POST /api/v1/triggers's body. Status DISABLED until enabled.
  json::array event_types;
  if (event != kAnyEvent) event_types.emplace_back(event);
  json::object trigger_body{{"source_id", source.id}, {"agent_id", agent->id},
                            {"name", name},           {"event_types", std::move(event_types)},
                            {"filter", filter},       {"enabled", false}};
  store::Trigger trigger;
  trigger.id = NewStackAiTriggerId();
  trigger.workspace_id = p.workspace_id;
  trigger.created_by = p.key_id;
  trigger.created_at = trigger.updated_at = now;
  if (auto e = ApplyTriggerBody(nullptr, trigger_body, true, &trigger)) {
    if (e->field == "filter") return RenamedFieldError(*e, "trigger_config.filter");
    if (e->field == "event_types") return RenamedFieldError(*e, "trigger_id");
    return BodyErrorResponse(*e);
  }

  // Three writes; a failure after the first removes the source, which takes the trigger and the
  // extras with it (ON DELETE CASCADE), so nothing half-made stays behind. The catalog tells the
  // caches (ingest, schedules) of each.
  if (auto s = ctx->catalog->CreateSource(source); !s.ok()) return http::ErrorResponse(s);
  store::TriggerExtras extras{trigger.id, p.workspace_id,       connection_id, true, p.key_id,
                              now,        SerializeJson(opaque)};
  Status written = ctx->catalog->CreateTrigger(trigger);
  if (written.ok()) written = ctx->catalog->PutTriggerExtras(extras);
  if (!written.ok()) {
    (void)ctx->catalog->DeleteSource(p.workspace_id, source.id);
    if (written.type() == ErrorType::kNotFound) {  // the agent was deleted meanwhile
      return http::ErrorResponse(
          Status::NotFound("no project (agent) \"" + agent->id + "\"", "project_not_found"));
    }
    return http::ErrorResponse(written);
  }

  json::object record = RecordJson(ctx, BaseUrl(*ctx, r), p, trigger, &source, &extras);
  // Shown once, as POST /api/v1/sources shows them.
  if (json::value* data = record.if_contains("webhook_data"); data && data->is_object()) {
    if (!issued.secret.empty()) data->as_object()["secret"] = issued.secret;
    if (!issued.token.empty()) data->as_object()["token"] = issued.token;
  }
  return Json(201, record);
}

// ---- Enable, disable, delete ----

// The trigger for a change: of the workspace, builder or admin, its creator or an admin (403
// not_owner: the others see it but may not change it), not managed by the config file.
Result<store::Trigger> ChangeableTrigger(ApiContext* ctx, const Principal& p, const std::string& id,
                                         std::optional<http::Response>* refused) {
  auto trigger = VisibleTrigger(ctx, p, id);
  if (!trigger) return trigger;
  TRIGGERD_RETURN_IF_ERROR(RequireRole(p, store::Role::kBuilder));
  if (!CanSee(p, trigger->created_by)) {
    return Status::PermissionDenied("only the trigger's creator or an admin can change it",
                                    "not_owner");
  }
  *refused = RefuseManaged(*ctx, "trigger", trigger->name, trigger->managed_by);
  return trigger;
}

http::Response SetStatus(ApiContext* ctx, const Principal& p, http::Request& r, bool enabled) {
  std::optional<http::Response> refused;
  auto trigger = ChangeableTrigger(ctx, p, r.path_params["id"], &refused);
  if (!trigger) return http::ErrorResponse(trigger.error());
  if (refused) return *refused;
  const int64_t now = ctx->clock->NowMicros();
  trigger->enabled = enabled;
  trigger->updated_at = now;
  if (auto s = ctx->catalog->UpdateTrigger(*trigger); !s.ok()) return http::ErrorResponse(s);
  store::TriggerExtras extras;
  if (auto stored = ctx->store->GetTriggerExtras(p.workspace_id, trigger->id)) {
    extras = std::move(*stored);
  } else if (stored.error().type() != ErrorType::kNotFound) {
    return http::ErrorResponse(stored.error());
  } else {
    extras.trigger_id = trigger->id;
    extras.workspace_id = p.workspace_id;
  }
  extras.updated_by = p.key_id;
  extras.updated_at = now;
  if (auto s = ctx->catalog->PutTriggerExtras(extras); !s.ok()) return http::ErrorResponse(s);
  return RecordResponse(ctx, p, r, 200, *trigger);
}

http::Response Delete(ApiContext* ctx, const Principal& p, http::Request& r) {
  std::optional<http::Response> refused;
  auto trigger = ChangeableTrigger(ctx, p, r.path_params["id"], &refused);
  if (!trigger) return http::ErrorResponse(trigger.error());
  if (refused) return *refused;
  auto extras = ctx->store->GetTriggerExtras(p.workspace_id, trigger->id);
  if (auto s = ctx->catalog->DeleteTrigger(p.workspace_id, trigger->id); !s.ok()) {
    return http::ErrorResponse(s);
  }
  // The source this surface made goes with its last trigger (another trigger may have been bound
  // to it through /api/v1 since).
  if (extras && extras->owns_source) {
    auto others = ctx->store->ListTriggers(p.workspace_id, trigger->source_id, "");
    if (others && others->empty()) {
      (void)ctx->catalog->DeleteSource(p.workspace_id, trigger->source_id);
    }
  }
  return http::Response{204, {}, "", ""};
}

// ---- Test samples ----

bool Subscribed(const store::Trigger& trigger, std::string_view event_type) {
  return trigger.event_types.empty() ||
         std::find(trigger.event_types.begin(), trigger.event_types.end(), event_type) !=
             trigger.event_types.end();
}

http::Response TestSamples(ApiContext* ctx, const Principal& p, http::Request& r) {
  auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
  if (!trigger) return http::ErrorResponse(trigger.error());
  store::EventQuery query;
  query.workspace_id = p.workspace_id;
  query.source_id = trigger->source_id;
  query.limit = kSampleScan;
  auto events = ctx->store->ListEvents(query);
  if (!events) return http::ErrorResponse(events.error());
  json::array data;
  // The list has no bodies: only the events shown are read whole.
  for (const auto& listed : events->items) {
    if (data.size() >= kMaxSamples) break;
    if (!Subscribed(*trigger, listed.event_type)) continue;
    auto event = ctx->store->GetEvent(p.workspace_id, listed.id);
    if (!event) {
      if (event.error().type() == ErrorType::kNotFound) continue;  // purged meanwhile
      return http::ErrorResponse(event.error());
    }
    boost::system::error_code ec;
    json::value payload = ParseJson(dispatch::EventPayload(*event), ec);
    data.push_back(json::object{{"event_id", event->id},
                                {"event_type", NullIfEmpty(event->event_type)},
                                {"received_at", Time(event->received_at)},
                                {"payload", ec ? json::value(nullptr) : payload}});
  }
  const bool from_events = !data.empty();
  if (!from_events) {
    // Nothing received yet: the catalog's samples of the subscribed types (all when "any").
    auto source = ctx->store->GetSource(p.workspace_id, trigger->source_id);
    const verify::ProviderCatalog* catalog = source ? verify::FindCatalog(source->kind) : nullptr;
    if (catalog != nullptr) {
      for (const auto& e : catalog->event_types) {
        if (data.size() >= kMaxSamples) break;
        if (!Subscribed(*trigger, e.name)) continue;
        data.push_back(json::object{{"event_id", nullptr},
                                    {"event_type", e.name},
                                    {"received_at", nullptr},
                                    {"payload", ParseEmbedded(e.sample)}});
      }
    }
  }
  return Json(200, {{"trigger_id", trigger->id},
                    {"project_trigger_id", ProjectTriggerId(trigger->id)},
                    {"origin", from_events ? "events" : "catalog"},
                    {"data", std::move(data)}});
}

// ---- Stack AI's retired delivery routes ----

// 410 for POST /organizations/{org_id}/triggers/{id}/{kind}/key/{api_key}, naming the route that
// replaces it: /v1/webhooks/{id} for webhooks (kind "webhook" or its misspelt twin "webook");
// the enable route for polls and schedules, which triggerd runs itself.
http::Response Gone(std::string_view kind, const std::string& project_trigger_id) {
  const std::string id = project_trigger_id.substr(0, 100);
  const bool webhook = kind == "webhook" || kind == "webook";
  const std::string replacement =
      webhook ? "POST /v1/webhooks/" + id : "POST /triggers/" + id + "/enable";
  const std::string message =
      webhook ? "this route is gone: deliver webhooks to " + replacement +
                    " (authenticated by the source's signature or token, not an API key in the "
                    "path)"
              : "this route is gone: " + std::string(kind) +
                    " triggers run inside triggerd once enabled (" + replacement + ")";
  return Json(410,
              {{"error", {{"type", "gone"}, {"message", message}, {"replacement", replacement}}}});
}

// ---- POST /v1/webhooks/{webhook_id} ----
// A trigger id or a catalog kind; either way ingest::Ingestor finds the source in its caches (no
// store read per webhook) and the request takes the ingest route's pipeline and answers.

Status NoSuchWebhook() {
  return Status::NotFound("no trigger or provider of that id", "webhook_not_found");
}

ingest::HeadRequest HeadFor(const ingest::Ingestor::TriggerSource& source,
                            const http::RequestHead& head, std::optional<uint64_t> content_length,
                            bool charge) {
  ingest::HeadRequest request;
  request.workspace_id = source.workspace_id;
  request.source_id = source.source_id;
  request.method = head.method;
  request.headers = &head.headers;
  request.remote_ip = head.remote_ip;
  request.content_length = content_length;
  request.charge_rate_limits = charge;
  return request;
}

// The trigger's source, for a trigger id or project_trigger_id: the one lookup of the trigger
// route.
Result<ingest::Ingestor::TriggerSource> SourceOfTrigger(ApiContext* ctx, const std::string& id) {
  // A project_trigger_id of a trigger made here converts without a lookup; a derived one would
  // need the database, which this route does not read (its trg_ URL works).
  const std::string trigger_id = TriggerIdOfProjectTriggerId(id).value_or(id);
  if (!IsWellFormedId(trigger_id, "trg")) return NoSuchWebhook();
  auto source = ctx->ingestor->FindTriggerSource(trigger_id);
  if (!source) return NoSuchWebhook();
  return std::move(*source);
}

http::HeadDecision WebhookHead(ApiContext* ctx, const http::RequestHead& head,
                               const std::map<std::string, std::string>& params) {
  const std::string& id = params.at("webhook_id");
  auto refuse = [ctx](const Status& s) {
    return http::HeadDecision{IngestRefusal(s, *ctx->ingestor), 0};
  };
  if (verify::FindCatalog(id) != nullptr) {
    ingest::HeadRequest request;
    request.method = head.method;
    request.headers = &head.headers;
    request.remote_ip = head.remote_ip;
    request.content_length = head.content_length;
    auto limit = ctx->ingestor->AdmitForProvider(id, request);
    if (!limit) return refuse(limit.error());
    return http::HeadDecision{std::nullopt, *limit};
  }
  auto source = SourceOfTrigger(ctx, id);
  if (!source) return refuse(source.error());
  auto admitted = ctx->ingestor->Admit(HeadFor(*source, head, head.content_length, true));
  if (!admitted) return refuse(admitted.error());
  return http::HeadDecision{std::nullopt, admitted->body_limit};
}

void Webhook(ApiContext* ctx, http::Request request, http::Reply reply) {
  const std::string id = request.path_params["webhook_id"];
  auto answer = [ctx, reply = std::move(reply)](Result<ingest::IngestOutcome> outcome) {
    reply(IngestAnswer(std::move(outcome), *ctx->ingestor));
  };
  if (verify::FindCatalog(id) != nullptr) {
    // The provider route: ingest picks the source and charges its rate limits.
    ingest::BodyRequest body{nullptr,           request.method,
                             request.target,    std::move(request.headers),
                             request.remote_ip, std::move(request.body)};
    ctx->ingestor->IngestForProvider(id, std::move(body), std::move(answer));
    return;
  }
  auto source = SourceOfTrigger(ctx, id);
  if (!source) return answer(source.error());
  // Admitted again with the body in hand, as the ingest route does (the source may have changed
  // while the body was read); the rate limits were charged on the head.
  auto admitted = ctx->ingestor->Admit(HeadFor(*source, request, request.body.size(), false));
  if (!admitted) return answer(admitted.error());
  ingest::BodyRequest body{std::move(admitted->source), request.method,    request.target,
                           std::move(request.headers),  request.remote_ip, std::move(request.body)};
  ctx->ingestor->Ingest(std::move(body), std::move(answer));
}

}  // namespace

void RegisterStackAiTriggerRoutes(http::Router* router, ApiContext* ctx) {
  router->Add(
      "POST", "/projects/{project_id}/triggers",
      Authed(ctx, [ctx](const Principal& p, http::Request& r) { return Create(ctx, p, r); }));
  router->Add("GET", "/projects/{project_id}/triggers",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto agent = Project(ctx, p, r.path_params["project_id"]);
                if (!agent) return http::ErrorResponse(agent.error());
                return ListResponse(ctx, p, r, agent->id);
              }));
  router->Add("GET", "/triggers", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                return ListResponse(ctx, p, r, "");
              }));
  router->Add("GET", "/triggers/{id}", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto trigger = VisibleTrigger(ctx, p, r.path_params["id"]);
                if (!trigger) return http::ErrorResponse(trigger.error());
                return RecordResponse(ctx, p, r, 200, *trigger);
              }));
  router->Add("DELETE", "/triggers/{id}", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                return Delete(ctx, p, r);
              }));
  router->Add("POST", "/triggers/{id}/enable",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                return SetStatus(ctx, p, r, true);
              }));
  router->Add("POST", "/triggers/{id}/disable",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                return SetStatus(ctx, p, r, false);
              }));
  // The catalog is public, as Stack AI documents it: no key needed, any key's role is enough
  // (the Authorization header is not read). Nothing comes from the store, so these answer on the
  // io thread. A trailing slash (Stack AI's client sends one) matches the same route.
  router->Add("GET", "/providers/{provider_id}/triggers", [](http::Request r, http::Reply reply) {
    const std::string& provider_id = r.path_params["provider_id"];
    const std::string* body = DefinitionListBody(provider_id);
    if (body == nullptr) return reply(http::ErrorResponse(UnknownProvider(provider_id)));
    reply(http::JsonResponse(200, *body));
  });
  router->Add(
      "GET", "/providers/{provider_id}/triggers/{trigger_id}",
      [](http::Request r, http::Reply reply) {
        const std::string& provider_id = r.path_params["provider_id"];
        const std::string& trigger_id = r.path_params["trigger_id"];
        if (DefinitionsOf(provider_id) == nullptr) {
          return reply(http::ErrorResponse(UnknownProvider(provider_id)));
        }
        if (const json::object* d = FindDefinition(provider_id, trigger_id)) {
          return reply(Json(200, *d));
        }
        reply(http::ErrorResponse(Status::NotFound(
            "provider \"" + provider_id + "\" has no trigger \"" + trigger_id.substr(0, 100) + "\"",
            "trigger_definition_not_found")));
      });
  // Stack AI's deprecated per-trigger delivery routes, which carried an API key in the path:
  // 410 naming the route that replaces them, whatever the ids (never 404: a client learns where
  // to go, not whether the trigger exists). Webhooks go to /v1/webhooks/{project_trigger_id};
  // polls and schedules run inside triggerd once the trigger is enabled.
  for (std::string_view kind : {"webhook", "webook", "polling", "scheduled"}) {
    router->Add(
        "POST",
        "/organizations/{org_id}/triggers/{project_trigger_id}/" + std::string(kind) +
            "/key/{api_key}",
        [kind](http::Request r, http::Reply reply) {
          reply(Gone(kind, r.path_params["project_trigger_id"]));
        },
        // Answered on the head: the body is never read.
        [kind](const http::RequestHead&, const std::map<std::string, std::string>& params) {
          return http::HeadDecision{Gone(kind, params.at("project_trigger_id")), 0};
        });
  }
  router->Add(
      "GET", "/api/v0/project-triggers/{id}/test-samples",
      Authed(ctx, [ctx](const Principal& p, http::Request& r) { return TestSamples(ctx, p, r); }));
  router->Add(
      "POST", "/v1/webhooks/{webhook_id}",
      [ctx](http::Request request, http::Reply reply) {
        Webhook(ctx, std::move(request), std::move(reply));
      },
      [ctx](const http::RequestHead& head, const std::map<std::string, std::string>& params) {
        return WebhookHead(ctx, head, params);
      });
}

}  // namespace triggerd::api::compat
