// PostgresStore: the Store on one PostgreSQL database, shared by several triggerd nodes
// (docs/storage.md, "PostgreSQL").
//
// Appends. AppendEvent queues the event (with its outbox: match records and runs) and returns. One
// writer thread takes the run of appends at the front of the queue (up to max_batch_events) and
// sends them as ONE transaction in libpq pipeline mode — BEGIN, per append an INSERT … ON
// CONFLICT (source_id, delivery_id) DO NOTHING, its matches and runs (written only if this
// transaction inserted the event), a lookup of the first event for a duplicate, COMMIT — so a
// batch costs one round trip and one commit (group commit, as the SQLite store). If a statement of
// the batch fails, nothing of it was committed and its appends are retried one per transaction,
// so one bad append fails only itself. Callbacks run on the writer thread after COMMIT returned.
// De-duplication holds across nodes: the unique index decides, and a concurrent insert of the same
// delivery id by another node is waited for.
// Other writes run as ordinary READ COMMITTED transactions on a pooled connection (PostgreSQL
// handles concurrent writers); where the SQLite store relies on its single writer, they take row
// locks (SELECT … FOR UPDATE) or, in ClaimRuns, a transaction-scoped advisory lock so concurrent
// claims on every node count running runs consistently.
// Reads run on pooled connections, one statement each (NextDueTime: one REPEATABLE READ snapshot).
//
// Notifications. A write that makes runs due notifies channel triggerd_runs, one that changes
// cached configuration notifies triggerd_config, inside its transaction (delivered at COMMIT),
// with the payload "<schema>/<instance id>" (the instance id is random per open). A listener
// thread with a connection of its own LISTENs to both: another instance's notification of the
// same schema fires the runs-queued or config-changed listener; this instance's own commits fire
// the runs-queued listener directly, after COMMIT and before their callers get results. After a
// lost listening connection is re-established (with backoff), both listeners fire once: a
// notification may have been missed meanwhile.
//
// Files: pg_store.cc opens and closes the store and runs the other writes' transactions (Write);
// append_batch.cc is the group commit, cluster.cc the notifications and heartbeats; config.cc,
// events.cc, runs.cc, compat.cc and operations.cc are the reads and writes of each interface
// (pg_rows.h maps rows to records; which runs a claim takes is store/run_policy.h's).
//
// Thread safety: every method may be called from any thread. Callbacks and listeners must not
// block or call Close(); an append callback may call other methods (they borrow a connection).
// After Close(): appends complete at once with kUnavailable; every other call returns kUnavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/postgres/connection.h"
#include "store/secret_codec.h"
#include "store/store.h"

namespace triggerd::store::postgres {

// What one write did besides its rows, noted by the code that applies it.
struct TxnEffects {
  uint64_t runs_created = 0;
  bool runs_made_due = false;   // notify triggerd_runs; fire the runs-queued listener
  bool config_changed = false;  // notify triggerd_config
};

class PostgresStore final : public Store {
 public:
  static Result<std::unique_ptr<PostgresStore>> Open(const PostgresOptions& options);
  ~PostgresStore() override;

  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  // EventLog (events.cc; appends: append_batch.cc)
  void AppendEvent(NewEvent event, AppendCallback done) override;
  Result<Event> GetEvent(std::string_view workspace_id, std::string_view id) override;
  Result<Page<EventSummary>> ListEvents(const EventQuery& query) override;
  Result<std::vector<Match>> ListEventMatches(std::string_view workspace_id,
                                              std::string_view event_id) override;
  Result<Page<Match>> ListTriggerMatches(const MatchQuery& query) override;
  Status AppendMatches(std::string_view workspace_id, std::string_view event_id,
                       std::vector<Match> matches, std::vector<NewRun> runs) override;

  // RunQueue (runs.cc; the listener: cluster.cc)
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
  // Claims stay each dispatcher's own (ClaimRuns under the claim lock): several nodes compete
  // for the runs, and a claim's count of running runs must see every node's.
  bool SetStandingClaim(StandingClaim) override { return false; }

  // Cluster (cluster.cc)
  void SetConfigChangedListener(std::function<void()> listener) override;
  Result<int> HeartbeatNode(std::string_view node_id, int64_t now, int64_t ttl_micros) override;
  Status CheckMasterKey() override;

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

  // StoreOperations (Close and Stats: pg_store.cc; the rest: operations.cc)
  void Close() override;
  StoreStats Stats() override;
  Result<LiveRunCounts> CountLiveRuns() override;
  Result<PurgeResult> Purge(const PurgeRequest& request) override;

 private:
  struct PendingAppend {
    NewEvent event;
    AppendCallback done;
  };
  // One append's answer within a batch, held until the batch's COMMIT decides.
  struct AppliedAppend {
    Status status;
    AppendOutcome outcome;
    uint64_t runs_created = 0;
  };
  enum class BatchResult {
    kCommitted,        // every append has its answer in `applied`
    kNothingCommitted, // a statement (or COMMIT) failed: nothing of it is in the database
    kUnknown,          // the connection broke: the COMMIT may or may not have happened
  };

