#include <spdlog/spdlog.h>

#include "api/internal.h"
#include "common/crypto.h"
#include "common/json_parse.h"
#include "common/redact.h"

namespace triggerd::api {

Result<Principal> Authenticate(ApiContext* context, const http::Request& request) {
  return Authenticate(context, request.headers);
}

Result<Principal> Authenticate(ApiContext* context, const Headers& headers) {
  auto header = FindHeader(headers, "Authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (!header || header->size() <= kScheme.size() ||
      !HeaderNameEquals(header->substr(0, kScheme.size()), kScheme)) {
    return Status::Unauthenticated("send an API key as \"Authorization: Bearer <key>\"",
                                   "missing_api_key");
  }
  std::string_view key = header->substr(kScheme.size());
  auto found = context->store->FindApiKeyByHash(crypto::SecretHash(key));
  if (!found) {
    if (found.error().type() == ErrorType::kNotFound) {
      return Status::Unauthenticated("the API key is not valid", "invalid_api_key");
    }
    return found.error();
  }
  return Principal{found->workspace_id, found->id, found->role};
}

Status RequireRole(const Principal& principal, store::Role role) {
  auto rank = [](store::Role r) {
    return r == store::Role::kAdmin ? 3 : r == store::Role::kBuilder ? 2 : 1;
  };
  if (rank(principal.role) >= rank(role)) return Status::Ok();
  return Status::PermissionDenied("this needs an API key with the " +
                                      std::string(store::RoleName(role)) + " role",
                                  "insufficient_role");
}

Result<boost::json::object> ParseObject(const http::Request& request) {
  boost::system::error_code ec;
  boost::json::value value = ParseJson(request.body, ec);
  if (ec) {
    return Status::InvalidArgument("the request body is not valid JSON: " + JsonErrorMessage(ec),
                                   "invalid_json");
  }
  if (!value.is_object()) {
    return Status::InvalidArgument("the request body must be a JSON object", "invalid_json");
  }
  return std::move(value.as_object());
}

http::Response FieldErrorResponse(const Status& status, std::string_view field) {
  // The same body as http::ErrorResponse, plus the member it is about.
  boost::json::object error;
  error["type"] = status.code().empty() ? "internal" : status.code();
  error["message"] = status.message();
  if (!field.empty()) error["field"] = field;
  return Json(http::HttpStatusFor(status.type()), {{"error", std::move(error)}});
}

http::Response UnknownFieldResponse(const std::string& field) {
  return FieldErrorResponse(Status::InvalidArgument("unknown field \"" + field + "\""), field);
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

Result<int> LimitParam(const http::Request& r) {
  auto limit = PositiveParam(r, "limit", 50);
  if (!limit) return limit.error();
  return static_cast<int>(std::min<int64_t>(*limit, 500));
}

Result<std::optional<int64_t>> CursorParam(const http::Request& r) {
  auto it = r.query_params.find("cursor");
  if (it == r.query_params.end() || it->second.empty()) return std::optional<int64_t>();
  auto cursor = PositiveParam(r, "cursor", 0);
  if (!cursor) return Status::InvalidArgument("cursor is not valid");
  return std::optional<int64_t>(*cursor);
}

std::optional<http::Response> ReadPageParams(const http::Request& r, int* limit,
                                             std::optional<int64_t>* before_seq) {
  auto parsed_limit = LimitParam(r);
  if (!parsed_limit) return FieldErrorResponse(parsed_limit.error(), "limit");
  auto cursor = CursorParam(r);
  if (!cursor) return FieldErrorResponse(cursor.error(), "cursor");
  *limit = *parsed_limit;
  *before_seq = *cursor;
  return std::nullopt;
}

http::Response PageJson(boost::json::array items, std::optional<int64_t> next_cursor) {
  boost::json::value next = nullptr;
  if (next_cursor) next = std::to_string(*next_cursor);
  return Json(200, {{"data", std::move(items)}, {"next_cursor", std::move(next)}});
}

bool CanSee(const Principal& principal, std::string_view owner) {
  return principal.role == store::Role::kAdmin || owner == principal.key_id;
}

std::string IngestUrl(const std::string& base_url, const store::Source& source,
                      const Principal& viewer, bool* elided) {
  const bool shown = CanSee(viewer, source.created_by);
  if (elided != nullptr) *elided = !shown;
  return base_url + "/api/v1/w/" + source.workspace_id + "/triggers/hooks/" + source.id + "/" +
         (shown ? source.url_secret : std::string(kRedactedUrlPart));
}

http::Response Json(int status, const boost::json::value& value) {
  return http::JsonResponse(status, SerializeJson(value));
}

std::string Time(int64_t unix_micros) { return FormatRfc3339(unix_micros); }

std::string BaseUrl(const ApiContext& context, const http::Request& request) {
  if (!context.public_base_url.empty()) return context.public_base_url;
  auto host = FindHeader(request.headers, "Host");
  return "http://" + std::string(host && !host->empty() ? *host : "localhost");
}

void OffIoThread(ApiContext* context, std::function<void()> task) {
  if (context->run_blocking) {
    context->run_blocking(std::move(task));
  } else {
    task();
  }
}

// Management calls read the store (the key lookup, the resources) and write it, waiting for the
// group commit's fsync: on an io thread that would stall every connection it serves, webhooks
// included. So the whole handler runs on the blocking pool and answers through the Reply.
http::RouteSpec AuthedAsync(ApiContext* context, AuthedAsyncHandler handler,
                            RefusalResponse refuse) {
  auto shared = std::make_shared<AuthedAsyncHandler>(std::move(handler));
  // Only the Authorization field travels to the pool: the head is the server's until `done`.
  http::HeadGuard guard = [context, refuse](const http::RequestHead& head,
                                            http::HeadGuardDone done) {
    Headers authorization;
    if (auto value = FindHeader(head.headers, "Authorization")) {
      authorization.push_back({"Authorization", std::string(*value)});
    }
    OffIoThread(context, [context, refuse, authorization = std::move(authorization),
                          done = std::move(done)] {
      auto principal = Authenticate(context, authorization);
      done(principal ? std::nullopt : std::optional<http::Response>(refuse(principal.error())));
    });
  };
  http::RouteHandler route = [context, shared, refuse](http::Request request,
                                                       http::Reply reply) {
    OffIoThread(context, [context, shared, refuse, request = std::move(request),
                          reply = std::move(reply)]() mutable {
      auto principal = Authenticate(context, request);
      if (!principal) {
        reply(refuse(principal.error()));
        return;
      }
      (*shared)(*principal, request, std::move(reply));
    });
  };
  return http::RouteSpec{std::move(route), nullptr, std::move(guard)};
}

http::RouteSpec Authed(ApiContext* context, AuthedHandler handler, RefusalResponse refuse) {
  return AuthedAsync(
      context,
      [handler = std::move(handler)](const Principal& p, http::Request& r, http::Reply reply) {
        reply(handler(p, r));
      },
      std::move(refuse));
}

}  // namespace triggerd::api
