// /api/v1/me, /api/v1/keys, /api/v1/workspaces, and the first-start bootstrap.
#include "api/internal.h"
#include "common/crypto.h"
#include "common/ids.h"

namespace triggerd::api {
namespace {

constexpr size_t kKeyPrefixLength = 12;  // "tdk_" + 8 characters, shown in listings

struct NewKey {
  store::ApiKey record;
  std::string secret;
};

NewKey MakeKey(const std::string& workspace_id, const std::string& name, store::Role role,
               const std::string& created_by, int64_t now) {
  NewKey key;
  key.secret = "tdk_" + crypto::RandomToken(40);
  key.record.id = NewId("key");
  key.record.workspace_id = workspace_id;
  key.record.name = name;
  key.record.role = role;
  key.record.prefix = key.secret.substr(0, kKeyPrefixLength);
  key.record.hash = crypto::SecretHash(key.secret);
  key.record.created_by = created_by;
  key.record.created_at = now;
  return key;
}

boost::json::object KeyJson(const store::ApiKey& key) {
  boost::json::object o;
  o["id"] = key.id;
  o["name"] = key.name;
  o["role"] = store::RoleName(key.role);
  o["prefix"] = key.prefix;
  o["created_by"] = key.created_by;
  o["created_at"] = Time(key.created_at);
  o["revoked_at"] = key.revoked_at ? boost::json::value(Time(*key.revoked_at)) : nullptr;
  return o;
}

Result<std::string> NameField(const boost::json::object& body) {
  auto name = StringField(body, "name", std::nullopt);
  if (!name) return name.error();
  TRIGGERD_RETURN_IF_ERROR(CheckName(*name, /*required=*/true));
  return name;
}

}  // namespace

Result<std::optional<Bootstrap>> BootstrapIfEmpty(store::Store* store, const Clock& clock,
                                                  const std::string& name) {
  int64_t now = clock.NowMicros();
  store::Workspace workspace{NewId("ws"), name, now};
  NewKey key = MakeKey(workspace.id, "bootstrap admin", store::Role::kAdmin, "bootstrap", now);
  auto created = store->CreateFirstWorkspace(workspace, key.record);
  if (!created) return created.error();
  if (!*created) return std::optional<Bootstrap>();
  return std::optional<Bootstrap>(Bootstrap{workspace.id, key.secret});
}

Result<IssuedKey> IssueApiKey(store::Store* store, const Clock& clock,
                              const std::string& workspace_id, const std::string& name,
                              store::Role role, const std::string& created_by) {
  TRIGGERD_RETURN_IF_ERROR(CheckName(name, /*required=*/true));
  NewKey key = MakeKey(workspace_id, name, role, created_by, clock.NowMicros());
  TRIGGERD_RETURN_IF_ERROR(store->CreateApiKey(key.record));
  return IssuedKey{std::move(key.record), std::move(key.secret)};
}

namespace {

// Refuses to revoke the workspace's last active admin key: nobody could manage the workspace
// through the API any more (the way back is `triggerd key create --role admin` on the server).
// Checked before the revoke, not in its transaction: two admins revoking each other's keys at
// the same moment could still both succeed, and the command above is the remedy.
Status KeepAnAdmin(ApiContext* ctx, const std::string& workspace_id, const std::string& key_id) {
  auto keys = ctx->store->ListApiKeys(workspace_id);
  if (!keys) return keys.error();
  bool revoking_admin = false;
  int other_admins = 0;
  for (const auto& key : *keys) {
    if (key.role != store::Role::kAdmin || key.revoked_at) continue;
    if (key.id == key_id) {
      revoking_admin = true;
    } else {
      ++other_admins;
    }
  }
  if (!revoking_admin || other_admins > 0) return Status::Ok();
  return Status::Conflict(
      "this is the workspace's last admin key: create another admin key before revoking it",
      "last_admin_key");
}

}  // namespace

void RegisterKeyRoutes(http::Router* router, ApiContext* ctx) {
  router->Add("GET", "/api/v1/me", Authed(ctx, [](const Principal& p, http::Request&) {
                return Json(200, {{"workspace_id", p.workspace_id},
                                  {"key_id", p.key_id},
                                  {"role", store::RoleName(p.role)}});
              }));

  router->Add("POST", "/api/v1/keys", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                if (auto s = RejectUnknownFields(*body, {"name", "role"}); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto name = NameField(*body);
                if (!name) return http::ErrorResponse(name.error());
                auto role_name = StringField(*body, "role", "user");
                if (!role_name) return http::ErrorResponse(role_name.error());
                auto role = store::ParseRole(*role_name);
                if (!role) {
                  return http::ErrorResponse(
                      Status::InvalidArgument("role must be one of admin, builder, user"));
                }
                NewKey key = MakeKey(p.workspace_id, *name, *role, p.key_id, ctx->clock->NowMicros());
                if (auto s = ctx->store->CreateApiKey(key.record); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                boost::json::object out = KeyJson(key.record);
                out["key"] = key.secret;
                return Json(201, out);
              }));

  router->Add("GET", "/api/v1/keys", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                int limit = 0;
                std::optional<int64_t> before;
                if (auto e = ReadPageParams(r, &limit, &before)) return *e;
                auto keys = ctx->store->ListApiKeys(p.workspace_id);
                if (!keys) return http::ErrorResponse(keys.error());
                auto page = PageInMemory(std::move(*keys), limit, before);
                boost::json::array data;
                for (const auto& key : page.items) data.push_back(KeyJson(key));
                return PageJson(std::move(data), page.next_cursor);
              }));

  router->Add("DELETE", "/api/v1/keys/{id}",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                if (auto s = KeepAnAdmin(ctx, p.workspace_id, r.path_params["id"]); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                Status s = ctx->store->RevokeApiKey(p.workspace_id, r.path_params["id"],
                                                    ctx->clock->NowMicros());
                if (!s.ok()) return http::ErrorResponse(s);
                return http::Response{204, {}, "", ""};
              }));

  router->Add("POST", "/api/v1/workspaces",
              Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                if (auto s = RequireRole(p, store::Role::kAdmin); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto body = ParseObject(r);
                if (!body) return http::ErrorResponse(body.error());
                if (auto s = RejectUnknownFields(*body, {"name"}); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                auto name = NameField(*body);
                if (!name) return http::ErrorResponse(name.error());
                int64_t now = ctx->clock->NowMicros();
                store::Workspace workspace{NewId("ws"), *name, now};
                if (auto s = ctx->store->CreateWorkspace(workspace); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                NewKey key = MakeKey(workspace.id, "admin", store::Role::kAdmin, p.key_id, now);
                if (auto s = ctx->store->CreateApiKey(key.record); !s.ok()) {
                  return http::ErrorResponse(s);
                }
                return Json(201, {{"id", workspace.id},
                                  {"name", workspace.name},
                                  {"created_at", Time(now)},
                                  {"admin_key", key.secret}});
              }));

  // A key sees only its own workspace: others are not even listed.
  router->Add("GET", "/api/v1/workspaces", Authed(ctx, [ctx](const Principal& p, http::Request& r) {
                int limit = 0;
                std::optional<int64_t> before;
                if (auto e = ReadPageParams(r, &limit, &before)) return *e;
                auto workspace = ctx->store->GetWorkspace(p.workspace_id);
                if (!workspace) return http::ErrorResponse(workspace.error());
                auto page = PageInMemory(std::vector<store::Workspace>{*workspace}, limit, before);
                boost::json::array data;
                for (const auto& w : page.items) {
                  data.push_back(
                      {{"id", w.id}, {"name", w.name}, {"created_at", Time(w.created_at)}});
                }
                return PageJson(std::move(data), page.next_cursor);
              }));
}

}  // namespace triggerd::api
