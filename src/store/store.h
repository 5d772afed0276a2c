// Store: everything triggerd keeps durably — workspaces, API keys, webhook sources, the event
// log, agents, triggers, match records and runs with their dispatch state — behind one interface,
// so nothing above this layer knows which database it talks to: SQLite (the embedded default,
// store/sqlite) or PostgreSQL shared by several nodes (store/postgres). docs/storage.md describes
// both; tests/store/*_contract_test.cc holds every implementation to the same contract.
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
// Times are Unix microseconds (UTC).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/headers.h"
#include "common/result.h"
#include "common/status.h"

namespace triggerd {
class Clock;
}  // namespace triggerd

namespace triggerd::store {

enum class Role { kAdmin, kBuilder, kUser };
std::string_view RoleName(Role role);                     // "admin" | "builder" | "user"
std::optional<Role> ParseRole(std::string_view name);

// Marks sources, agents and triggers declared in the config file (Source::managed_by): the
// config applier (app/declared.h) owns them, and the REST API refuses to change them (409).
inline constexpr std::string_view kManagedByConfig = "config";

struct Workspace {
  std::string id;  // ws_…
  std::string name;
  int64_t created_at = 0;
};

struct ApiKey {
  std::string id;  // key_…
  std::string workspace_id;
  std::string name;
  Role role = Role::kUser;
  std::string prefix;      // first characters of the key, shown in listings to recognise it
  std::string hash;        // lower-case hex SHA-256 of the whole key; the key itself is never kept
  std::string created_by;  // key id that created it, or "bootstrap"
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;
};

// A webhook source: one unguessable ingest URL inside a workspace.
struct Source {
  std::string id;  // src_…
  std::string workspace_id;
  std::string name;
  // "custom", a provider preset name, or "schedule" / "poll": a source whose events triggerd
  // makes itself (src/schedule: a schedule's ticks, a polled feed's new items); those have no
  // ingest URL and are configured by `trigger_config_json`.
  std::string kind = "custom";
  std::string url_secret;       // path segment of the secret ingest URL
  bool enabled = true;
  // Non-secret verification settings as a JSON object text, owned by the ingest/verify layers
  // (e.g. {"bearer":true,"hmac":{"header":"X-Sig","algorithm":"sha256",...}}). Opaque here.
  std::string auth_json = "{}";
  std::string signing_secret;  // HMAC secret ("" when none). Encrypted at rest: later issue.
  std::string token_hash;      // hex SHA-256 of the bearer token ("" when none)
  std::vector<std::string> allowed_ips;      // IPs or CIDRs, v4 and v6; empty = any
  std::vector<std::string> allowed_origins;  // Origin header values; empty = any
  std::string delivery_id_header;            // header whose value de-duplicates; "" = none
  int64_t max_body_bytes = 0;                // 0 = the server-wide default
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // "" = made through the API; kManagedByConfig = the config file's
  // For "schedule" and "poll" sources: their configuration as a JSON object text, owned and
  // validated by src/schedule (e.g. {"cron":"*/5 * * * *","timezone":"Europe/Paris"}); "{}" for
  // the others. May hold credentials (a poll's headers): never logged, redacted when shown.
  std::string trigger_config_json = "{}";