  PostgresStore(const PostgresOptions& options, SecretCodec secrets, std::string schema,
                std::unique_ptr<PgConnection> listen_connection);

  // Writer thread (appends).
  void WriterLoop();
  void CommitAppends(std::vector<PendingAppend>& batch);
  // Sends `batch` as one pipelined transaction on `db`. On kCommitted `applied` has one entry
  // per append; otherwise `error` says what went wrong (the first failing statement).
  BatchResult ApplyPipelined(PgConnection& db, std::span<PendingAppend> batch,
                             std::vector<AppliedAppend>& applied, Status* error);
  // One statement of a pipelined batch: what it was, and for which append of the batch.
  enum class SentKind { kBegin, kEvent, kMatch, kRun, kFind, kNotify, kCommit };
  struct Sent {
    SentKind kind;
    size_t append;
  };
  // ApplyPipelined's halves. SendPipelined queues the batch's statements (BEGIN … COMMIT) and the
  // sync on `c`, already in pipeline mode, and flushes them, noting each in `sent`; false when
  // the connection failed meanwhile. ReadPipelined reads their results in order into `applied`
  // (the first failure into `error`; `committed` once COMMIT succeeded); false when the
  // connection was lost before every result arrived.
  bool SendPipelined(PGconn* c, std::span<PendingAppend> batch, std::vector<Sent>* sent);
  bool ReadPipelined(PGconn* c, std::span<PendingAppend> batch, const std::vector<Sent>& sent,
                     std::vector<AppliedAppend>& applied, Status* error, bool* committed);

  // Listener thread.
  void ListenLoop(std::unique_ptr<PgConnection> conn);
  void OnNotification(std::string_view channel, std::string_view payload);
  void FireRunsQueued();
  void FireConfigChanged();

  // Runs `apply` in one READ COMMITTED transaction on a pooled connection; notifies what its
  // effects say inside the transaction, commits, counts, and fires the runs-queued listener
  // before returning when runs were made due.
  Status Write(std::string_view op,
               const std::function<Status(PgConnection&, TxnEffects&)>& apply);
  // Runs `read` (PgConnection& -> Result<T>) on a pooled connection. A read that failed because
  // its connection was lost (say, the server restarted since it was pooled) runs once more on a
  // fresh one: reads have no effects.
  template <typename F>
  auto Read(F&& read) -> decltype(read(std::declval<PgConnection&>())) {
    using R = decltype(read(std::declval<PgConnection&>()));
    for (int attempt = 0;; ++attempt) {
      if (closed_.load(std::memory_order_acquire)) {
        return R(Status::Unavailable("store read: the store is closed"));
      }
      Result<ConnectionPool::Lease> lease = pool_.Borrow();
      if (!lease) return R(lease.error());
      R result = read(**lease);
      if (result.has_value() || (*lease)->healthy() || attempt > 0) return result;
    }
  }
  // Notification channels. The payload is NotifyPayload(), "<schema>/<instance id>": several
  // stores may share one database in different schemas (tests do), and channels are
  // database-wide.
  static constexpr std::string_view kRunsChannel = "triggerd_runs";
  static constexpr std::string_view kConfigChannel = "triggerd_config";
  std::string NotifyPayload() const { return schema_ + "/" + instance_id_; }

  const SecretCodec& secrets() const { return secrets_; }
  const Clock& clock() const { return *clock_; }

 private:
  const size_t max_batch_;
  const Clock* const clock_;
  const SecretCodec secrets_;
  const std::string schema_;       // current_schema() of the connections: the namespace
  const std::string instance_id_;  // random per open; names this store in notifications
  const std::string url_;
  const std::string application_name_;
  ConnectionPool pool_;

  std::atomic<bool> closed_{false};  // set by Close() before the pool closes

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingAppend> queue_;  // guarded by mu_
  bool closing_ = false;             // guarded by mu_
  std::thread writer_thread_;

  std::mutex listen_mu_;
  std::condition_variable listen_cv_;
  bool listen_stop_ = false;  // guarded by listen_mu_
  std::thread listen_thread_;
  // Detect Close() from a store thread. Cleared after the joins: a later thread may reuse an id.
  std::atomic<std::thread::id> writer_thread_id_;
  std::atomic<std::thread::id> listen_thread_id_;

  // Each held while its listener runs, so replacing it waits for a call in progress.
  std::mutex runs_listener_mu_;
  std::function<void()> runs_queued_listener_;  // guarded by runs_listener_mu_
  std::mutex config_listener_mu_;
  std::function<void()> config_changed_listener_;  // guarded by config_listener_mu_

  std::mutex close_mu_;
  bool close_done_ = false;  // guarded by close_mu_

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> events_committed_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> max_batch_seen_{0};
  std::atomic<uint64_t> failed_batches_{0};
  std::atomic<uint64_t> writes_committed_{0};
  std::atomic<uint64_t> runs_created_{0};
  // Written by Open before the store is handed out, read-only afterwards.
  uint64_t secrets_sealed_at_open_ = 0;
};

}  // namespace triggerd::store::postgres
