// /api/v1/sources: admins create and change sources; every role reads them.
#include "api/internal.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/ip_network.h"
#include "schedule/schedule.h"
#include "verify/verify.h"

namespace triggerd::api {
namespace {

constexpr int64_t kMaxBodyLimit = 64 * 1024 * 1024;

std::string IngestUrl(const std::string& base_url, const store::Source& source) {
  return base_url + "/api/v1/w/" + source.workspace_id + "/triggers/hooks/" +
         source.id + "/" + source.url_secret;
}

boost::json::object SourceJson(const std::string& base_url, const store::Source& source) {
  boost::json::object o;
  o["id"] = source.id;
  o["workspace_id"] = source.workspace_id;
  o["name"] = source.name;
  o["kind"] = source.kind;
  o["enabled"] = source.enabled;
  boost::system::error_code ec;
  boost::json::value auth = boost::json::parse(source.auth_json, ec);
  o["auth"] = ec ? boost::json::value(boost::json::object()) : auth;
  boost::json::array ips(source.allowed_ips.begin(), source.allowed_ips.end());
  boost::json::array origins(source.allowed_origins.begin(), source.allowed_origins.end());
  o["allowed_ips"] = std::move(ips);
  o["allowed_origins"] = std::move(origins);
  o["delivery_id_header"] = source.delivery_id_header;
  o["max_body_bytes"] = source.max_body_bytes;
  // A schedule or poll source receives nothing: no URL, and its config under its kind's name.
  o["url"] = source.generated() ? boost::json::value(nullptr)
                                : boost::json::value(IngestUrl(base_url, source));
  if (source.generated()) o[source.kind] = schedule::ShownConfig(source);
  o["has_secret"] = !source.signing_secret.empty();
  o["has_token"] = !source.token_hash.empty();
  o["created_by"] = source.created_by;
  o["created_at"] = Time(source.created_at);
  o["updated_at"] = Time(source.updated_at);
  o["managed_by"] = ManagedByJson(source.managed_by);
  return o;
}

// Where a schedule or poll source has got to: its cursor (cursor_data; a poll's last id and seen
// ids) and when it acts next. GET routes only: one cursor read per such source.
void AddProducerState(const ApiContext& ctx, const store::Source& source, boost::json::object* o) {
  if (!source.generated()) return;
  std::optional<store::SourceCursor> cursor;
  if (auto stored = ctx.store->GetSourceCursor(source.id)) cursor = *stored;
  boost::json::value data = nullptr;
  if (cursor) {
    boost::system::error_code ec;
    data = boost::json::parse(cursor->cursor_data, ec);
    if (ec) data = nullptr;
  }
  (*o)["cursor_data"] = std::move(data);
  const auto last = cursor ? cursor->last_tick_at : std::nullopt;
  (*o)["last_tick_at"] = last ? boost::json::value(Time(*last)) : nullptr;
  const auto next = schedule::NextDueAt(source, cursor, ctx.clock->NowMicros());
  (*o)["next_due_at"] = next ? boost::json::value(Time(*next)) : nullptr;
}

bool IsHeaderToken(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Secrets shown once, when they are made.
using Issued = IssuedSourceSecrets;

// Applies the settable members of `body` to `source`. On create every member may be present;
// on update only the ones sent change. Generates the signing secret and bearer token the new
// settings need and does not yet have (or all of them when `rotate`), reporting them in
// `issued`. Finally proves the result usable by building its verifier.
Status ApplySourceFields(const boost::json::object& body, bool creating, bool rotate,
                         store::Source* source, Issued* issued) {
  TRIGGERD_RETURN_IF_ERROR(RejectUnknownFields(
      body, {"name", "kind", "enabled", "auth", "secret", "allowed_ips", "allowed_origins",
             "delivery_id_header", "max_body_bytes", "schedule", "poll"}));
  if (creating || body.contains("name")) {
    auto name = StringField(body, "name", std::nullopt);
    if (!name) return name.error();
    TRIGGERD_RETURN_IF_ERROR(CheckName(*name, /*required=*/true));
    source->name = *name;
  }
  if (body.contains("kind")) {
    auto kind = StringField(body, "kind", "custom");
    if (!kind) return kind.error();
    if (!creating && *kind != source->kind) {
      return Status::InvalidArgument("kind cannot change; create a new source instead");
    }
    if (verify::FindProvider(*kind) == nullptr && *kind != schedule::kScheduleKind &&
        *kind != schedule::kPollKind) {
      return Status::InvalidArgument("kind \"" + kind->substr(0, 50) +
                                     "\" is not \"custom\", \"schedule\", \"poll\" or a "
                                     "known provider");
    }
    source->kind = *kind;
  }
  auto enabled = BoolField(body, "enabled", source->enabled);
  if (!enabled) return enabled.error();
  source->enabled = *enabled;

  // Schedule and poll sources (src/schedule): a config under the kind's name, and none of the
  // webhook members (they have no ingest URL).
  for (std::string_view kind : {schedule::kScheduleKind, schedule::kPollKind}) {
    if (body.contains(kind) && source->kind != kind) {
      return Status::InvalidArgument("\"" + std::string(kind) + "\" applies to sources of kind \"" +
                                     std::string(kind) + "\" only");
    }
  }
  if (source->generated()) {
    for (std::string_view member : {"auth", "secret", "allowed_ips", "allowed_origins",
                                    "delivery_id_header", "max_body_bytes"}) {
      if (body.contains(member)) {
        return Status::InvalidArgument("a " + source->kind + " source has no ingest URL: \"" +
                                       std::string(member) + "\" does not apply");
      }
    }
    const boost::json::value* config = body.if_contains(source->kind);
    if (config == nullptr) {
      if (creating) {
        return Status::InvalidArgument("a " + source->kind + " source needs \"" + source->kind +
                                       "\" (its configuration)");
      }
      return Status::Ok();
    }
    boost::system::error_code ec;
    boost::json::value previous = boost::json::parse(source->trigger_config_json, ec);
    auto normalized = schedule::NormalizeConfig(
        source->kind, *config, !ec && previous.is_object() ? &previous.as_object() : nullptr);
    if (!normalized) return normalized.error();
    source->trigger_config_json = *normalized;
    return Status::Ok();
  }

  verify::AuthSettings settings;
  if (const auto* auth = body.if_contains("auth")) {
    auto parsed = verify::ParseAuthSettings(source->kind, *auth);
    if (!parsed) return parsed.error();
    settings = *parsed;
  } else {
    auto stored = verify::ParseAuthSettingsJson(source->kind, source->auth_json);
    if (!stored) return stored.error();
    settings = *stored;
  }
  source->auth_json = verify::SerializeAuthSettings(settings);

  const bool needs_secret = source->kind != "custom" || settings.hmac.has_value();
  if (const auto* secret = body.if_contains("secret"); secret && !secret->is_null()) {
    if (!secret->is_string() || secret->as_string().empty() || secret->as_string().size() > 1024) {
      return Status::InvalidArgument("secret must be a string of 1 to 1024 characters");
    }
    // Dropping it would let the sender believe its signatures are checked.
    if (!needs_secret) {
      return Status::InvalidArgument(
          "secret is a signing secret, and nothing would check signatures with it: a custom "
          "source needs auth.hmac (its header, algorithm, encoding), or use a provider kind "
          "that signs (GET /api/v1/providers)");
    }
    source->signing_secret = std::string(secret->as_string());
  } else if (needs_secret && (source->signing_secret.empty() || rotate)) {
    source->signing_secret = "whsec_" + crypto::Base64Encode(crypto::RandomBytes(32));
    issued->secret = source->signing_secret;
  }
  if (!needs_secret) source->signing_secret.clear();
  if (settings.bearer && (source->token_hash.empty() || rotate)) {
    issued->token = "tdt_" + crypto::RandomToken(40);
    source->token_hash = HashSecret(issued->token);
  }
  if (!settings.bearer) source->token_hash.clear();

  if (creating || body.contains("allowed_ips")) {
    auto ips = StringListField(body, "allowed_ips");
    if (!ips) return ips.error();
    for (const auto& ip : *ips) {
      auto network = IpNetwork::Parse(ip);
      if (!network) return Status::InvalidArgument("allowed_ips: " + network.error().message());
    }
    source->allowed_ips = *ips;
  }
  if (creating || body.contains("allowed_origins")) {
    auto origins = StringListField(body, "allowed_origins");
    if (!origins) return origins.error();
    std::vector<std::string> normalized;
    for (const auto& origin : *origins) {
      auto entry = NormalizeOrigin(origin);
      if (!entry) return entry.error();
      normalized.push_back(std::move(*entry));
    }
    source->allowed_origins = std::move(normalized);
  }
  if (creating || body.contains("delivery_id_header")) {
    auto header = StringField(body, "delivery_id_header", "");
    if (!header) return header.error();
    if (!header->empty() && !IsHeaderToken(*header)) {
      return Status::InvalidArgument("delivery_id_header must be a header name");
    }
    source->delivery_id_header = *header;
  }
  auto max_body = IntField(body, "max_body_bytes", source->max_body_bytes);
  if (!max_body) return max_body.error();
  if (*max_body < 0 || *max_body > kMaxBodyLimit) {
    return Status::InvalidArgument("max_body_bytes must be between 0 (server default) and " +
                                   std::to_string(kMaxBodyLimit));
  }
  source->max_body_bytes = *max_body;

  verify::Secrets secrets;
  if (!source->signing_secret.empty()) secrets.signing.push_back(source->signing_secret);
  if (!source->token_hash.empty()) secrets.bearer_token_sha256.push_back(source->token_hash);
  auto verifier = verify::MakeVerifier(source->kind, settings, secrets);
  if (!verifier) return verifier.error();
  return Status::Ok();
}

http::Response WithIssued(const std::string& base_url, int status, const store::Source& source,
                          const Issued& issued) {
  boost::json::object out = SourceJson(base_url, source);
  if (!issued.secret.empty()) out["secret"] = issued.secret;
  if (!issued.token.empty()) out["token"] = issued.token;
  return Json(status, out);
}

}  // namespace

std::optional<BodyError> ApplySourceBody(const boost::json::object& body, bool creating,
                                         bool rotate, store::Source* source,
                                         IssuedSourceSecrets* issued) {
  // The handlers answer these with http::ErrorResponse: a BodyError without a field has the
  // same body.
  if (Status s = ApplySourceFields(body, creating, rotate, source, issued); !s.ok()) {
    return BodyError{s, "", std::nullopt};
  }
  return std::nullopt;
}

http::Response BodyErrorResponse(const BodyError& error) {
  if (error.filter_error) return InvalidFilterResponse(*error.filter_error);
  return FieldErrorResponse(error.status, error.field);
}

std::optional<http::Response> RefuseManaged(const ApiContext& context, std::string_view what,
                                            const std::string& name,
                                            const std::string& managed_by) {
  if (managed_by.empty()) return std::nullopt;
  const std::string file = context.config_file.empty() ? "the config file" : context.config_file;
  return http::ErrorResponse(Status::Conflict(
      std::string(what) + " \"" + name.substr(0, 200) + "\" is managed by " + file +
          ": change it there (applied on reload, SIGHUP or when the file changes)",
      "managed_by_config"));
}

boost::json::value ManagedByJson(const std::string& managed_by) {
  return managed_by.empty() ? boost::json::value(nullptr) : boost::json::value(managed_by);
}

void RegisterSourceRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("POST", "/api/v1/sources", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                store::Source source;
                source.id = NewId("src");
                source.workspace_id = p.workspace_id;
                source.url_secret = crypto::RandomToken(32);
                source.created_by = p.key_id;
                source.created_at = source.updated_at = ctx->clock->NowMicros();
                Issued issued;
                if (auto s = ApplySourceFields(*body, true, false, &source, &issued); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                if (auto s = ctx->store->CreateSource(source); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                ctx->ingestor->Upsert(source);
                if (ctx->producer != nullptr) ctx->producer->Upsert(source);
                return WithIssued(BaseUrl(*ctx, r), 201, source, issued);
              }));