  // Whether triggerd makes this source's events itself (see `kind`).
  bool generated() const { return kind == "schedule" || kind == "poll"; }
};

// Where a "schedule" or "poll" source has got to (src/schedule owns the meaning). Written only
// after the events it covers are durable.
struct SourceCursor {
  std::string source_id;
  std::string cursor_data = "{}";      // JSON object text, e.g. a poll's {"last_id":…}
  std::optional<int64_t> last_tick_at;  // schedule: latest tick handled; poll: latest poll
  std::optional<int64_t> next_due_at;   // when the producer means to act next
  int64_t updated_at = 0;
};

// An agent: what a run talks to. The target (http / command / llm) is configuration owned by the
// dispatch layer (dispatch/target.h parses and validates it); opaque JSON text here.
struct Agent {
  std::string id;  // agt_…
  std::string workspace_id;
  std::string name;
  std::string instructions;
  std::string target_json = "{}";  // e.g. {"type":"http","url":…,"headers":{},"timeout_ms":…}
  std::string signing_secret;      // whsec_… for http targets (Standard Webhooks); "" otherwise
  int max_attempts = 8;            // attempts per run before it is dead, >= 1
  int concurrency = 4;             // runs of this agent running at once, >= 1
  std::string created_by;          // API key id
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // as Source::managed_by
};

// A trigger binds a source to an agent, with an optional filter (filter-language.md).
struct Trigger {
  std::string id;  // trg_…
  std::string workspace_id;
  std::string source_id;
  std::string agent_id;
  std::string name;                      // optional label, "" when none
  std::string filter;                    // filter source text; "" matches every event
  std::vector<std::string> event_types;  // subscribed event types; empty = every type
  bool include_payload = true;           // false: the run's message says only that it happened
  bool enabled = true;
  std::string created_by;  // the owner (API key id); a trigger's runs are visible to it and admins
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string managed_by;  // as Source::managed_by
};

// The outcome of evaluating one trigger against one event.
enum class MatchOutcome { kMatched, kIgnored, kDisabled, kFilterError };
// "matched" | "ignored" | "disabled" | "filter_error"
std::string_view MatchOutcomeName(MatchOutcome outcome);
std::optional<MatchOutcome> ParseMatchOutcome(std::string_view name);

struct Match {
  std::string event_id;
  std::string trigger_id;
  MatchOutcome outcome = MatchOutcome::kIgnored;
  std::string run_id;   // the run it started when matched; "" otherwise
  std::string message;  // why (filter error text, "event type not subscribed", …); may be ""
  int64_t evaluated_at = 0;
  bool replay = false;  // recorded by a replay rather than at ingest
  int64_t seq = 0;      // set by the store: insertion order, the paging cursor
};

enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kRetrying, kDead, kCancelled };
std::string_view RunStatusName(RunStatus status);  // "queued" … "cancelled" (api.md spelling)
std::optional<RunStatus> ParseRunStatus(std::string_view name);

// A run as it is created (at ingest, replay): one event delivered to one trigger's agent.
struct NewRun {
  std::string id;  // run_… (time-ordered); also the idempotency key targets see
  std::string workspace_id;
  std::string event_id;
  std::string trigger_id;
  std::string agent_id;
  std::string owner;            // the trigger's created_by at creation (visibility)
  bool include_payload = true;  // the trigger's choice at creation
  // The agent's at creation; 0 on write: the store copies the agent's in the same transaction,
  // or Agent{}.max_attempts (8) when the agent is gone (the run is then cancelled by the first
  // ClaimRuns that finds it due, like every run of a deleted agent). Otherwise >= 1.
  int max_attempts = 0;
  int64_t created_at = 0;  // also the first next_attempt_at; a new run is queued
};

struct Run : NewRun {
  int64_t seq = 0;  // insertion order; the paging cursor
  RunStatus status = RunStatus::kQueued;
  int attempts = 0;                    // attempts started so far (a claim starts one)
  int64_t next_attempt_at = 0;         // when queued/retrying: not claimed before this time
  std::string lease_owner;             // when running: the dispatcher that holds it
  int64_t lease_expires_at = 0;        // when running: claimable again after this time
  std::optional<int64_t> started_at;   // first claim
  std::optional<int64_t> finished_at;  // reached succeeded, failed, dead or cancelled
  std::string last_error;              // the latest attempt's error, "" when none
};

// What a run said, after the message it was sent (that one is rebuilt from the event on read).
struct RunMessage {
  std::string run_id;
  int attempt = 0;   // the attempt that produced it
  std::string role;  // "agent" (the reply) | "error" (what went wrong with an attempt)
  std::string content;
  int64_t at = 0;
};

struct RunQuery {
  std::string workspace_id;  // required
  std::string trigger_id;    // "" = any
  std::string agent_id;      // "" = any
  std::string event_id;      // "" = any
  std::string owner;         // "" = any; else only runs whose owner is this key id
  std::optional<RunStatus> status;
  std::optional<int64_t> since;  // created_at >= since
  std::optional<int64_t> until;  // created_at < until
  int limit = 50;                // 1..500
  std::optional<int64_t> before_seq;
};

