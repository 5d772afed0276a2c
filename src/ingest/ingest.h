// ingest: the ordered pipeline that turns a webhook request into a durable event.
//
//   head phase (before the body is read):  lookup -> method -> size -> enabled -> ip -> origin
//   body phase:                            auth -> parse -> event type / delivery id -> append
//
// Each step refuses with a Status whose ErrorType the HTTP layer maps to the documented code
// (404, 405, 413, 403, 403, 401, 400/415). An unknown workspace, unknown source, a source of
// another workspace and a wrong URL secret all give the same 404. Plain types only: the HTTP
// adapter lives in api/.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "common/clock.h"
#include "common/headers.h"
#include "common/ip_network.h"
#include "common/result.h"
#include "store/store.h"
#include "verify/verify.h"

namespace triggerd::ingest {

// The headers as an event stores them, and as trigger filters see them. Values that are
// credentials (verify::IsCredentialHeader: every preset's signature and token headers, and names
// matching common/redact.h's kSecretHeaderNameParts; plus `extra`, a custom source's HMAC header)
// become "[redacted]"; in the others every byte that is not valid UTF-8 (HTTP allows obs-text,
// 0x80-0xFF) becomes U+FFFD, so the event's JSON (the API's answers, PostgreSQL's text) is valid
// UTF-8. Names are tokens (ASCII) by HTTP's grammar. Takes the headers by value: a caller done
// with them moves them in and no header is copied.
Headers RedactHeaders(Headers headers, std::string_view extra_header);

// The evaluation budget of one event's triggers together (EvaluateTriggers): four filters' worth
// of filter::kMaxEvalSteps, ~50-400 ms of CPU at worst.
inline constexpr uint64_t kMaxEventEvalSteps = 4 * (uint64_t{1} << 22);

// A token bucket: `rate` requests per second on average, bursts of up to `burst`. rate <= 0
// means unlimited.
struct RateLimit {
  double rate = 0;
  double burst = 0;
};

struct Options {
  // Body limit for sources whose max_body_bytes is 0. Default 1 MiB (Dust's and Dagu's).
  size_t default_max_body_bytes = 1024 * 1024;
  // Base of the public URL providers call (e.g. "https://hooks.example.com"), used where a
  // scheme signs the URL (twilio, hubspot). Empty: "http://" + the request's Host header.
  std::string public_base_url;
  // Request rates per source and per workspace (all its sources together), checked in the head
  // phase once the source is known: beyond them, 429 with Retry-After. The defaults sit well
  // below what one node ingests (~9,000 signed 8 KiB events/s on 2 cores, bench/load.sh), so one
  // noisy source cannot take the capacity the others need, yet far above real senders' bursts
  // (GitHub redelivering an organisation's backlog is a few hundred per second).
  RateLimit per_source{500, 1000};
  RateLimit per_workspace{2000, 4000};
  // Backpressure: bodies accepted but not yet durable (queued for the store's group commit) may
  // hold at most this many bytes; beyond, ingest answers 503 with Retry-After instead of letting
  // the queue, and memory, grow without bound when the disk cannot keep up.
  size_t max_pending_bytes = 256 * 1024 * 1024;
};

// What the head phase needs to know.
struct HeadRequest {
  std::string_view workspace_id;
  std::string_view source_id;
  std::optional<std::string_view> url_secret;  // present on the …/{source_id}/{url_secret} path
  std::string_view method;
  const Headers* headers = nullptr;
  std::string_view remote_ip;
  std::optional<uint64_t> content_length;
  // False when the same request is admitted a second time, with its body (the rate limits
  // charge a request once).
  bool charge_rate_limits = true;
};

struct CachedSource;   // a source with its verifier and parsed allow-list, immutable once built
struct CachedTrigger;   // a trigger with its compiled filter, immutable once built
struct SourceTriggers;  // one source's triggers, indexed by event type, immutable once built

struct Admission {
  std::shared_ptr<const CachedSource> source;
  size_t body_limit = 0;
  // The request's Origin when the source has allowed_origins and it is one of them: a browser
  // may then read the answer (CORS, Access-Control-Allow-Origin). Empty otherwise.
  std::string cors_origin;
  // An OPTIONS request (a browser's CORS preflight) to a source with allowed_origins that
  // passed every check a POST's head would: answer it, there is no body.
  bool preflight = false;
};

// A workspace API key presented as a source's bearer (auth.api_key), as the store knows it now.
// The ingest route looks it up for every such request (ApiKeyToLookUp), off the io thread, and
// never caches it: a revoked or deleted key is refused from the next request on.
struct PresentedApiKey {
  Status lookup;  // OK: found and not revoked; kNotFound: unknown or revoked; else a store error
  std::string workspace_id;
  store::Role role = store::Role::kUser;
};

struct BodyRequest {
  std::shared_ptr<const CachedSource> source;  // from Admit
  std::string method;
  std::string target;  // path and query, for schemes that sign the URL
  Headers headers;
  std::string remote_ip;
  std::string body;
  std::optional<PresentedApiKey> api_key;  // set by the route when ApiKeyToLookUp asked for it
};

struct StartedRun {
  std::string trigger_id;
  std::string run_id;
};

// What to answer a provider's handshake (e.g. Slack url_verification) with.
struct HandshakeAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
};

