// SqliteStore: the Store on one SQLite file, in WAL mode with synchronous=FULL.
//
// Writes. SQLite admits one writer at a time, so every write goes through one writer thread that
// owns the only writing connection, and one FIFO queue in front of it:
//  * AppendEvent queues the event (with its outbox: match records and runs) and returns.
//  * Every other write (CreateSource, ClaimRuns, FinishAttempts, …) queues a closure, and the
//    caller blocks until it committed (durably) or failed.
// The writer takes the run of requests at the front of the queue, appends and writes alike (up to
// max_batch_events), opens one transaction and applies each inside a SAVEPOINT of its own: an
// append checks (source_id, delivery_id) for a duplicate and inserts the event, its matches and
// its runs; a write runs its closure. It then commits once and only after COMMIT returned (the
// WAL is fsync'd: synchronous=FULL) delivers every result, in queue order. While it commits, new
// requests queue up and form the next batch, so one fsync acknowledges many of them (group
// commit, as LevelDB's DBImpl::Write) — the dispatcher's ClaimRuns/FinishAttempts
// writes share fsyncs with each other and with the appends. One request's failure (a constraint,
// a kConflict) rolls back its savepoint and fails only that request; a failed COMMIT fails every
// request of the batch with kInternal and rolls the whole transaction back.
// The queue is FIFO: a write made after another by the same thread is applied after it.
// Checkpoints. The writer's inline auto-checkpoint is off; its WAL hook counts the pages its
// commits add and, every checkpoint_wal_pages, wakes a checkpointer thread that owns a connection
// of its own and runs a PASSIVE checkpoint (copies WAL pages into the database file while the
// writer goes on committing). When the WAL has reached restart_wal_pages, the checkpointer holds
// the writer between two transactions (the transaction gate) and runs a RESTART, so the WAL is
// rewound instead of growing without bound. Durability is untouched: a checkpoint only copies
// pages of already-committed (fsync'd) transactions into the database file and fsyncs that file.
// Reads run on separate connections from a small pool (WAL readers neither block the writer nor
// wait for it) and see everything committed before they started.
// Files: sqlite_store.cc opens and closes the store and pools the readers; group_commit.cc is the
// writer thread (the queue and the batch transaction) and checkpointer.cc the checkpointer;
// config.cc, events.cc, runs.cc, compat.cc and operations.cc are the reads and writes of each
// interface (rows.h maps rows to records; which runs a claim takes is store/run_policy.h's).
//
// Crash semantics: an acknowledged append or a returned-OK write survives a crash or power loss.
// An append that failed or was never acknowledged may or may not be in the file afterwards (an
// fsync that failed may still have written), so callers treat "not acknowledged" as "unknown"
// and rely on delivery-id de-duplication when the sender retries. See docs/storage.md.
//
// Thread safety: every method may be called from any thread. `done` callbacks and the
// runs-queued listener run on the writer thread, after the commit, outside the queue and gate
// locks (the listener holds only its own registration lock, see SetRunsQueuedListener);
// REQUIRES: they do not block, throw, or call Close() or a write (those wait for the writer,
// i.e. for themselves: a write from a callback fails with kInternal instead of deadlocking;
// Close() from a callback is a programmer error, asserted).
// After Close(): appends complete at once with kUnavailable; every other call returns kUnavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "store/sqlite/secrets.h"
#include "store/store.h"

struct sqlite3;

