// /api/v1/sources: admins create and change sources; every role reads them, the URL secret in
// `url` excepted (admins and the source's creator only: IngestUrl).
#include "api/internal.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/ip_network.h"
#include "schedule/schedule.h"
#include "verify/verify.h"

namespace triggerd::api {
namespace {

// The source as `viewer` may see it: the URL secret only for admins and the source's creator
// (IngestUrl); signing secrets and tokens never (has_secret, has_token).
boost::json::object SourceJson(const std::string& base_url, const store::Source& source,
                               const Principal& viewer) {
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
  bool elided = false;
  o["url"] = source.generated() ? boost::json::value(nullptr)
                                : boost::json::value(IngestUrl(base_url, source, viewer, &elided));
  o["url_secret_elided"] = elided;
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

http::Response WithIssued(const std::string& base_url, int status, const store::Source& source,
                          const Principal& viewer, const IssuedSourceSecrets& issued) {
  boost::json::object out = SourceJson(base_url, source, viewer);
  if (!issued.secret.empty()) out["secret"] = issued.secret;
  if (!issued.token.empty()) out["token"] = issued.token;
  return Json(status, out);
}

}  // namespace

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
                IssuedSourceSecrets issued;
                if (auto e = ApplySourceBody(*body, true, false, &source, &issued)) {
                  return BodyErrorResponse(*e);
                }
                if (auto s = ctx->catalog->CreateSource(source); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return WithIssued(BaseUrl(*ctx, r), 201, source, p, issued);
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
                  boost::json::object o = SourceJson(base_url, source, p);
                  AddProducerState(*ctx, source, &o);
                  data.push_back(std::move(o));
                }
                return PageJson(std::move(data), page.next_cursor);
              }));

  router->Add("GET", "/api/v1/sources/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                auto source = ctx->store->GetSource(p.workspace_id, r.path_params["id"]);
                if (!source) return http::ErrorResponse(source.error());
                boost::json::object o = SourceJson(BaseUrl(*ctx, r), *source, p);
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
      IssuedSourceSecrets issued;
      if (auto e = ApplySourceBody(body, false, rotate, &*source, &issued)) {
        return BodyErrorResponse(*e);
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
      if (auto s = ctx->catalog->UpdateSource(*source); !s.ok()) return http::ErrorResponse(s);
      return WithIssued(BaseUrl(*ctx, r), 200, *source, p, issued);
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
                if (auto s = ctx->catalog->DeleteSource(p.workspace_id, source->id); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return http::Response{204, {}, "", ""};
              }));
}

}  // namespace triggerd::api