struct MatchQuery {
  std::string workspace_id;  // required
  std::string trigger_id;    // required
  std::optional<MatchOutcome> outcome;
  int limit = 50;  // 1..500
  std::optional<int64_t> before_seq;
};

// Claiming runs for dispatch (see Store::ClaimRuns).
struct ClaimRequest {
  std::string owner;         // the claiming dispatcher's id (unique per process)
  int64_t now = 0;
  int64_t lease_micros = 0;  // lease_expires_at = now + lease_micros
  int limit = 1;             // at most this many runs
};

// The end of one attempt (see Store::FinishAttempt).
enum class AttemptOutcome {
  kSucceeded,  // -> succeeded; `message` is the agent's reply (role "agent")
  kRetry,      // -> retrying with next_attempt_at; `message` is the error (role "error")
  kFailed,     // -> failed (permanent, e.g. a 400 from the target); error message
  kDead,       // -> dead (retryable error but no attempts left); error message
};
struct AttemptResult {
  std::string run_id;
  std::string lease_owner;  // must still hold the lease
  int attempt = 0;          // must equal the run's attempts (the claim that started it)
  AttemptOutcome outcome = AttemptOutcome::kSucceeded;
  std::string message;          // reply or error text, stored as a RunMessage
  int64_t finished_at = 0;      // the message's time; also finished_at for final outcomes
  int64_t next_attempt_at = 0;  // for kRetry
};

// An event as ingest hands it to the log. Headers are already redacted.
struct NewEvent {
  std::string id;  // evt_… (time-ordered), chosen by the caller
  std::string workspace_id;
  std::string source_id;
  int64_t received_at = 0;
  std::string content_type;
  std::string event_type;   // "" when unknown
  std::string delivery_id;  // "" when the source has none; else unique per source
  Headers headers;
  std::string body;          // the raw request bytes, exactly as received
  std::string payload_json;  // the payload as JSON when it differs from body (form posts); else ""
  std::string remote_addr;
  std::string verification;  // how it was authenticated: "none", "bearer", "hmac", "bearer+hmac", …
  // The transactional outbox: the match records and the runs of this event, written in the same
  // transaction as the event (or not at all: a duplicate writes neither; an append that fails
  // writes none of them). Their event_id and workspace_id are taken from this event.
  std::vector<Match> matches;
  std::vector<NewRun> runs;
};

struct Event : NewEvent {
  int64_t seq = 0;               // insertion order; the paging cursor
  std::string status = "received";
};

struct AppendOutcome {
  std::string event_id;  // the new event, or for a duplicate the first event with that delivery id
  int64_t received_at = 0;
  bool duplicate = false;
};

struct EventQuery {
  std::string workspace_id;  // required
  std::string source_id;     // "" = any
  std::string status;        // "" = any
  std::optional<int64_t> since;  // received_at >= since
  std::optional<int64_t> until;  // received_at < until
  int limit = 50;                // 1..500
  std::optional<int64_t> before_seq;  // cursor: only events with seq < before_seq
};

template <typename T>
struct Page {
  std::vector<T> items;                // newest first
  std::optional<int64_t> next_cursor;  // pass as before_seq for the next page; nullopt at the end
};

// Counters of the group-commit writer, for metrics and tests. Monotonic except queue_depth.
struct StoreStats {
  uint64_t batches = 0;           // group-commit transactions committed (appends and writes)
  uint64_t events_committed = 0;  // events written (duplicates and failed appends excluded)
  uint64_t duplicates = 0;        // appends answered with duplicate=true
  uint64_t max_batch = 0;         // most requests (appends + writes) in one committed transaction
  uint64_t writes_committed = 0;  // every other write (CreateSource, ClaimRuns, …) that committed
  uint64_t failed_batches = 0;    // batches failed whole, e.g. COMMIT failed (all got kInternal)
  uint64_t queue_depth = 0;       // writes queued for the writer right now (a gauge)
  // The background checkpointer (SQLite only; see SqliteOptions::checkpoint_wal_pages).
  uint64_t checkpoints = 0;         // PASSIVE checkpoints run (each copies WAL pages to the file)
  uint64_t wal_restarts = 0;        // RESTART checkpoints that rewound the WAL to its start
  uint64_t failed_checkpoints = 0;  // checkpoints that failed (I/O error) or stayed busy
  uint64_t runs_created = 0;        // runs committed by appends and AppendMatches
  // Secret values the scan at open sealed in place: plaintext of an older database, or values
  // sealed under a previous master key (SqliteOptions::previous_master_keys). Set once, at open.
  uint64_t secrets_sealed_at_open = 0;
};