struct IngestOutcome {
  std::string event_id;
  int64_t received_at = 0;
  bool duplicate = false;
  std::vector<StartedRun> runs;  // the runs committed with the event (none for a duplicate)
  // Set when the request was the provider's handshake: answer this; nothing was stored.
  std::optional<HandshakeAnswer> handshake;
};

// What an event is matched with. Nothing is owned.
struct EventToMatch {
  std::string_view workspace_id;
  std::string_view source_id;
  std::string_view event_id;
  std::string_view event_type;
  const boost::json::value* payload = nullptr;  // the parsed payload
  const Headers* headers = nullptr;
};

// An event triggerd makes itself rather than receives: a schedule's tick or a polled feed's new
// item (src/schedule). It takes the webhooks' path from matching on: the source's triggers are
// evaluated and the event is appended with its match records and runs in one transaction.
struct GeneratedEvent {
  std::string source_id;    // a source whose kind is generated() ("schedule" / "poll")
  std::string event_type;   // e.g. "schedule.tick", "poll.item"
  std::string delivery_id;  // required: the (source, delivery id) de-duplication makes a repeat
                            // (after a crash, on another node) a duplicate that starts no run
  std::string body;         // a JSON object: the payload, stored as the event's body
  int64_t received_at = 0;  // 0 = the clock's now
};

// The reason of a kIgnored record whose trigger's event_types skipped the event (it was not
// evaluated): the API's `reason: "event_type"` (api.md).
inline constexpr std::string_view kReasonEventType = "event_type";

// The match records and the runs an evaluation produced, ready for the store's outbox.
struct Evaluation {
  std::vector<store::Match> matches;  // one per trigger of the source, in creation order
  std::vector<store::NewRun> runs;    // one per matched trigger
};

// ---- Direct webhooks (api/compat): an agent's own webhook, POST /agents/{agent_id}/webhook
// (kind "agent"), and Dagu's, POST /api/v1/webhooks/{name} (kind "dagu"). Each is a
// store::AgentWebhook that starts one run of its agent (docs/COMPATIBILITY.md); its events take
// the webhooks' tail: the same rate limits (the webhook id is the source, with its workspace),
// the same backpressure, the same append.

// The lower-case host of a URL ("https://Example.com:8443/x" -> "example.com"), of a bare
// hostname ("example.com") or of an IP address ("::1"); "" when there is none. An agent webhook's event_source is matched by
// it (and validated with it on write).
std::string OriginHost(std::string_view text);

// The body limit of direct webhooks: 1 MiB, Dagu's (not configurable: the surfaces document it).
inline constexpr size_t kDirectWebhookMaxBodyBytes = 1024 * 1024;

// An agent webhook as the public routes need it, built once per configuration change: the
// allow-list parsed, the origin's host extracted, the HMAC key prepared. Immutable once built.
struct CachedAgentWebhook {
  store::AgentWebhook webhook;
  std::vector<IpNetwork> allowed_networks;
  std::string event_source_host;  // lower-case host of event_source; "" = any caller
  // event_source when it is an IP address ("127.0.0.1", "::1"): a caller at that address is
  // allowed with or without an Origin (the seed's rule: the origin is the Origin header or the
  // client's address). Empty when event_source names a host.
  std::vector<IpNetwork> event_source_networks;
  // Kind "agent" with a secret: X-Webhook-Signature over the body. Null: none required.
  std::unique_ptr<verify::Verifier> verifier;
};

// The head of a request to POST|GET /agents/{agent_id}/webhook.
struct AgentWebhookHead {
  std::string_view agent_id;
  const Headers* headers = nullptr;  // Origin / Referer
  std::string_view remote_ip;
  std::optional<uint64_t> content_length;
  bool charge_rate_limits = true;  // false: the GET, and the second admission with the body
};

// The head of a request to POST /api/v1/webhooks/{name}.
struct DaguWebhookHead {
  std::string_view name;          // an agent id, or an agent name in the token's workspace
  std::string_view bearer_token;  // "" when there is none
  bool charge_rate_limits = true;
};

