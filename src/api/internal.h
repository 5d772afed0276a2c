// Shared by the route files of api/: authentication, JSON request/response helpers.
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/api.h"
#include "common/json_fields.h"
#include "common/json_text.h"

namespace triggerd::filter {
struct CompileError;
}  // namespace triggerd::filter

namespace triggerd::api {

struct Principal {
  std::string workspace_id;
  std::string key_id;
  store::Role role = store::Role::kUser;
};

// From `Authorization: Bearer <api key>`: kUnauthenticated when missing/unknown/revoked. Reads
// the store: not on an io thread (OffIoThread).
Result<Principal> Authenticate(ApiContext* context, const Headers& headers);
Result<Principal> Authenticate(ApiContext* context, const http::Request& request);
// kPermissionDenied unless the principal has `role` or a stronger one (admin > builder > user).
Status RequireRole(const Principal& principal, store::Role role);

// The request body as a JSON object; kInvalidArgument with a precise message otherwise.
Result<boost::json::object> ParseObject(const http::Request& request);

// An error about one member of the request ("max_attempts", "target.url", "agent_id"): the
// Status's usual body plus "field", so a form can point at the member.
http::Response FieldErrorResponse(const Status& status, std::string_view field);
// 400 invalid_request "unknown field \"x\"" with field "x".
http::Response UnknownFieldResponse(const std::string& field);

// Query parameters of list routes. Absent or empty parameters yield the fallback / nullopt.
// An RFC 3339 time, in unix micros.
Result<std::optional<int64_t>> TimeParam(const http::Request& r, const std::string& name);
Result<int64_t> PositiveParam(const http::Request& r, const std::string& name, int64_t fallback);
// ?limit= (default 50, capped at 500) and ?cursor= (the opaque next_cursor of the previous page).
Result<int> LimitParam(const http::Request& r);
Result<std::optional<int64_t>> CursorParam(const http::Request& r);
// Both of the above into a query's `limit` and `before_seq`; the 400 naming the field when one
// is malformed.
std::optional<http::Response> ReadPageParams(const http::Request& r, int* limit,
                                             std::optional<int64_t>* before_seq);
// {"data": items, "next_cursor": "<seq>" | null}.
http::Response PageJson(boost::json::array items, std::optional<int64_t> next_cursor);

// Lists the store returns whole — a workspace's sources, agents, triggers, keys, webhooks: its
// configuration, small and bounded, unlike the event and run history — paged here with the same
// parameters and cursor as the store pages events (ReadPageParams, PageJson). `items` newest
// first (creation order); an item's "seq" is its position counted from the oldest (1), so the
// cursor is the position of the last item shown and the next page holds the ones below it, as
// before_seq does. Items created between pages are newer and shift nothing; deleting older ones
// shifts the rest by as many. The store has no stable sequence for these tables (SQLite's rowid
// changes on VACUUM), hence positions rather than a keyset in SQL.
template <typename T>
store::Page<T> PageInMemory(std::vector<T> items, int limit, std::optional<int64_t> before_seq) {
  const int64_t n = static_cast<int64_t>(items.size());
  // Index i (newest first) has position n - i; position < before_seq means i > n - before_seq.
  const int64_t begin = before_seq ? std::clamp<int64_t>(n - *before_seq + 1, 0, n) : 0;
  const int64_t end = std::min<int64_t>(begin + std::max(limit, 1), n);
  store::Page<T> page;
  page.items.assign(std::make_move_iterator(items.begin() + begin),
                    std::make_move_iterator(items.begin() + end));
  if (end < n) page.next_cursor = n - end + 1;  // the position of the last item shown
  return page;
}

// Personal resources (triggers, runs): admins see and manage all of them, other roles only the
// ones they own. Anything else is answered exactly like an unknown id (404).
bool CanSee(const Principal& principal, std::string_view owner);

// A webhook source's ingest URL, /api/v1/w/{workspace}/triggers/hooks/{source}/{url_secret}. The
// URL secret is a credential (whoever holds the URL can deliver), so it is shown only to those who
// may see the source's credentials: admins and the source's creator (CanSee). Everyone else gets
// the URL with the secret replaced by kRedactedUrlPart, and `*elided` (when given) says so.
std::string IngestUrl(const std::string& base_url, const store::Source& source,
                      const Principal& viewer, bool* elided = nullptr);

// Whether the principal may change `agent`: builder role or better (insufficient_role), and its
// creator or an admin (not_owner); both 403. The one rule for every route that changes an agent,
// its webhooks (compat/agent_webhooks.cc, compat/dagu_webhooks.cc) or adds a trigger to it as a
// project (compat/stackai_triggers.cc). The caller checks existence first, so that a key of
// another workspace gets 404 whatever its role (agents.cc).
Status RequireAgentOwner(const Principal& principal, const store::Agent& agent);

http::Response Json(int status, const boost::json::value& value);
std::string Time(int64_t unix_micros);  // RFC 3339 UTC
// context->public_base_url, or "http://" + the request's Host header.
std::string BaseUrl(const ApiContext& context, const http::Request& request);

// Runs `task` where a store call may wait: on ApiContext::run_blocking's pool (never an io
// thread, which serves webhooks too), else inline (tests without a pool).
void OffIoThread(ApiContext* context, std::function<void()> task);

// How a surface answers a request whose key is refused (compat surfaces have their own error
// shape, e.g. Dagu's); http::ErrorResponse by default.
using RefusalResponse = std::function<http::Response(const Status&)>;

// A route that needs an authenticated principal; errors become JSON error responses. The key is
// checked twice, both times through OffIoThread (never on an io thread): by the route's head
// guard, once the head has arrived and before any of the body is read, so a request without a
// valid key is refused (401) with its body unread and costs no body buffer; and again by the
// handler, which is authoritative (a key revoked while the body arrived is refused) and gives
// the principal. The second lookup is one indexed read of a small table.
using AuthedHandler = std::function<http::Response(const Principal&, http::Request&)>;
http::RouteSpec Authed(ApiContext* context, AuthedHandler handler,
                       RefusalResponse refuse = http::ErrorResponse);
// The same for a handler that answers later, through the Reply (exactly once, from any thread).
using AuthedAsyncHandler =
    std::function<void(const Principal&, http::Request&, http::Reply)>;
http::RouteSpec AuthedAsync(ApiContext* context, AuthedAsyncHandler handler,
                            RefusalResponse refuse = http::ErrorResponse);

void RegisterKeyRoutes(http::Router* router, ApiContext* context);
void RegisterSourceRoutes(http::Router* router, ApiContext* context);
void RegisterEventRoutes(http::Router* router, ApiContext* context);
void RegisterIngestRoutes(http::Router* router, ApiContext* context);
void RegisterFilterRoutes(http::Router* router, ApiContext* context);
void RegisterFilterGenerateRoute(http::Router* router, ApiContext* context);  // filter_generate.cc
void RegisterProviderRoutes(http::Router* router, ApiContext* context);
void RegisterAgentRoutes(http::Router* router, ApiContext* context);
void RegisterTriggerRoutes(http::Router* router, ApiContext* context);
void RegisterRunRoutes(http::Router* router, ApiContext* context);

// A match record as the API shows it (triggers.cc; events.cc shows them too):
// {event_id, trigger_id, outcome, run_id|null, message, evaluated_at, replay}.
boost::json::object MatchJson(const store::Match& match);
// Ids of the triggers of `source_id` (any source when "") that the principal owns. Non-admins see
// only these triggers' match records; records of deleted triggers have no known owner and are
// shown to admins only.
Result<std::set<std::string>> OwnTriggerIds(ApiContext* context, const Principal& principal,
                                            std::string_view source_id);

// How the webhook ingest route answers (ingest_route.cc), for the compat surfaces that hand a
// request to the same pipeline: a refusal of Admit or Ingest (the Status's code, Allow on 405,
// Retry-After on 429/503); an outcome: the handshake's answer, or 200
// {"event_id","received_at","duplicate","runs":[{"trigger_id","run_id"}…]}.
http::Response IngestRefusal(const Status& status, const ingest::Ingestor& ingestor);
// The Retry-After of a refusal, as IngestRefusal adds it (429: the rate limits' refill time; 503:
// 1 s), for a surface that answers in its own error shape (Dagu's).
void AddRetryAfter(const Status& status, const ingest::Ingestor& ingestor,
                   http::Response* response);
http::Response IngestAnswer(Result<ingest::IngestOutcome> outcome,
                            const ingest::Ingestor& ingestor);

// 400 {"error":{"type":"invalid_filter","message":"l:c: …","line":l,"column":c}}.
http::Response InvalidFilterResponse(const filter::CompileError& error);

// A BodyError as the handlers answer it: InvalidFilterResponse for a filter, else the Status's
// body plus "field" when there is one (sources.cc).
http::Response BodyErrorResponse(const BodyError& error);
// Objects declared in the config file are changed there, not through the API: 409
// managed_by_config naming the file, for a PATCH/DELETE/rotate of an object whose managed_by is
// set; nullopt otherwise. Reads stay allowed. `what`: "source", "agent", "trigger" (sources.cc).
std::optional<http::Response> RefuseManaged(const ApiContext& context, std::string_view what,
                                            const std::string& name,
                                            const std::string& managed_by);
// The "managed_by" member of the records: "config" or null (sources.cc).
boost::json::value ManagedByJson(const std::string& managed_by);

}  // namespace triggerd::api
