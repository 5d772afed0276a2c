// http: an HTTP/1.1 server (Boost.Beast, C++20 coroutines) and a small router, exposing only
// plain types. It knows nothing of webhooks: ingest and api register routes on a Router.
//
// Request flow per connection: read the head (bounded size and time) -> the route's head guard,
// if any, may refuse (possibly after a lookup off the io thread) -> the route's head check
// decides at once (e.g. 404, 405, 413 by Content-Length, 403) or grants a body limit -> read the
// body (bounded; a chunked body is cut off at the limit with 413) -> the route's handler answers
// through a Reply, possibly later and from another thread (e.g. after a group commit).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/headers.h"
#include "common/result.h"
#include "common/status.h"

namespace triggerd::http {

// The request line and headers, available before the body has been read.
struct RequestHead {
  std::string method;  // "POST", "GET", …
  std::string target;  // as received: path and query
  std::string path;    // the target up to '?'
  Headers headers;
  std::string remote_ip;                      // peer address of the TCP connection
  std::optional<uint64_t> content_length;     // nullopt when chunked or absent
  // The caller's X-Request-Id when it is a plausible id, else a new one ("req_…"). Every answer
  // carries it, those the server gives from the head alone (404, 405, 413) included.
  std::string request_id;
};

struct Request : RequestHead {
  std::map<std::string, std::string> path_params;   // filled by the Router: "{id}" -> value
  std::map<std::string, std::string> query_params;  // decoded; last value wins
  std::string body;
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Type and Content-Length are set from the fields below
  std::string content_type = "application/json";
  std::string body;
  // For a reply from a thread whose time is precious (the store's writer replies to every
  // ingested event): the server runs this once on the connection's own thread, just before it
  // writes the answer, to fill in the rest (typically `body`). Empty: the answer is complete.
  std::function<void(Response*)> finish;
};

// Answers a request. Call exactly once, from any thread.
using Reply = std::function<void(Response)>;

// {"error":{"type":…,"message":…}} with the status that `status.type()` maps to. The one place
// where ErrorType becomes an HTTP status.
Response ErrorResponse(const Status& status);
int HttpStatusFor(ErrorType type);
// A JSON response with the given status; `json` is serialised JSON text.
Response JsonResponse(int status, std::string json);

// What a route decides once the head has arrived.
struct HeadDecision {
  std::optional<Response> response;  // answer now, without reading the body
  size_t body_limit = 0;             // else: read a body of at most this many bytes
};

using HeadCheck = std::function<HeadDecision(const RequestHead& head,
                                             const std::map<std::string, std::string>& params)>;
using RouteHandler = std::function<void(Request request, Reply reply)>;

// A check of the head that may take time (e.g. a credential looked up in a database): it runs
// once the head has arrived, before the route's HeadCheck and before any of the body is read,
// so a refused client never gets a body buffered (a 1 MiB Content-Length is memory, even if the
// client never sends it). `done(nullopt)` lets the request go on; `done(response)` answers it
// from the head (the body, if any, is discarded unread and the connection closed). Call `done`
// exactly once, from any thread; the server's io thread is not held meanwhile. `head` is valid
// only during the call: copy what a later `done` needs.
using HeadGuardDone = std::function<void(std::optional<Response> refusal)>;
using HeadGuard = std::function<void(const RequestHead& head, HeadGuardDone done)>;

// A route's parts; only `handler` is required.
struct RouteSpec {
  RouteHandler handler;
  HeadCheck head_check;  // none: the router's default body limit
  HeadGuard head_guard;  // none: the head check decides alone
};

// One answered request, as the Router saw it (see Router::SetObserver). Plain data, so that
// http stays free of metrics types; the views are valid only during the call.
struct RouteObservation {
  std::string_view method;   // as received
  // The matched route's pattern ("/api/v1/sources/{id}", never the raw path); for a 405, the
  // pattern of the first route whose path matched; empty when no route's path matched (404).
  std::string_view pattern;
  int status = 0;
  // From the router seeing the request to its answer: for answers from the head (404, 405, the
  // head checks' 403/413...) about zero; otherwise from the complete request (body read) to
  // the Reply, e.g. for ingest the time to the durable 200.
  std::chrono::nanoseconds duration{0};
};
using RouteObserver = std::function<void(const RouteObservation&)>;

// Matches "/api/v1/sources/{id}"-style patterns (a {name} segment matches one non-empty path
// segment). An unknown path is 404; a known path with another method is 405 with `Allow`.
// Routes are added before the server starts; matching is then read-only and thread-safe.
class Router {
 public:
  explicit Router(size_t default_body_limit) : default_body_limit_(default_body_limit) {}
  // `method` "*" matches every method (the handler then answers 405 itself where it must).
  // `head_check` is optional: without one the body limit is the router's default.
  void Add(std::string method, std::string pattern, RouteHandler handler,
           HeadCheck head_check = nullptr);
  void Add(std::string method, std::string pattern, RouteSpec route);