// A webhook that starts runs of one agent directly, without a source or trigger of the user's
// (the compatibility surfaces of docs/COMPATIBILITY.md). Kind "agent": the public
// POST /agents/{agent_id}/webhook, checked by origin / IP / optional HMAC. Kind "dagu": the
// Dagu-style per-workflow webhook, authenticated by a bearer token. At most one of each kind per
// agent; deleting the agent deletes them. What one receives is appended as an ordinary event
// (source_id = the webhook's id) with one match record and one run (trigger_id = the webhook's
// id) through AppendEvent, so it is dispatched, listed and retried like any other run.
struct AgentWebhook {
  std::string id;  // whk_…
  std::string workspace_id;
  std::string agent_id;
  std::string kind;  // "agent" | "dagu"
  bool enabled = true;
  std::string token_hash;    // hex SHA-256 of the bearer token; "" when none. Unique when set
  std::string token_prefix;  // first characters of the token, shown to recognise it
  std::string event_source;  // allowed origin URL or hostname; "" = any
  std::vector<std::string> allowed_ips;  // IPs or CIDRs
  std::string hmac_secret;               // "" when no signature is required
  std::string description;
  std::string metadata_json = "{}";  // a JSON object, opaque here
  std::string created_by;            // API key id
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// What the Stack AI-style triggers API (docs/COMPATIBILITY.md) keeps about a trigger beyond the
// domain model: the trigger, its source, filter and event types stay in Trigger and Source. At
// most one per trigger; deleting the trigger deletes it.
struct TriggerExtras {
  std::string trigger_id;
  std::string workspace_id;
  std::string connection_id;  // the caller's connection id, opaque; "" = none
  bool owns_source = false;   // the source was made with the trigger (deleted with its last one)
  std::string updated_by;     // API key id of the last change through that API
  int64_t updated_at = 0;
};

struct LiveRunCounts {
  int64_t queued = 0;
  int64_t retrying = 0;
  int64_t running = 0;
};

// Retention: events received before `events_before` are deleted with their match records, runs
// and run messages; events received before `bodies_before` keep their metadata (headers, type,
// delivery id, matches, runs) but lose their body, and their payload reads as JSON null. 0 turns
// either off. At most `limit` events are deleted or emptied per call (one short write
// transaction, so ingest is never stalled behind a long delete); callers repeat while `more`.
// Bodies are emptied oldest first from `bodies_after_seq`, an opaque cursor the caller carries
// from the previous result (0 at first), so the emptied ones are not walked again.
struct PurgeRequest {
  int64_t events_before = 0;
  int64_t bodies_before = 0;
  int limit = 500;
  int64_t bodies_after_seq = 0;
};
struct PurgeResult {
  int64_t events_deleted = 0;
  int64_t runs_deleted = 0;
  int64_t bodies_emptied = 0;
  int64_t bodies_after_seq = 0;  // pass back in the next request
  bool more = false;             // the limit was reached: call again
};

class Store {
 public:
  virtual ~Store() = default;

  // Workspaces.
  virtual Status CreateWorkspace(const Workspace& workspace) = 0;
  // First start: creates `workspace` and `admin_key` (its key) in one transaction, only when the
  // store has no workspace yet. true when they were created; false when a workspace existed
  // (nothing written). Several nodes starting at once on one database: exactly one creates, and
  // a crash leaves both records or neither (never a workspace without its admin key).
  virtual Result<bool> CreateFirstWorkspace(const Workspace& workspace, const ApiKey& admin_key) = 0;
  virtual Result<Workspace> GetWorkspace(std::string_view id) = 0;
  virtual Result<std::vector<Workspace>> ListWorkspaces() = 0;

  // API keys. FindApiKeyByHash finds only keys that are not revoked.
  virtual Status CreateApiKey(const ApiKey& key) = 0;
  virtual Result<ApiKey> FindApiKeyByHash(std::string_view hash) = 0;
  virtual Result<std::vector<ApiKey>> ListApiKeys(std::string_view workspace_id) = 0;  // newest first
  virtual Status RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                              int64_t revoked_at) = 0;

