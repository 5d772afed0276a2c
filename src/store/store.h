// Store: everything triggerd keeps durably — workspaces, API keys, webhook sources, the event
// log, agents, triggers, match records and runs with their dispatch state — behind narrow
// interfaces, one header each, so nothing above this layer knows which database it talks to:
//   config_store.h  ConfigStore      workspaces, API keys, sources, agents, triggers, cursors
//   event_log.h     EventLog         appends (group commit, outbox), events, match records
//   run_queue.h     RunQueue         runs, retry/cancel, claims, attempts, next due time
//   cluster.h       Cluster          config-changed listener, node heartbeats
//   compat_store.h  CompatStore      agent webhooks, trigger extras (docs/COMPATIBILITY.md)
//   operations.h    StoreOperations  Close, counters, live-run gauges, retention's Purge
// (records.h holds the domain records they share). Store aggregates them; this header opens one:
// SQLite (the embedded default, store/sqlite) or PostgreSQL shared by several nodes
// (store/postgres). docs/storage.md describes both; tests/store/*_contract_test.cc holds every
// implementation to the same contract. Which run a claim takes and when the next one is due
// (run_policy.h), and what a retention step deletes (purge_policy.h), are written once, and both
// backends call them.
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw. kNotFound for an unknown id *or* an id of
// another workspace (callers must not be able to tell the two apart); kConflict for a unique-key
// clash; kInternal for I/O failures (the message names the failing operation).
// Times are Unix microseconds (UTC).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/cluster.h"
#include "store/compat_store.h"
#include "store/config_store.h"
#include "store/event_log.h"
#include "store/operations.h"
#include "store/records.h"
#include "store/run_queue.h"

namespace triggerd {
class Clock;
}  // namespace triggerd

namespace triggerd::store {

// The aggregate of every narrow interface, which each backend implements whole. Consumers take
// the narrow interface they use (a Store* converts to any of them); the places that open the
// store and wire the service hold this one.
class Store : public ConfigStore,
              public EventLog,
              public RunQueue,
              public Cluster,
              public CompatStore,
              public StoreOperations {
 public:
  ~Store() override = default;
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
