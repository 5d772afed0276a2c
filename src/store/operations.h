// StoreOperations: running the store itself — closing it, the group-commit counters, the
// live-run gauges /metrics shows, and the bounded purge steps of the retention job
// (src/retention). One of the narrow interfaces of store/ (store.h aggregates them).
//
// Thread safety: every method may be called from any thread concurrently.
// Errors: methods return Status/Result and never throw; kInternal for I/O failures.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "common/status.h"

namespace triggerd::store {

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

class StoreOperations {
 public:
  virtual ~StoreOperations() = default;

  // Stops accepting appends, commits everything already queued, waits for it to be durable and
  // closes the database. Idempotent. The destructor calls it.
  virtual void Close() = 0;

  // A snapshot of the counters. Not pure virtual, so test fakes of Store need not implement it.
  virtual StoreStats Stats() { return {}; }

  // The gauges /metrics shows and the retention job (src/retention).
  // Runs waiting or in flight now, over every workspace. Cheap: served from the partial
  // dispatch indexes, whose size is the live runs, never the history.
  virtual Result<LiveRunCounts> CountLiveRuns() = 0;
  // One bounded step of retention (see PurgeRequest). Events with a run still queued, retrying
  // or running are kept whole, whatever their age: dispatch needs them.
  virtual Result<PurgeResult> Purge(const PurgeRequest& request) = 0;
};

}  // namespace triggerd::store