  // Sources. UpdateSource replaces every field of the source with that id (and workspace).
  // Deleting a source keeps its events (they remain listable by source_id).
  virtual Status CreateSource(const Source& source) = 0;
  virtual Result<Source> GetSource(std::string_view workspace_id, std::string_view id) = 0;
  virtual Result<std::vector<Source>> ListSources(std::string_view workspace_id) = 0;
  virtual Result<std::vector<Source>> ListAllSources() = 0;  // every workspace; for caches
  virtual Status UpdateSource(const Source& source) = 0;
  virtual Status DeleteSource(std::string_view workspace_id, std::string_view id) = 0;

  // Appends an event to the durable log. Many concurrent appends are committed together in one
  // transaction (group commit). `done` runs exactly once, on a store-owned thread, and only after
  // the transaction holding the event is durable on disk (fsync'd), or with the error that
  // prevented it; it must not block. When `event.delivery_id` is non-empty and an event of the
  // same source already has it, nothing is written and `done` gets duplicate=true with the first
  // event's id and time — this check and the insert are atomic.
  // After Close(), `done` is called at once with kUnavailable.
  using AppendCallback = std::function<void(Result<AppendOutcome>)>;
  virtual void AppendEvent(NewEvent event, AppendCallback done) = 0;

  virtual Result<Event> GetEvent(std::string_view workspace_id, std::string_view id) = 0;
  virtual Result<Page<Event>> ListEvents(const EventQuery& query) = 0;

  // Agents. DeleteAgent is kConflict while a trigger refers to the agent; it cancels the agent's
  // queued and retrying runs (finished_at from SqliteOptions::clock) and leaves running ones to
  // finish (a later claim of one cancels it, see ClaimRuns). CHECK violations (max_attempts or
  // concurrency < 1): kInvalidArgument.
  virtual Status CreateAgent(const Agent& agent) = 0;
  virtual Result<Agent> GetAgent(std::string_view workspace_id, std::string_view id) = 0;
  virtual Result<std::vector<Agent>> ListAgents(std::string_view workspace_id) = 0;  // newest first
  virtual Status UpdateAgent(const Agent& agent) = 0;  // replaces every field
  virtual Status DeleteAgent(std::string_view workspace_id, std::string_view id) = 0;

  // Triggers. CreateTrigger and UpdateTrigger are kNotFound when the source or agent is not in
  // the trigger's workspace. Deleting a source deletes its triggers (in the same transaction).
  // Deleting a trigger keeps its runs and match records, and cancels its queued and retrying
  // runs (last_error "trigger deleted").
  virtual Status CreateTrigger(const Trigger& trigger) = 0;
  virtual Result<Trigger> GetTrigger(std::string_view workspace_id, std::string_view id) = 0;
  // `source_id`/`agent_id` "" = any. Newest first.
  virtual Result<std::vector<Trigger>> ListTriggers(std::string_view workspace_id,
                                                    std::string_view source_id,
                                                    std::string_view agent_id) = 0;
  // Every workspace, oldest first (creation order); for caches.
  virtual Result<std::vector<Trigger>> ListAllTriggers() = 0;
  virtual Status UpdateTrigger(const Trigger& trigger) = 0;      // replaces every field
  virtual Status DeleteTrigger(std::string_view workspace_id, std::string_view id) = 0;

  // Match records. For an event: every record, oldest first (an unknown event: none). For a
  // trigger: newest first, paged like ListEvents.
  virtual Result<std::vector<Match>> ListEventMatches(std::string_view workspace_id,
                                                      std::string_view event_id) = 0;
  virtual Result<Page<Match>> ListTriggerMatches(const MatchQuery& query) = 0;
  // Replay: records more matches and runs for an existing event, in one durable transaction.
  // kNotFound when the event is not in the workspace. Runs as in NewEvent::runs.
  virtual Status AppendMatches(std::string_view workspace_id, std::string_view event_id,
                               std::vector<Match> matches, std::vector<NewRun> runs) = 0;