struct DirectAdmission {
  std::shared_ptr<const CachedAgentWebhook> webhook;
  std::string agent_name;  // the agent's current name (Dagu's dagName)
  size_t body_limit = kDirectWebhookMaxBodyBytes;
};

// What a direct webhook request becomes: an event of source `webhook.id` with one match record
// and one run of the webhook's agent (trigger_id = the webhook's id, owner = its creator).
struct DirectEvent {
  std::shared_ptr<const CachedAgentWebhook> webhook;  // from AdmitAgentWebhook/AdmitDaguWebhook
  std::string event_type;    // "agent.webhook" | "dagu.webhook"
  std::string delivery_id;   // de-duplicates per webhook (atomically, in the append); "" = none
  std::string payload_json;  // the run's payload when it is not the body itself; "" = the body
  Headers headers;
  std::string remote_ip;
  std::string body;
};

// Counters, all monotonically increasing.
struct IngestStats {
  uint64_t accepted = 0;    // events durably appended
  uint64_t duplicates = 0;  // deliveries answered with an earlier event
  uint64_t refused_auth = 0;
  uint64_t refused_other = 0;
  uint64_t rate_limited = 0;  // 429s (also counted in refused_other)
  uint64_t overloaded = 0;    // 503s for backpressure (also counted in refused_other)
  // Trigger evaluations (webhooks, generated events and replays): every enabled trigger
  // considered, those whose filter matched, and those whose stored filter does not compile.
  uint64_t filter_evaluations = 0;
  uint64_t filter_matched = 0;
  uint64_t filter_errors = 0;
  // POST /v1/webhooks/{provider}: signature checks made to find which source a request is for
  // (one per request once its sender is known; see Ingestor::IngestForProvider).
  uint64_t provider_checks = 0;
  // refused_auth by source id (sources that never refused one are absent).
  std::vector<std::pair<std::string, uint64_t>> refused_auth_by_source;
};

// Thread-safe. Keeps every source, trigger, agent name and agent webhook in memory (a webhook
// must not cost a database read to be looked up); catalog::CacheObserver calls Upsert/Remove…
// after each configuration write so the caches follow (app/cluster calls Reload after another
// node's).
class Ingestor {
 public:
  Ingestor(store::Store* store, const Clock* clock, Options options);
  ~Ingestor();

  // Loads every source, trigger, agent and agent webhook from the store, replacing the caches.
  Status Reload();
  // Rebuilds the cache entry of one source after it was created or changed.
  void Upsert(const store::Source& source);
  void Remove(std::string_view source_id);

  // Triggers, cached per source with their filter compiled once (Reload loads them too).
  // UpsertTrigger after a trigger is created or changed; RemoveTrigger after it is deleted.
  // A stored filter that no longer compiles is kept: its evaluations record filter_error.
  void UpsertTrigger(const store::Trigger& trigger);
  void RemoveTrigger(std::string_view trigger_id);

  // Agents, by name (Dagu's {name}), and their direct webhooks. RemoveAgent drops its webhooks
  // too (the store deletes them with the agent).
  void UpsertAgent(const store::Agent& agent);
  void RemoveAgent(std::string_view agent_id);
  void UpsertAgentWebhook(const store::AgentWebhook& webhook);
  void RemoveAgentWebhook(std::string_view webhook_id);

  // Evaluates the triggers of the event's source that its type reaches — those subscribed to
  // every type, and those whose event_types list it — in creation order, one record for each
  // trigger of the source:
  // disabled -> kDisabled; filter did not compile, or exceeded its evaluation budget ->
  // kFilterError (the message says which); filter false -> kIgnored; else kMatched with a new
  // run (max_attempts 0: the store fills the agent's). Each filter has filter::kMaxEvalSteps,
  // and all of an event's together kMaxEventEvalSteps: past it, the triggers left are
  // kFilterError without running, so one event costs the thread that ingests it (an io thread)
  // a bounded time however many expensive triggers its source has. Filters see `event.headers`,
  // which must be the headers as stored (RedactHeaders), never the request's. An enabled trigger
  // subscribed to other types is not evaluated (the index routes the event past it) but gets a
  // kIgnored record whose message names the type and its subscription, so the records of an event
  // list every trigger of its source; they travel in the same append. Used at ingest and by
  // replay (`replay` marks the records). Thread-safe.
  Evaluation EvaluateTriggers(const EventToMatch& event, int64_t now, bool replay) const;

