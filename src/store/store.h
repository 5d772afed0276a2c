// Store: everything triggerd keeps durably — workspaces, API keys, webhook sources and the event
// log — behind one interface, so nothing above this layer knows which database it talks to
// (SQLite is the embedded default; PostgreSQL comes later behind the same interface).
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

namespace triggerd::store {

enum class Role { kAdmin, kBuilder, kUser };
std::string_view RoleName(Role role);                     // "admin" | "builder" | "user"
std::optional<Role> ParseRole(std::string_view name);

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
  std::string kind = "custom";  // "custom" or a provider preset name
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
  uint64_t batches = 0;           // group-commit transactions committed
  uint64_t events_committed = 0;  // events written (duplicates and failed appends excluded)
  uint64_t duplicates = 0;        // appends answered with duplicate=true
  uint64_t max_batch = 0;         // most appends in one committed transaction
  uint64_t failed_batches = 0;    // batches failed whole, e.g. COMMIT failed (all got kInternal)
  uint64_t queue_depth = 0;       // writes queued for the writer right now (a gauge)
  // The background checkpointer (SQLite only; see SqliteOptions::checkpoint_wal_pages).
  uint64_t checkpoints = 0;         // PASSIVE checkpoints run (each copies WAL pages to the file)
  uint64_t wal_restarts = 0;        // RESTART checkpoints that rewound the WAL to its start
  uint64_t failed_checkpoints = 0;  // checkpoints that failed (I/O error) or stayed busy
};

class Store {
 public:
  virtual ~Store() = default;

  // Workspaces.
  virtual Status CreateWorkspace(const Workspace& workspace) = 0;
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

  // Stops accepting appends, commits everything already queued, waits for it to be durable and
  // closes the database. Idempotent. The destructor calls it.
  virtual void Close() = 0;

  // A snapshot of the counters. Not pure virtual, so test fakes of Store need not implement it.
  virtual StoreStats Stats() { return {}; }
};

struct SqliteOptions {
  // The database file; created with its schema when missing (WAL mode, synchronous=FULL).
  std::string path;
  // Upper bound on events in one group-commit transaction. Larger batches amortise the fsync
  // further but raise the latency of the first event in the batch.
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
};

// Opens (creating when needed) the SQLite store. Errors when the file cannot be opened, is not a
// triggerd database, or has a schema newer than this binary knows.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace triggerd::store