  router->Add("GET", "/api/v1/sources", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                int limit = 0;
                std::optional<int64_t> before;
                if (auto e = ReadPageParams(r, &limit, &before)) return *e;
                auto sources = ctx->store->ListSources(p.workspace_id);
                if (!sources) return http::ErrorResponse(sources.error());
                auto page = PageInMemory(std::move(*sources), limit, before);
                std::string base_url = BaseUrl(*ctx, r);
                boost::json::array data;
                for (const auto& source : page.items) {
                  boost::json::object o = SourceJson(base_url, source);
                  AddProducerState(*ctx, source, &o);
                  data.push_back(std::move(o));
                }
                return PageJson(std::move(data), page.next_cursor);
              }));

  router->Add("GET", "/api/v1/sources/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto source = ctx->store->GetSource(p.workspace_id, r.path_params["id"]);
                if (!source) return http::ErrorResponse(source.error());
                boost::json::object o = SourceJson(BaseUrl(*ctx, r), *source);
                AddProducerState(*ctx, *source, &o);
                return Json(200, o);
              }));

  auto update = [ctx](bool rotate) {
    return Authed(ctx, [ctx, rotate](const Principal& p, http::Request& r) {
      // Existence first, so a key of another workspace gets 404 whatever its role.
      auto source = ctx->store->GetSource(p.workspace_id, r.path_params["id"]);
      if (!source) return http::ErrorResponse(source.error());
      if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) return http::ErrorResponse(s);
      if (auto e = RefuseManaged(*ctx, "source", source->name, source->managed_by)) return *e;
      boost::json::object body;
      if (!rotate || !r.body.empty()) {
        auto parsed = ParseObject(r);
        if (!parsed) return http::ErrorResponse(parsed.error());
        body = std::move(*parsed);
      }
      // Rotate: new credentials for those the source has (signing secret, token); the URL
      // secret too when asked ({"url_secret": true}: the old URL stops working at once) or when
      // it is the source's only credential. A generated source has none.
      bool rotate_url = false;
      if (rotate) {
        if (auto s = RejectUnknownFields(body, {"secret", "url_secret"}); !s.ok()) {
          return http::ErrorResponse(s);
        }
        if (const boost::json::value* v = body.if_contains("url_secret")) {
          if (!v->is_bool()) {
            return FieldErrorResponse(Status::InvalidArgument("url_secret must be true or false"),
                                      "url_secret");
          }
          rotate_url = v->as_bool();
          body.erase("url_secret");
        }
      }
      Issued issued;
      if (auto s = ApplySourceFields(body, false, rotate, &*source, &issued); !s.ok()) {
        return http::ErrorResponse(s);
      }
      if (rotate && issued.secret.empty() && issued.token.empty() && !body.contains("secret")) {
        if (source->generated()) {
          return http::ErrorResponse(Status::InvalidArgument(
              "a " + source->kind + " source has no credentials to rotate", "nothing_to_rotate"));
        }
        rotate_url = true;
      }
      if (rotate_url) source->url_secret = crypto::RandomToken(32);
      source->updated_at = ctx->clock->NowMicros();
      if (auto s = ctx->store->UpdateSource(*source); !s.ok()) return http::ErrorResponse(s);
      ctx->ingestor->Upsert(*source);
      if (ctx->producer != nullptr) ctx->producer->Upsert(*source);
      return WithIssued(BaseUrl(*ctx, r), 200, *source, issued);
    });
  };
  router->Add("PATCH", "/api/v1/sources/{id}", update(false));
  router->Add("POST", "/api/v1/sources/{id}/rotate", update(true));

  router->Add("DELETE", "/api/v1/sources/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto source = ctx->store->GetSource(p.workspace_id, r.path_params["id"]);
                if (!source) return http::ErrorResponse(source.error());
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                if (auto e = RefuseManaged(*ctx, "source", source->name, source->managed_by)) {
                  return *e;
                }
                if (auto s = ctx->store->DeleteSource(p.workspace_id, source->id); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                ctx->ingestor->Remove(source->id);
                if (ctx->producer != nullptr) ctx->producer->Remove(source->id);
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api