  // The head phase. On success, the body may be read up to `body_limit` bytes. A source with
  // allowed_origins also admits OPTIONS, the preflight of a browser's POST (Admission::preflight).
  Result<Admission> Admit(const HeadRequest& request) const;
  // The API key that the body phase of `request` needs looked up (into request.api_key): its
  // source takes API keys (auth.api_key) and the Authorization bearer is not the source's own
  // token. nullopt otherwise (no store read: the hot path of token and signature senders).
  std::optional<std::string> ApiKeyToLookUp(const BodyRequest& request) const;
  // The body phase. `done` runs once: after the event is durable (or found to be a duplicate),
  // or with the refusal; possibly on another thread, before or after Ingest returns.
  void Ingest(BodyRequest request, std::function<void(Result<IngestOutcome>)> done);
  // Matches and appends a GeneratedEvent, with the same callback contract as Ingest. Refuses
  // (through `done`) a source that is unknown or not generated (kNotFound), disabled
  // (kPermissionDenied), a body that is not a JSON object or a delivery id that is empty or
  // longer than 256 bytes (kInvalidArgument), and backpressure (kUnavailable). Counted in stats()
  // like webhooks.
  void IngestGenerated(GeneratedEvent event, std::function<void(Result<IngestOutcome>)> done);

  // ---- The compatibility surfaces' routes (api/compat), from the same caches. ----

  // POST /v1/webhooks/{trigger_id} (Stack AI): the trigger's source, to be admitted as
  // Admit(HeadRequest{workspace_id, source_id}) admits it (ingest's short path: no URL secret).
  // nullopt when no trigger has that id.
  struct TriggerSource {
    std::string workspace_id;
    std::string source_id;
  };
  std::optional<TriggerSource> FindTriggerSource(std::string_view trigger_id) const;

  // POST /v1/webhooks/{provider} (Stack AI; `kind` a catalog kind such as "github"): the path
  // names no workspace, so the request goes to the one source of that kind whose verifier
  // accepts it. The head phase grants the largest body limit of the sources that would admit
  // the head (no rate limit charged: the source is not known yet); kNotFound when the server has
  // no source of that kind, else the first refusal when none admits it.
  Result<size_t> AdmitForProvider(std::string_view kind, const HeadRequest& request) const;
  // The body phase: finds the source (see provider_route.cc: by what the request carries, not
  // by a signature check per source), charges its rate limits, then ingests as Ingest does
  // (without verifying again). kNotFound: no source of the kind; 401: none accepts the
  // signature; 409 ambiguous_webhook: several do (they share a secret). `request.source` is
  // ignored.
  void IngestForProvider(std::string_view kind, BodyRequest request,
                         std::function<void(Result<IngestOutcome>)> done);

  // POST|GET /agents/{agent_id}/webhook, head phase, in the documented order: no webhook of kind
  // "agent" (404 webhook_not_found), disabled (403 webhook_disabled), origin and address not
  // allowed (403 source_not_allowed: the client's address must be in allowed_ips or be the
  // address event_source names; without allowed_ips, an Origin/Referer with event_source's host
  // also passes), Content-Length above 1 MiB (413), then the rate limits
  // (429) and backpressure (503) as Admit.
  Result<DirectAdmission> AdmitAgentWebhook(const AgentWebhookHead& request) const;
  // POST /api/v1/webhooks/{name}, head phase (Dagu's order: 404, then 401, then 403; the 413 is
  // the route's, before this): by agent id the lookup is global; by name it needs the token's
  // workspace, so a missing or unknown token is 401, and a valid token of another DAG is 401
  // when {name} has a webhook and 404 when it has none. Then the rate limits and backpressure.
  Result<DirectAdmission> AdmitDaguWebhook(const DaguWebhookHead& request) const;
  // An agent webhook's signature (X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>)
  // with its cached verifier: OK when it has no secret; 401 missing_signature /
  // signature_mismatch.
  Status VerifyAgentWebhook(const CachedAgentWebhook& webhook, const Headers& headers,
                            std::string_view body) const;
  // Appends the event with its match record and run, through the backpressure budget (503) and
  // the store's group commit; `done` as Ingest's (runs: the one run, none for a duplicate).
  void IngestDirect(DirectEvent event, std::function<void(Result<IngestOutcome>)> done);

  IngestStats stats() const;
  // What a 429 from the rate limits should put in Retry-After: the seconds a bucket takes to
  // earn one request at the lower of the two rates (at least 1).
  int rate_limited_retry_after_seconds() const;
  // Several nodes behind one load balancer share the configured rate limits: with `nodes` alive,
  // this node enforces 1/nodes of each rate and burst, so an even spread admits the configured
  // total (app/cluster.h counts the nodes). Default 1; clamped to 1..1024.
  void SetRateShare(int nodes);