  // Runs.
  virtual Result<Run> GetRun(std::string_view workspace_id, std::string_view id) = 0;
  // Newest first, paged like ListEvents.
  virtual Result<Page<Run>> ListRuns(const RunQuery& query) = 0;
  // Oldest first. Not scoped to a workspace: look the run up with GetRun first.
  virtual Result<std::vector<RunMessage>> ListRunMessages(std::string_view run_id) = 0;
  // A failed or dead run is queued again (due now, finished_at cleared) with a fresh budget:
  // max_attempts = attempts + the agent's max_attempts (the run's old max_attempts when the agent
  // is gone); other states: kConflict.
  virtual Status RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) = 0;
  // A queued or retrying run becomes cancelled (finished_at = now); other states: kConflict.
  virtual Status CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) = 0;

  // Dispatch. ClaimRuns leases up to `limit` runs that are due — queued/retrying with
  // next_attempt_at <= now, or running with an expired lease (its worker died) — oldest due first,
  // never more running (with an unexpired lease) per agent than the agent's concurrency. Each
  // claimed run becomes running with lease_owner/lease_expires_at set and attempts incremented
  // (the returned Runs show the new values). A run whose lease expired and which has no attempts
  // left becomes dead instead of being claimed ("lease expired during the last attempt"); a
  // reclaimed run gets an "error" message for its cut attempt. A due run whose agent no longer
  // exists is cancelled instead ("agent deleted"; its concurrency is unknown and it has nowhere
  // to go). Durable like any write. kInvalidArgument when owner is "" or lease_micros <= 0;
  // `limit` is clamped to 0..500.
  virtual Result<std::vector<Run>> ClaimRuns(const ClaimRequest& request) = 0;
  // Records the end of an attempt: the message, and the new state. kConflict when the run is no
  // longer running under this lease_owner and attempt (the lease expired and another claim took
  // it, or it was cancelled) — the result is then dropped and the run is unchanged. kNotFound for
  // an unknown run. kRetry on the run's last attempt (attempts >= max_attempts) makes it dead:
  // the store never starts more than max_attempts attempts.
  virtual Status FinishAttempt(const AttemptResult& result) = 0;
  // The earliest time at which ClaimRuns could claim (or retire) something, nullopt when no run
  // is queued, retrying or running: the least next_attempt_at of the waiting runs and
  // lease_expires_at of the running ones — except that an agent at its concurrency contributes
  // the time its next lease expires, not its waiting runs (a finishing attempt frees a slot
  // sooner; the dispatcher wakes itself for that). So a due time in the past means ClaimRuns can
  // make progress now, and a dispatcher that sleeps until this time does not spin.
  virtual Result<std::optional<int64_t>> NextDueTime() = 0;
  // Every run leased by a dispatcher other than `keep_owner` becomes retrying, due at `now` (its
  // cut attempt still counts and gets an "error" message; one with no attempts left becomes
  // dead). For a single-process store (SQLite) at start-up: the previous process is gone, so its
  // leases need not be waited out.
  virtual Status ReleaseLeases(std::string_view keep_owner, int64_t now) = 0;
  // `listener` runs (on a store thread; it must not block or call the store) once after each
  // commit that made runs due: appends and AppendMatches with runs, RetryRun, ReleaseLeases that
  // released something. It runs before the callers of that commit get their results, so a caller
  // that saw its write succeed knows the listener has been told. Replaces any earlier listener;
  // an empty function removes it. Once this returns, the previous listener is not running and
  // is never called again (a call in progress is waited for), so its owner may be destroyed;
  // hence do not call this while holding a lock that the listener takes.
  virtual void SetRunsQueuedListener(std::function<void()> listener) = 0;
  // Several nodes on one database (PostgreSQL): `listener` runs (on a store thread; it must not
  // block or call the store) within a second after ANOTHER process committed a change to what
  // nodes cache — workspaces, API keys, sources, agents, triggers (and their webhooks/extras) —
  // so the caller reloads its caches. Same replacement contract as SetRunsQueuedListener. The
  // SQLite store has one process, whose own writes its callers already know of: never called.
  virtual void SetConfigChangedListener(std::function<void()> listener) { (void)listener; }
  // Several nodes: records that `node_id` is alive at `now` (micros), forgets nodes not seen for
  // `ttl_micros`, and returns how many nodes are alive, this one included. Nodes call it every
  // few seconds to share the ingest rate limits (ingest::Ingestor::SetRateShare) and to show the
  // cluster in /metrics. A one-process store (SQLite) answers 1.
  virtual Result<int> HeartbeatNode(std::string_view node_id, int64_t now, int64_t ttl_micros) {
    (void)node_id, (void)now, (void)ttl_micros;
    return 1;
  }

  // Stops accepting appends, commits everything already queued, waits for it to be durable and
  // closes the database. Idempotent. The destructor calls it.
  virtual void Close() = 0;

  // A snapshot of the counters. Not pure virtual, so test fakes of Store need not implement it.
  virtual StoreStats Stats() { return {}; }

  // Operations: the gauges /metrics shows and the retention job (src/retention).
  // Runs waiting or in flight now, over every workspace. Cheap: served from the partial
  // dispatch indexes, whose size is the live runs, never the history.
  virtual Result<LiveRunCounts> CountLiveRuns() = 0;
  // One bounded step of retention (see PurgeRequest). Events with a run still queued, retrying
  // or running are kept whole, whatever their age: dispatch needs them.
  virtual Result<PurgeResult> Purge(const PurgeRequest& request) = 0;

  // Agent webhooks (see AgentWebhook). CreateAgentWebhook: kNotFound when the agent is not in the
  // webhook's workspace; kConflict when the agent already has a webhook of that kind or the token
  // hash is taken. GetAgentWebhook and FindAgentWebhookByTokenHash are not scoped to a workspace
  // (the public routes have none in their path; agent ids and tokens are unguessable): callers of
  // a workspace check workspace_id themselves. UpdateAgentWebhook replaces every field of the
  // webhook with that id (and workspace); DeleteAgentWebhook keeps its events and runs.
  virtual Status CreateAgentWebhook(const AgentWebhook& webhook) = 0;
  virtual Result<AgentWebhook> GetAgentWebhook(std::string_view agent_id,
                                               std::string_view kind) = 0;
  virtual Result<AgentWebhook> FindAgentWebhookByTokenHash(std::string_view token_hash) = 0;
  // Newest first.
  virtual Result<std::vector<AgentWebhook>> ListAgentWebhooks(std::string_view workspace_id,
                                                              std::string_view kind) = 0;
  virtual Status UpdateAgentWebhook(const AgentWebhook& webhook) = 0;
  virtual Status DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) = 0;

  // Cursors of "schedule" and "poll" sources (see SourceCursor). Not scoped to a workspace:
  // source ids are unique. GetSourceCursor: kNotFound when none was written yet.
  // PutSourceCursor inserts or replaces the source's cursor and returns once that is durable;
  // kNotFound when the source no longer exists (deleting a source deletes its cursor).
  // Not pure virtual, so test fakes of Store need not implement them (they answer kInternal).
  virtual Result<SourceCursor> GetSourceCursor(std::string_view source_id) {
    return Status::Internal("source cursors are not supported by this store");
  }
  virtual Status PutSourceCursor(const SourceCursor& cursor) {
    return Status::Internal("source cursors are not supported by this store");
  }
  // Several nodes on one database run the same poll sources; before polling, a node claims the
  // turn: the cursor's next_due_at becomes `next_due_at` (a cursor row is created if there is
  // none) only when the stored one is unset or <= `now`. true: this caller has the turn; false:
  // another caller claimed it already (it polls; this one re-reads the cursor and waits for the
  // next turn). kNotFound when the source no longer exists.
  virtual Result<bool> ClaimSourceTurn(std::string_view source_id, int64_t now,
                                       int64_t next_due_at) {
    return Status::Internal("source cursors are not supported by this store");
  }

  // The Stack AI-style triggers API (see TriggerExtras). FindTrigger is not scoped to a
  // workspace (POST /v1/webhooks/{trigger_id} has none in its path; trigger ids are unique and
  // unguessable): callers of a workspace use GetTrigger. GetTriggerExtras: kNotFound when the
  // trigger has none (made through /api/v1 or the config file) or is not in the workspace.
  // PutTriggerExtras inserts or replaces the row; kNotFound when the trigger is not in
  // `extras.workspace_id`.
  virtual Result<Trigger> FindTrigger(std::string_view trigger_id) = 0;
  virtual Result<TriggerExtras> GetTriggerExtras(std::string_view workspace_id,
                                                 std::string_view trigger_id) = 0;
  virtual Status PutTriggerExtras(const TriggerExtras& extras) = 0;
};

