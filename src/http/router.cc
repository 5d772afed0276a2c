#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "common/ids.h"
#include "common/utf8.h"
#include "common/log_context.h"
#include "http/exchange.h"
#include "http/http.h"

namespace triggerd::http {
namespace {

// The views point into `path`.
std::vector<std::string_view> SplitPathViews(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view segment : SplitPathViews(path)) out.emplace_back(segment);
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A path segment percent-decoded (RFC 3986: "%20" is a space, '+' stays '+'); nullopt when an
// escape is malformed or the bytes are not UTF-8, which no name or id can be (the caller answers
// 400 rather than look up, and later echo, bytes no JSON can carry).
std::optional<std::string> DecodeSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size()) return std::nullopt;
    const int high = HexValue(segment[i + 1]);
    const int low = HexValue(segment[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (FindInvalidUtf8(out) != std::string::npos) return std::nullopt;
  return out;
}

// Decodes the query string; a malformed one yields no parameters (handlers then see defaults).
std::map<std::string, std::string> ParseQuery(std::string_view target) {
  std::map<std::string, std::string> out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  for (auto param : parsed->params()) {
    out[std::string(param.key)] = param.has_value ? std::string(param.value) : "";
  }
  return out;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, RouteHandler handler,
                 HeadCheck head_check) {
  Add(std::move(method), std::move(pattern), RouteSpec{std::move(handler), std::move(head_check), nullptr});
}

void Router::Add(std::string method, std::string pattern, RouteSpec spec) {
  Route route;
  route.method = std::move(method);
  route.segments = SplitPath(pattern);
  route.pattern = std::move(pattern);
  route.handler = std::move(spec.handler);
  route.head_check = std::move(spec.head_check);
  route.head_guard = std::move(spec.head_guard);
  routes_.push_back(std::move(route));
}

HeadGuard Router::GuardFor(const RequestHead& head) const {
  std::map<std::string, std::string> params;
  Response error;
  std::string_view pattern;
  const Route* route = Match(head.method, head.path, &params, &error, &pattern);
  if (route == nullptr || !route->head_guard) return nullptr;
  const HeadGuard* guard = &route->head_guard;  // routes_ do not change once the server runs
  return [this, guard, pattern, start = std::chrono::steady_clock::now()](
             const RequestHead& head, HeadGuardDone done) {
    (*guard)(head, [this, pattern, start, method = head.method,
                    done = std::move(done)](std::optional<Response> refusal) {
      if (refusal && observer_) Observe(method, pattern, refusal->status, start);
      done(std::move(refusal));
    });
  };
}

const Router::Route* Router::Match(std::string_view method, std::string_view path,
                                   std::map<std::string, std::string>* params, Response* error,
                                   std::string_view* path_pattern) const {
  // Runs twice per request (head and body) over every route: compares views, and builds the
  // params only for the route that matches.
  const std::vector<std::string_view> segments = SplitPathViews(path);
  std::string allow;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      match = IsParam(route.segments[i]) || route.segments[i] == segments[i];
    }
    if (!match) continue;
    if (path_pattern->empty()) *path_pattern = route.pattern;
    // HEAD is GET without the body (the server drops it, keeping Content-Length).
    if (route.method == method || route.method == "*" ||
        (method == "HEAD" && route.method == "GET")) {
      // Handlers see parameters decoded ("my%20dag" is the agent "my dag"); literal segments
      // compare as sent.
      params->clear();
      for (size_t i = 0; i < segments.size(); ++i) {
        if (!IsParam(route.segments[i])) continue;
        std::optional<std::string> value = DecodeSegment(segments[i]);
        if (!value) {
          *error = ErrorResponse(Status::InvalidArgument(
              "the path segment \"" + RepairUtf8(segments[i]) +
                  "\" is not valid percent-encoded UTF-8",
              "invalid_path"));
          return nullptr;
        }
        (*params)[route.segments[i].substr(1, route.segments[i].size() - 2)] = std::move(*value);
      }
      return &route;
    }
    if (allow.find(route.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += route.method;
    }
  }
  if (allow.empty()) {
    *error = ErrorResponse(Status::NotFound("no such resource: " + std::string(path)));
  } else {
    *error = ErrorResponse(Status(ErrorType::kMethodNotAllowed, "method_not_allowed",
                                 std::string(method) + " is not allowed here; use " + allow));
    error->headers.push_back({"Allow", allow});
  }
  return nullptr;
}

void Router::Observe(std::string_view method, std::string_view pattern, int status,
                     std::chrono::steady_clock::time_point start) const {
  observer_(RouteObservation{method, pattern, status, std::chrono::steady_clock::now() - start});
}

HeadDecision Router::OnHead(const RequestHead& head) const {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> params;
  Response error;
  std::string_view pattern;
  const Route* route = Match(head.method, head.path, &params, &error, &pattern);
  HeadDecision decision;
  if (route == nullptr) {
    decision = HeadDecision{std::move(error), 0};
  } else if (route->head_check) {
    decision = route->head_check(head, params);
  } else {
    decision = HeadDecision{std::nullopt, default_body_limit_};
  }
  if (observer_) {
    int status = decision.response ? decision.response->status : 0;
    // Mirrors the server (server.cc, after OnHead): a Content-Length above the granted limit is
    // answered 413 without reading the body, and Handle never runs. Change both together.
    if (status == 0 && head.content_length && *head.content_length > decision.body_limit) {
      status = 413;
    }
    if (status != 0) Observe(head.method, pattern, status, start);
  }
  return decision;
}

void Router::Handle(Request request, Reply reply) const {
  const auto start = std::chrono::steady_clock::now();
  Response error;
  std::string_view pattern;  // views routes_, which do not change once the server runs
  const Route* route =
      Match(request.method, request.path, &request.path_params, &error, &pattern);
  // Every answer carries the request's id, and the handler's log lines on this thread too.
  std::string request_id =
      request.request_id.empty() ? RequestIdFor(request.headers) : request.request_id;
  ScopedLogContext log_context({.request_id = request_id});
  reply = [this, reply = std::move(reply), method = request.method, pattern, start,
           request_id](Response response) {
    response.headers.push_back({"X-Request-Id", request_id});
    if (observer_) Observe(method, pattern, response.status, start);
    reply(std::move(response));
  };
  if (route == nullptr) {
    reply(std::move(error));
    return;
  }
  request.query_params = ParseQuery(request.target);
  route->handler(std::move(request), std::move(reply));
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& route : routes_) out.emplace_back(route.method, route.pattern);
  return out;
}

}  // namespace triggerd::http