  // The head guard of the route `head` matches, bound to the router's observer (a refusal is
  // observed); nullptr when that route has none or no route matches (OnHead answers those).
  // The server runs it, when there is one, before OnHead.
  HeadGuard GuardFor(const RequestHead& head) const;
  HeadDecision OnHead(const RequestHead& head) const;
  void Handle(Request request, Reply reply) const;

  // Called once per request the router answers, before the answer is handed to the server (so a
  // client that has its answer sees it counted), on the answering thread: an io thread, or e.g.
  // the store's commit thread for ingest. Must be cheap and thread-safe. Set before the server
  // starts. Not seen: what the server answers before or without routing (400 malformed, 431,
  // 408, 503 over max_connections, and a chunked body cut off with 413).
  void SetObserver(RouteObserver observer) { observer_ = std::move(observer); }

  // Every (method, pattern) registered, for route-listing tests and documentation.
  std::vector<std::pair<std::string, std::string>> Routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
    HeadCheck head_check;
    HeadGuard head_guard;
  };
  // The route for (method, path) with its params, or the error response (404/405).
  // `path_pattern` receives the pattern of the first route whose path matched, if any.
  const Route* Match(std::string_view method, std::string_view path,
                     std::map<std::string, std::string>* params, Response* error,
                     std::string_view* path_pattern) const;
  void Observe(std::string_view method, std::string_view pattern, int status,
               std::chrono::steady_clock::time_point start) const;

  size_t default_body_limit_;
  std::vector<Route> routes_;
  RouteObserver observer_;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port (see Server::port())
  int threads = 0;       // io_context threads; 0 = one per core
  // Request line plus headers. Beyond: 431 and the connection is closed.
  size_t max_header_bytes = 16 * 1024;
  // Time allowed to receive a whole request head, and a whole body (slowloris defence).
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection idle this long between requests is closed.
  std::chrono::milliseconds idle_timeout{60'000};
  // Open connections beyond this are answered 503 and closed. Capped at start to fit under the
  // process's file descriptor limit (RLIMIT_NOFILE's soft limit, read once by Server::Start)
  // less `reserved_fds`, so connections alone never exhaust descriptors (see
  // Server::connection_limit).
  size_t max_connections = 10'000;
  // Descriptors kept for everything but client connections (database files, agents' and
  // PostgreSQL connections, config watches): at most half the limit.
  size_t reserved_fds = 256;
};

// Thread safety: Start/Stop/port from one controlling thread.
//
// Out of file descriptors (accept fails with EMFILE/ENFILE, e.g. when something else in the
// process holds descriptors), the server neither spins nor leaves clients waiting in the
// backlog: it frees a descriptor it keeps in reserve, accepts the waiting client, answers it 503
// (Retry-After: 1) and closes it, takes the reserve back, and when even that fails waits (10 ms,
// doubling up to 1 s) before it accepts again.
class Server {
 public:
  // Binds, listens and starts the io threads. Errors when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, const Router* router);
  virtual ~Server() = default;

  virtual uint16_t port() const = 0;
  // Graceful stop: stops accepting, closes idle connections, lets in-flight requests finish and
  // answer (with Connection: close) for at most `grace`, then closes the rest and joins threads.
  virtual void Stop(std::chrono::milliseconds grace) = 0;
  virtual size_t open_connections() const = 0;
  // max_connections after the descriptor cap.
  virtual size_t connection_limit() const = 0;
};

// One connection's exchange without a socket: parses `bytes` as the HTTP/1.1 requests a client
// sent on one connection before half-closing it (pipelined requests included), with the server's
// limits from `options` (head size; body limits come from the routes), and answers each through
// `router` with the same steps as Server: head checks, 413 by Content-Length, 100-continue,
// chunked bodies cut off at the limit, 400/431 for malformed input. Returns every byte the server
// would write back. No timeouts apply (the input is all there is). Blocks until each route has
// replied, so it must not run on a thread a reply depends on. For the fuzz target
// (fuzz/http_request_fuzz.cc) and tests.
std::string HandleRequestBytes(std::string_view bytes, const Router& router,
                               const ServerOptions& options,
                               const std::string& remote_ip = "127.0.0.1");

}  // namespace triggerd::http