struct SqliteOptions {
  // The database file; created with its schema when missing (WAL mode, synchronous=FULL).
  std::string path;
  // Upper bound on requests (appends and other writes together) in one group-commit
  // transaction. Larger batches amortise the fsync further but raise the latency of the first
  // request in the batch.
  int max_batch_events = 512;
  // Checkpoints run on a background thread with a connection of its own, never inline after a
  // COMMIT on the writer (its auto-checkpoint is off): once the writer's commits have added
  // `checkpoint_wal_pages` pages to the WAL (default 1000, ~4 MB with 4 KiB pages, SQLite's own
  // default), a PASSIVE checkpoint copies them into the database file without blocking anyone.
  // Under steady load the WAL never catches up to restart by itself, so once it holds
  // `restart_wal_pages` pages (default 8000, ~32 MB) the checkpointer pauses the writer between
  // two transactions and runs a RESTART, so the next commit writes from the WAL's start again.
  // Smaller values keep the WAL (and crash recovery) short at the price of more database-file
  // fsyncs and writer pauses. Checkpoints never weaken commit durability: every COMMIT still
  // fsyncs the WAL before its callbacks run.
  int checkpoint_wal_pages = 1000;
  int restart_wal_pages = 8000;
  // Name of a registered SQLite VFS to open the file with; "" = SQLite's default. A seam for
  // fault-injection tests (a VFS whose xSync fails on demand); production leaves it empty.
  std::string vfs;
  // Time for the few writes whose call carries none (DeleteAgent's cancellations). Must outlive
  // the store. nullptr = SystemClock::Instance().
  const Clock* clock = nullptr;
  // The master key (32 raw bytes) that seals the secret columns at rest (docs/storage.md,
  // "Secrets at rest"; crypto/master key loading: common/crypto_master_key.h). At open, plaintext
  // secrets of an older database are sealed in place, and a database sealed under another key is
  // refused (code "wrong_master_key"). "" = no sealing, secrets stored in plaintext: only for
  // tests of other modules; a database holding sealed values then fails to open.
  std::string master_key;
  // Master key rotation (README "Secrets at rest"): earlier master keys (32 raw bytes each).
  // Values sealed under one of them are accepted, and re-sealed under `master_key` at open in the
  // same transaction as the plaintext ones, so a crash leaves all of them under the old key (which
  // this ring still opens) or all under the new. Requires a `master_key`.
  std::vector<std::string> previous_master_keys;
};