namespace triggerd::store::sqlite {

class Connection;

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // ConfigStore (config.cc)
  Status CreateWorkspace(const Workspace& workspace) override;
  Result<bool> CreateFirstWorkspace(const Workspace& workspace, const ApiKey& admin_key) override;
  Result<Workspace> GetWorkspace(std::string_view id) override;
  Result<std::vector<Workspace>> ListWorkspaces() override;
  Status CreateApiKey(const ApiKey& key) override;
  Result<ApiKey> FindApiKeyByHash(std::string_view hash) override;
  Result<std::vector<ApiKey>> ListApiKeys(std::string_view workspace_id) override;
  Status RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                      int64_t revoked_at) override;
  Status CreateSource(const Source& source) override;
  Result<Source> GetSource(std::string_view workspace_id, std::string_view id) override;
  Result<std::vector<Source>> ListSources(std::string_view workspace_id) override;
  Result<std::vector<Source>> ListAllSources() override;
  Status UpdateSource(const Source& source) override;
  Status DeleteSource(std::string_view workspace_id, std::string_view id) override;
  Status CreateAgent(const Agent& agent) override;
  Result<Agent> GetAgent(std::string_view workspace_id, std::string_view id) override;
  Result<std::vector<Agent>> ListAgents(std::string_view workspace_id) override;
  Status UpdateAgent(const Agent& agent) override;
  Status DeleteAgent(std::string_view workspace_id, std::string_view id) override;
  Status CreateTrigger(const Trigger& trigger) override;
  Result<Trigger> GetTrigger(std::string_view workspace_id, std::string_view id) override;
  Result<std::vector<Trigger>> ListTriggers(std::string_view workspace_id,
                                            std::string_view source_id,
                                            std::string_view agent_id) override;
  Result<std::vector<Trigger>> ListAllTriggers() override;
  Status UpdateTrigger(const Trigger& trigger) override;
  Status DeleteTrigger(std::string_view workspace_id, std::string_view id) override;
  Result<SourceCursor> GetSourceCursor(std::string_view source_id) override;
  Status PutSourceCursor(const SourceCursor& cursor) override;
  Result<bool> ClaimSourceTurn(std::string_view source_id, int64_t now,
                               int64_t next_due_at) override;

  // EventLog (events.cc; appends are queued by group_commit.cc)
  void AppendEvent(NewEvent event, AppendCallback done) override;
  Result<Event> GetEvent(std::string_view workspace_id, std::string_view id) override;
  Result<Page<EventSummary>> ListEvents(const EventQuery& query) override;
  Result<std::vector<Match>> ListEventMatches(std::string_view workspace_id,
                                              std::string_view event_id) override;
  Result<Page<Match>> ListTriggerMatches(const MatchQuery& query) override;
  Status AppendMatches(std::string_view workspace_id, std::string_view event_id,
                       std::vector<Match> matches, std::vector<NewRun> runs) override;

  // RunQueue (runs.cc; the listener is group_commit.cc's)
  Result<Run> GetRun(std::string_view workspace_id, std::string_view id) override;
  Result<Page<Run>> ListRuns(const RunQuery& query) override;
  Result<std::vector<RunMessage>> ListRunMessages(std::string_view run_id) override;
  Status RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) override;
  Status CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) override;
  Result<std::vector<Run>> ClaimRuns(const ClaimRequest& request) override;
  Result<std::vector<Status>> FinishAttempts(const std::vector<AttemptResult>& results) override;
  Result<std::optional<int64_t>> NextDueTime() override;
  Status ReleaseLeases(std::string_view keep_owner, int64_t now) override;
  void SetRunsQueuedListener(std::function<void()> listener) override;
  bool SetStandingClaim(StandingClaim claim) override;

  // CompatStore (compat.cc)
  Status CreateAgentWebhook(const AgentWebhook& webhook) override;
  Result<AgentWebhook> GetAgentWebhook(std::string_view agent_id, std::string_view kind) override;
  Result<AgentWebhook> FindAgentWebhookByTokenHash(std::string_view token_hash) override;
  Result<std::vector<AgentWebhook>> ListAgentWebhooks(std::string_view workspace_id,
                                                      std::string_view kind) override;
  Status UpdateAgentWebhook(const AgentWebhook& webhook) override;
  Status DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) override;
  Result<Trigger> FindTrigger(std::string_view trigger_id) override;
  Result<TriggerExtras> GetTriggerExtras(std::string_view workspace_id,
                                         std::string_view trigger_id) override;
  Status PutTriggerExtras(const TriggerExtras& extras) override;

  // StoreOperations (Close and Stats: sqlite_store.cc; the rest: operations.cc)
  void Close() override;
  StoreStats Stats() override;
  Result<LiveRunCounts> CountLiveRuns() override;
  Result<PurgeResult> Purge(const PurgeRequest& request) override;

 private:
  // One queued append. The event's outbox (matches and runs) travels inside it and is written by
  // ApplyAppend in the event's savepoint: it shares the event's de-duplication and durability.
  struct PendingAppend {
    NewEvent event;
    AppendCallback done;
  };
  // One queued write: `apply` runs on the writer thread inside a savepoint of its own, within the
  // batch transaction; `result` is set after the COMMIT.
  struct PendingWrite {
    std::function<Status(Connection&)> apply;
    std::promise<Status> result;
  };
  using WriteRequest = std::variant<PendingAppend, PendingWrite>;

  // What one request did besides its own rows, noted by the code that applies it (writer thread)
  // and counted only when its savepoint was kept and the batch committed.
  struct WriteEffects {
    uint64_t runs_created = 0;
    bool runs_made_due = false;  // the commit must tell the runs-queued listener
    // Attempts ended (FinishAttempts): slots freed, so the standing claim runs (and the listener
    // is told only when that claim was full or failed).
    bool attempts_ended = false;
  };
  // The outcome of one request of a batch, held until the COMMIT decides whether it stands.
  struct AppliedRequest {
    Status status;         // the request's own outcome
    AppendOutcome append;  // an append's answer when `status` is OK
    WriteEffects effects;
  };

  // A batch's standing claim (SetStandingClaim), from `want` to `claimed`.
  struct BatchClaim {
    bool made = false;    // `want` asked for runs: `claimed` must be called once
    bool failed = false;  // the claim failed (its savepoint was rolled back)
    int asked = 0;        // the limit it asked for
    int took = 0;         // runs.size() as handed to `claimed`
    std::vector<Run> runs;
  };

  SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer,
              std::unique_ptr<Connection> checkpointer, SecretCodec secrets);

  // Writer thread.
  void WriterLoop();
  // Applies `batch` in one transaction, filling `applied` (one per request, in order); returns
  // the transaction's status (non-OK: nothing of the batch was committed).
  // A batch that made runs due also runs the standing claim (into `claim`), taking
  // `listener_lock` (listener_mu_) first; DeliverBatch releases it.
  Status ApplyBatch(std::vector<WriteRequest>& batch, std::vector<AppliedRequest>& applied,
                    BatchClaim* claim, std::unique_lock<std::mutex>* listener_lock);
  // After ApplyBatch, outside the queue and gate locks: the standing claim's runs, counters, the
  // listener, then each request's result; releases `listener_lock` when ApplyBatch took it.
  void DeliverBatch(std::vector<WriteRequest>& batch, std::vector<AppliedRequest>& applied,
                    const Status& txn, BatchClaim* claim,
                    std::unique_lock<std::mutex>* listener_lock);
  // Runs `apply` (-> the request's own Status, stored in `own`) inside a savepoint of its own;
  // rolls the savepoint back when it fails. Returns non-OK only when the batch transaction itself
  // is broken (it must then be rolled back as a whole).
  template <typename Apply>
  Status InSavepoint(Apply&& apply, Status* own);
  Result<AppendOutcome> ApplyAppend(const NewEvent& event);
  // PlanClaims and its writes for `request` (limit already clamped), on the writer connection
  // inside the current transaction; the leased runs are appended to `claimed` (runs.cc).
  Status ClaimInTransaction(Connection& db, const ClaimRequest& request, int limit,
                            std::vector<Run>* claimed);
  // The standing claim at the end of a batch that made runs due (SetStandingClaim), in a
  // savepoint of its own, into `claim`. Non-OK only when the batch transaction itself is broken.
  // Writer thread, holding listener_mu_.
  Status ApplyStandingClaim(BatchClaim* claim);
  // The runs of a committed standing claim as `claimed` takes them, each with its event when
  // this batch stored it (moved out of `batch`, whose appends are then answered without it).
  static std::vector<LeasedRun> HandOver(std::vector<WriteRequest>& batch,
                                         const std::vector<AppliedRequest>& applied,
                                         std::vector<Run>& runs);
  Status Execute(std::string_view sql, std::string_view op);  // on the writer connection

  // Checkpointer thread.
  static int OnWalCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void CheckpointLoop();
  // Runs one checkpoint of `mode` (SQLITE_CHECKPOINT_*); the WAL's size in pages afterwards, or
  // -1 when it failed or stayed busy.
  int Checkpoint(int mode);

  // Queues `apply` for the writer thread and waits until it committed or failed.
  Status Write(std::function<Status(Connection&)> apply);

  // Runs `read` (Connection& -> Result<T>) on a pooled read connection, opened on demand.
  template <typename F>
  auto Read(F&& read) -> decltype(read(std::declval<Connection&>())) {
    using R = decltype(read(std::declval<Connection&>()));
    std::optional<R> result;
    Status leased = WithReader([&](Connection& db) { result.emplace(read(db)); });
    if (!leased.ok()) return R(leased);
    return std::move(*result);
  }
  // Leases a read connection from the pool (or opens one), runs `read` on it and gives it back;
  // non-OK when no connection could be had (then `read` did not run).
  Status WithReader(const std::function<void(Connection&)>& read);

  const std::string path_;
  const std::string vfs_;
  const size_t max_batch_;
  const Clock* const clock_;
  // Seals and opens the secret columns in the row mapping (store/sqlite/secrets.h).
  const SecretCodec secrets_;

  // The queue between callers and the writer thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WriteRequest> queue_;  // guarded by mu_
  bool closing_ = false;            // guarded by mu_; once set, nothing more is queued

  std::unique_ptr<Connection> writer_;  // used only by writer_thread_ (then by Close, after join)
  WriteEffects effects_;                // used only by writer_thread_: the current request's
  std::thread writer_thread_;
  // Detects calls made from a callback. Cleared after the join: a later thread may reuse the id.
  std::atomic<std::thread::id> writer_thread_id_;

  // The transaction gate. The writer holds gate_mu_ for each transaction; the checkpointer sets
  // pause_writer_ (outside the lock, so it is not starved by a writer that re-locks at once) and
  // then takes gate_mu_: the writer, between two transactions, waits on gate_cv_ until
  // pause_writer_ is cleared (under gate_mu_).
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  std::atomic<bool> pause_writer_{false};

  // Between the writer's WAL hook and the checkpointer.
  const int checkpoint_pages_;
  const int restart_pages_;
  int pages_at_last_signal_ = 0;  // used only by the writer thread (in OnWalCommit)
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  int wal_pages_ = 0;              // guarded by checkpoint_mu_: WAL size at the last signal
  bool checkpoint_due_ = false;    // guarded by checkpoint_mu_
  bool checkpoint_stop_ = false;   // guarded by checkpoint_mu_
  std::unique_ptr<Connection> checkpointer_;  // used only by checkpoint_thread_
  std::thread checkpoint_thread_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mu_
  bool readers_closed_ = false;                            // guarded by readers_mu_

  // Held while the listener runs, so replacing it waits for a call in progress.
  std::mutex listener_mu_;
  std::function<void()> runs_queued_listener_;  // guarded by listener_mu_
  StandingClaim standing_claim_;                // guarded by listener_mu_

  std::mutex close_mu_;  // serialises Close() so a second caller waits for the first to finish
  bool closed_ = false;  // guarded by close_mu_

  // Written only by the writer thread; read by Stats() from anywhere.
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> events_committed_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> max_batch_seen_{0};
  std::atomic<uint64_t> failed_batches_{0};
  std::atomic<uint64_t> writes_committed_{0};
  std::atomic<uint64_t> runs_created_{0};
  // Written by Open before the store is handed out, read-only afterwards.
  uint64_t secrets_sealed_at_open_ = 0;
  // Written only by the checkpointer thread.
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> wal_restarts_{0};
  std::atomic<uint64_t> failed_checkpoints_{0};
};

}  // namespace triggerd::store::sqlite
