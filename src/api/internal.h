// Shared by the route files of api/: authentication, JSON request/response helpers.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "api/api.h"

namespace triggerd::filter {
struct CompileError;
}  // namespace triggerd::filter

namespace triggerd::api {

struct Principal {
  std::string workspace_id;
  std::string key_id;
  store::Role role = store::Role::kUser;
};

// From `Authorization: Bearer <api key>`: kUnauthenticated when missing/unknown/revoked.
Result<Principal> Authenticate(ApiContext* context, const http::Request& request);
// kPermissionDenied unless the principal has `role` or a stronger one (admin > builder > user).
Status RequireRole(const Principal& principal, store::Role role);

// The request body as a JSON object; kInvalidArgument with a precise message otherwise.
Result<boost::json::object> ParseObject(const http::Request& request);

// Typed member access with errors naming the field. Absent members yield `fallback`.
Result<std::string> StringField(const boost::json::object& object, std::string_view name,
                                std::optional<std::string> fallback);
Result<bool> BoolField(const boost::json::object& object, std::string_view name, bool fallback);
Result<int64_t> IntField(const boost::json::object& object, std::string_view name,
                         int64_t fallback);
Result<std::vector<std::string>> StringListField(const boost::json::object& object,
                                                 std::string_view name);
// kInvalidArgument naming every member of `object` not in `known`.
Status RejectUnknownFields(const boost::json::object& object,
                           std::initializer_list<std::string_view> known);

http::Response Json(int status, const boost::json::value& value);
std::string Time(int64_t unix_micros);  // RFC 3339 UTC
// context->public_base_url, or "http://" + the request's Host header.
std::string BaseUrl(const ApiContext& context, const http::Request& request);
// Hex SHA-256, the stored form of API keys and tokens.
std::string HashSecret(std::string_view secret);

// A handler that needs an authenticated principal; errors become JSON error responses.
using AuthedHandler = std::function<http::Response(const Principal&, http::Request&)>;
http::RouteHandler Authed(ApiContext* context, AuthedHandler handler);

void RegisterKeyRoutes(http::Router* router, ApiContext* context);
void RegisterSourceRoutes(http::Router* router, ApiContext* context);
void RegisterEventRoutes(http::Router* router, ApiContext* context);
void RegisterIngestRoutes(http::Router* router, ApiContext* context);
void RegisterFilterRoutes(http::Router* router, ApiContext* context);

// 400 {"error":{"type":"invalid_filter","message":"l:c: …","line":l,"column":c}}.
http::Response InvalidFilterResponse(const filter::CompileError& error);

}  // namespace triggerd::api