// Opens (creating when needed) the SQLite store. Errors when the file cannot be opened, is not a
// triggerd database, or has a schema newer than this binary knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);
// The schema version OpenSqliteStore brings a database to (the number of built-in migrations).
int LatestSqliteSchemaVersion();

struct PostgresOptions {
  // A libpq connection URI or key/value string, e.g. postgres://user@127.0.0.1:5432/triggerd.
  std::string url;
  // Connections for reads and writes (each request borrows one); plus one LISTEN connection.
  int pool_size = 8;
  // Upper bound on appends committed in one group-commit transaction (one round trip batch).
  int max_batch_events = 512;
  // As SqliteOptions::clock.
  const Clock* clock = nullptr;
  // As SqliteOptions::master_key and previous_master_keys. Every node of a cluster must be able
  // to open what the others seal: the same key, and during a rotation each other's keys in its
  // ring (README "Secrets at rest" gives the rolling procedure).
  std::string master_key;
  std::vector<std::string> previous_master_keys;
  // Shown as the connections' application_name (pg_stat_activity); e.g. the node's id.
  std::string application_name = "triggerd";
};

// Opens the PostgreSQL store: connects, applies pending migrations under an advisory lock (so
// nodes starting together migrate once), and refuses a schema newer than this binary knows.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);
// The schema version OpenPostgresStore brings a database to.
int LatestPostgresSchemaVersion();

}  // namespace triggerd::store