 private:
  // The triggers of one source (never null: an empty set when it has none).
  std::shared_ptr<const SourceTriggers> TriggersOf(std::string_view source_id) const;
  // The body phase after authentication (Ingest, IngestForProvider). `by_api_key`: an API key
  // was the credential (auth.api_key), which the event's verification records.
  void IngestVerified(BodyRequest request, std::function<void(Result<IngestOutcome>)> done,
                      bool by_api_key = false);
  // The rate limits and backpressure of the head phase, for a source (or direct webhook) id and
  // its workspace: 429 / 503.
  Status Charge(const std::string& source_id, const std::string& workspace_id) const;
  // The provider route's choice of source (provider_route.cc).
  Result<std::shared_ptr<const CachedSource>> PickProviderSource(std::string_view kind,
                                                                 const BodyRequest& request,
                                                                 const verify::Request& verify);
  // Rebuilds the provider index of `kind`. REQUIRES: mu_ held exclusively.
  void RebuildProviderIndex(std::string_view kind);
  // Counts into the filter_* stats.
  Evaluation Evaluate(const SourceTriggers& triggers, const EventToMatch& event, int64_t now,
                      bool replay) const;
  // The tail Ingest and IngestGenerated share: backpressure accounting, the append, the counts.
  void Append(store::NewEvent event, std::vector<StartedRun> started,
              std::function<void(Result<IngestOutcome>)> done);
  // Drops the trigger from whichever source has it, then adds `replacement` (if not null) to
  // its source. REQUIRES: mu_ held exclusively.
  void ReplaceTrigger(std::string_view trigger_id,
                      std::shared_ptr<const CachedTrigger> replacement);

  store::Store* store_;
  const Clock* clock_;
  Options options_;
  mutable std::shared_mutex mu_;
  uint64_t cache_changes_ = 0;  // Upsert/Remove(Trigger) calls, for Reload; guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<const CachedSource>> sources_;
  // Per source id, its triggers. Copy-on-write: a change builds a new SourceTriggers, so an
  // evaluation holds a snapshot without holding the lock.
  std::unordered_map<std::string, std::shared_ptr<const SourceTriggers>> triggers_;
  std::unordered_map<std::string, std::string> trigger_sources_;  // trigger id -> source id
  // Per provider kind, its webhook sources grouped for the provider route (provider_route.cc).
  // Copy-on-write like triggers_.
  struct ProviderSources;
  std::unordered_map<std::string, std::shared_ptr<const ProviderSources>> providers_;
  // Senders learned by the provider route: kind + '\n' + a value the provider sends with every
  // request of one configured webhook (GitHub's X-GitHub-Hook-ID, …) -> the source that accepted
  // it. A hint only: the source is verified as usual. Bounded (provider_route.cc).
  mutable std::mutex provider_routes_mu_;
  std::unordered_map<std::string, std::string> provider_routes_;
  // Agents by id and name, and their direct webhooks (agent_webhooks.cc). Guarded by mu_;
  // Reload builds a fresh one and swaps it in.
  struct DirectWebhooks;
  std::unique_ptr<DirectWebhooks> direct_;
  // Rate limits: one bucket per source and per workspace, created on first use (only for ids
  // that passed the lookup, so their number is bounded by the sources that exist).
  class TokenBucket;
  bool TakeToken(std::unordered_map<std::string, std::unique_ptr<TokenBucket>>* buckets,
                 std::string_view key, const RateLimit& limit) const;
  std::atomic<int> rate_share_nodes_{1};
  mutable std::mutex buckets_mu_;
  mutable std::unordered_map<std::string, std::unique_ptr<TokenBucket>> source_buckets_;
  mutable std::unordered_map<std::string, std::unique_ptr<TokenBucket>> workspace_buckets_;
  // Bytes of bodies handed to the store and not yet durable (or refused).
  std::atomic<int64_t> pending_bytes_{0};

  std::atomic<uint64_t> accepted_{0}, duplicates_{0};
  mutable std::atomic<uint64_t> refused_auth_{0}, refused_other_{0}, rate_limited_{0},
      overloaded_{0};
  mutable std::atomic<uint64_t> filter_evaluations_{0}, filter_matched_{0}, filter_errors_{0};
  std::atomic<uint64_t> provider_checks_{0};
  // Only failures take this lock; bounded by the sources that exist (Remove drops the entry).
  mutable std::mutex refused_auth_mu_;
  std::unordered_map<std::string, uint64_t> refused_auth_by_source_;
};

}  // namespace triggerd::ingest
