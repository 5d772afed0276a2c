#include "store/postgres/pg_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/ids.h"
#include "store/postgres/migrations.h"
#include "store/postgres/pg_rows.h"
#include "store/sqlite/json_text.h"

namespace triggerd::store::postgres {
namespace {

// Notification channels. The payload is "<schema>/<instance id>": several stores may share one
// database in different schemas (tests do), and channels are database-wide.
constexpr std::string_view kRunsChannel = "triggerd_runs";
constexpr std::string_view kConfigChannel = "triggerd_config";

// How long a call waits for a pooled connection before answering kUnavailable.
constexpr std::chrono::milliseconds kBorrowTimeout{30000};
// The listener thread wakes this often to notice Close() even without traffic.
constexpr int kListenPollMillis = 100;
constexpr std::chrono::milliseconds kListenMaxBackoff{5000};

// The outbox of a pipelined append: written only if this transaction inserted the event (a
// duplicate — ON CONFLICT DO NOTHING — must write neither). xmin of the event row is the inserting
// transaction; the batch uses no subtransactions, so that is pg_current_xact_id().
constexpr std::string_view kOnlyIfInsertedHere =
    " WHERE EXISTS (SELECT 1 FROM events WHERE id = $2 AND xmin = pg_current_xact_id()::xid)";

constexpr std::string_view kInsertEventSql =
    "INSERT INTO events (id, workspace_id, source_id, received_at, content_type, event_type, "
    "delivery_id, headers, body, payload_json, remote_addr, verification) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
    "ON CONFLICT (source_id, delivery_id) WHERE delivery_id <> '' DO NOTHING RETURNING seq";

constexpr std::string_view kFindDeliverySql =
    "SELECT id, received_at FROM events "
    "WHERE source_id = $1 AND delivery_id = $2 AND delivery_id <> ''";

Params EventParams(const NewEvent& e) {
  Params p;
  p.Text(e.id)
      .Text(e.workspace_id)
      .Text(e.source_id)
      .Int64(e.received_at)
      .Text(e.content_type)
      .Text(e.event_type)
      .Text(e.delivery_id)
      .Bytes(sqlite::EncodeHeaders(e.headers))
      .Bytes(e.body)
      .Text(e.payload_json)
      .Text(e.remote_addr)
      .Text(e.verification);
  return p;
}

std::string NotifyPayload(std::string_view schema, std::string_view instance) {
  return std::string(schema) + "/" + std::string(instance);
}

}  // namespace

// ---- Outbox statements, shared with AppendMatches (pg_store_model.cc) ----

std::string InsertMatchSql(bool only_if_inserted_here) {
  return Concat({"INSERT INTO matches (workspace_id, event_id, trigger_id, outcome, run_id, "
                 "message, evaluated_at, replay) SELECT $1, $2, $3, $4, $5, $6, $7, $8",
                 only_if_inserted_here ? kOnlyIfInsertedHere : ""});
}

Params MatchParams(std::string_view workspace_id, std::string_view event_id, const Match& m) {
  Params p;
  p.Text(workspace_id)
      .Text(event_id)
      .Text(m.trigger_id)
      .Text(MatchOutcomeName(m.outcome))
      .Text(m.run_id)
      .Text(m.message)
      .Int64(m.evaluated_at)
      .Bool(m.replay);
  return p;
}

// max_attempts 0: the agent's, read in this transaction; a run whose agent is already gone keeps
// Agent{}.max_attempts and is cancelled by the first claim that finds it due.
std::string InsertRunSql(bool only_if_inserted_here) {
  return Concat({"INSERT INTO runs (workspace_id, event_id, id, trigger_id, agent_id, owner, "
                 "include_payload, max_attempts, created_at, status, attempts, next_attempt_at, "
                 "lease_owner, lease_expires_at, started_at, finished_at, last_error) "
                 "SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 = 0 THEN coalesce("
                 "(SELECT max_attempts FROM agents WHERE id = $5 AND workspace_id = $1), $10) "
                 "ELSE $8 END, $9, 'queued', 0, $9, '', 0, NULL::bigint, NULL::bigint, ''",
                 only_if_inserted_here ? kOnlyIfInsertedHere : ""});
}

Params RunParams(std::string_view workspace_id, std::string_view event_id, const NewRun& r) {
  Params p;
  p.Text(workspace_id)
      .Text(event_id)
      .Text(r.id)
      .Text(r.trigger_id)
      .Text(r.agent_id)
      .Text(r.owner)
      .Bool(r.include_payload)
      .Int64(r.max_attempts)
      .Int64(r.created_at)
      .Int64(Agent{}.max_attempts);
  return p;
}

// ---- Opening and closing ----

namespace {

struct PendingSeal {
  const SealedColumn* column;
  std::string row_id;
  std::string stored;     // what the scan read: the compare of the compare-and-set
  std::string plaintext;  // what to seal under the master key
};

// The SQLite store's SealSecretsAtRest, on PostgreSQL: every value of kSealedColumns is checked
// (SecretCodec::CheckStored) and plaintext ones, and those sealed under a previous master key,
// are sealed in place under the master key, compare-and-set, in one transaction (a crash or an
// error leaves every value as it was). FOR UPDATE keeps another node's open from sealing the
// same rows meanwhile. `sealed` receives how many values were (re-)sealed.
Status SealSecretsAtRest(PgConnection& db, const SecretCodec& codec, int* sealed) {
  *sealed = 0;
  TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN", "seal secrets at open"));
  Status status = [&]() -> Status {
    std::vector<PendingSeal> pending;
    std::string_view last_table;
    for (const SealedColumn& first : kSealedColumns) {
      if (first.table == last_table) continue;  // grouped by table: one scan per table
      last_table = first.table;
      std::vector<const SealedColumn*> columns;
      std::string sql = "SELECT id";
      for (const SealedColumn& column : kSealedColumns) {
        if (column.table != first.table) continue;
        columns.push_back(&column);
        sql.append(", ").append(column.column);
      }
      sql.append(" FROM ").append(first.table).append(" FOR UPDATE");
      Result<PgResult> rows = db.Exec(sql, Params(), "read secrets at open");
      if (!rows) return rows.error();
      for (int row = 0; row < rows->rows(); ++row) {
        const std::string id = rows->Text(row, 0);
        for (size_t i = 0; i < columns.size(); ++i) {
          std::string stored = rows->Text(row, static_cast<int>(i) + 1);
          std::optional<std::string> to_seal;
          TRIGGERD_RETURN_IF_ERROR(codec.CheckStored(*columns[i], id, stored, &to_seal));
          if (to_seal) {
            pending.push_back({columns[i], id, std::move(stored), std::move(*to_seal)});
          }
        }
      }
    }
    for (const PendingSeal& p : pending) {
      std::string sql;
      sql.append("UPDATE ").append(p.column->table).append(" SET ").append(p.column->column);
      sql.append(" = $1 WHERE id = $2 AND ").append(p.column->column).append(" = $3");
      Result<PgResult> updated = db.Exec(
          sql,
          Params().Text(codec.Seal(*p.column, p.row_id, p.plaintext)).Text(p.row_id).Text(p.stored),
          "seal secrets at open");
      if (!updated) return updated.error();
    }
    *sealed = static_cast<int>(pending.size());
    return Status::Ok();
  }();
  if (!status.ok()) {
    db.RollbackQuietly();
    *sealed = 0;
    return status;
  }
  Status committed = db.Exec("COMMIT", "seal secrets at open");
  if (!committed.ok()) *sealed = 0;
  return committed;
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const PostgresOptions& options) {
  if (options.url.empty()) return Status::InvalidArgument("open store: empty PostgreSQL URL");
  Result<SecretCodec> secrets =
      SecretCodec::Create(options.master_key, options.previous_master_keys);
  if (!secrets) return Status::InvalidArgument("open store: " + secrets.error().message());
  Result<std::unique_ptr<PgConnection>> first =
      PgConnection::Connect(options.url, options.application_name);
  if (!first) return first.error();
  PgConnection& db = **first;
  Result<PgResult> schema = db.Exec("SELECT current_schema()", Params(), "read current schema");
  if (!schema) return schema.error();
  if (schema->rows() != 1 || schema->IsNull(0, 0)) {
    return Status::Internal("open store: no schema on the search_path exists");
  }
  TRIGGERD_RETURN_IF_ERROR(ApplyMigrations(db, BuiltinMigrations()));
  int sealed = 0;
  TRIGGERD_RETURN_IF_ERROR(SealSecretsAtRest(db, *secrets, &sealed));
  // The first connection becomes the listening one: LISTEN before Open returns, so no
  // notification committed after that is missed.
  TRIGGERD_RETURN_IF_ERROR(db.Exec(
      Concat({"LISTEN ", kRunsChannel, "; LISTEN ", kConfigChannel}), "listen for notifications"));
  std::unique_ptr<PostgresStore> store(new PostgresStore(
      options, std::move(secrets).value(), schema->Text(0, 0), std::move(first).value()));
  store->secrets_sealed_at_open_ = static_cast<uint64_t>(sealed);
  return store;
}

PostgresStore::PostgresStore(const PostgresOptions& options, SecretCodec secrets,
                             std::string schema, std::unique_ptr<PgConnection> listen_connection)
    : max_batch_(static_cast<size_t>(std::max(1, options.max_batch_events))),
      clock_(options.clock != nullptr ? options.clock : &SystemClock::Instance()),
      secrets_(std::move(secrets)),
      schema_(std::move(schema)),
      instance_id_(NewId("pgs")),
      url_(options.url),
      application_name_(options.application_name),
      pool_(options.url, options.application_name, std::max(1, options.pool_size),
            kBorrowTimeout) {
  writer_thread_ = std::thread([this] { WriterLoop(); });
  listen_thread_ = std::thread(
      [this, conn = std::move(listen_connection)]() mutable { ListenLoop(std::move(conn)); });
  writer_thread_id_ = writer_thread_.get_id();
  listen_thread_id_ = listen_thread_.get_id();
}

PostgresStore::~PostgresStore() { Close(); }

void PostgresStore::Close() {
  if (std::this_thread::get_id() == writer_thread_id_.load() ||
      std::this_thread::get_id() == listen_thread_id_.load()) {
    // From a callback or listener: joining would wait for ourselves. Refused loudly in debug
    // builds; in release the owner's Close() (or the destructor) does the work.
    assert(false && "Close() called from a store thread (an append callback or a listener)");
    return;
  }
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (close_done_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  // The writer exits once the queue is empty: everything queued before closing_ was set has been
  // committed (or failed) and its callback has run.
  writer_thread_.join();
  writer_thread_id_ = std::thread::id();  // a later thread may reuse the id
  {
    std::lock_guard<std::mutex> lock(listen_mu_);
    listen_stop_ = true;
  }
  listen_cv_.notify_all();
  listen_thread_.join();
  listen_thread_id_ = std::thread::id();
  closed_.store(true, std::memory_order_release);
  pool_.Close();  // waits for calls in progress to give their connections back
  close_done_ = true;
}

StoreStats PostgresStore::Stats() {
  StoreStats stats;
  stats.batches = batches_.load(std::memory_order_relaxed);
  stats.events_committed = events_committed_.load(std::memory_order_relaxed);
  stats.duplicates = duplicates_.load(std::memory_order_relaxed);
  stats.max_batch = max_batch_seen_.load(std::memory_order_relaxed);
  stats.failed_batches = failed_batches_.load(std::memory_order_relaxed);
  stats.writes_committed = writes_committed_.load(std::memory_order_relaxed);
  stats.runs_created = runs_created_.load(std::memory_order_relaxed);
  stats.secrets_sealed_at_open = secrets_sealed_at_open_;
  std::lock_guard<std::mutex> lock(mu_);
  stats.queue_depth = queue_.size();
  return stats;
}

// ---- Writes ----

Status PostgresStore::Write(std::string_view op,
                            const std::function<Status(PgConnection&, TxnEffects&)>& apply) {
  if (closed_.load(std::memory_order_acquire)) {
    return Status::Unavailable("store write: the store is closed");
  }
  TxnEffects effects;
  {
    Result<ConnectionPool::Lease> lease = pool_.Borrow();
    if (!lease) return lease.error();
    Status begun = (*lease)->Exec("BEGIN", op);
    if (!begun.ok() && !(*lease)->healthy()) {
      // A pooled connection the server dropped meanwhile (a restart, an idle timeout): nothing
      // ran yet, so a fresh connection may try again.
      lease = pool_.Borrow();  // the broken one goes back (and is closed) first
      if (!lease) return lease.error();
      begun = (*lease)->Exec("BEGIN", op);
    }
    TRIGGERD_RETURN_IF_ERROR(begun);
    PgConnection& db = **lease;
    Status s = apply(db, effects);
    // Inside the transaction: PostgreSQL delivers the notifications at COMMIT, and not at all if
    // it fails.
    const std::string payload = NotifyPayload(schema_, instance_id_);
    if (s.ok() && effects.runs_made_due) {
      Result<PgResult> n = db.Exec("SELECT pg_notify($1, $2)",
                                   Params().Text(kRunsChannel).Text(payload), "notify runs");
      if (!n) s = n.error();
    }
    if (s.ok() && effects.config_changed) {
      Result<PgResult> n = db.Exec("SELECT pg_notify($1, $2)",
                                   Params().Text(kConfigChannel).Text(payload), "notify config");
      if (!n) s = n.error();
    }
    if (!s.ok()) {
      db.RollbackQuietly();  // a lost connection is dropped by the pool instead
      return s;
    }
    Status committed = db.Exec("COMMIT", "commit write");
    if (!committed.ok()) {
      failed_batches_.fetch_add(1, std::memory_order_relaxed);
      return Status::Internal(committed.message());
    }
  }  // the connection goes back before the listener runs
  batches_.fetch_add(1, std::memory_order_relaxed);
  writes_committed_.fetch_add(1, std::memory_order_relaxed);
  runs_created_.fetch_add(effects.runs_created, std::memory_order_relaxed);
  if (max_batch_seen_.load(std::memory_order_relaxed) < 1) {
    max_batch_seen_.store(1, std::memory_order_relaxed);
  }
  // Before returning: whoever sees its write acknowledged may rely on the listener having been
  // told.
  if (effects.runs_made_due) FireRunsQueued();
  return Status::Ok();
}

// ---- Appends: the writer thread ----

void PostgresStore::AppendEvent(NewEvent event, AppendCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.push_back(PendingAppend{std::move(event), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("append event: the store is closed"));
}

void PostgresStore::WriterLoop() {
  std::vector<PendingAppend> batch;
  batch.reserve(max_batch_);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued has been written
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitAppends(batch);
    batch.clear();
  }
}

void PostgresStore::CommitAppends(std::vector<PendingAppend>& batch) {
  std::vector<AppliedAppend> applied;
  applied.reserve(batch.size());
  // Answers in queue order, each set once the transaction that holds it committed (or failed).
  std::vector<std::optional<Status>> failures(batch.size());
  std::vector<AppliedAppend> answers(batch.size());
  uint64_t runs = 0;
  uint64_t committed_batches = 0;
  size_t largest = 0;
  {
    Result<ConnectionPool::Lease> lease = pool_.Borrow();
    if (!lease) {
      failed_batches_.fetch_add(1, std::memory_order_relaxed);
      for (PendingAppend& a : batch) {
        a.done(Status::Internal("append batch: " + lease.error().message()));
      }
      return;
    }
    Status error;
    BatchResult result = ApplyPipelined(**lease, batch, applied, &error);
    if (result == BatchResult::kCommitted) {
      ++committed_batches;
      largest = batch.size();
      for (size_t i = 0; i < batch.size(); ++i) answers[i] = std::move(applied[i]);
    } else if (result == BatchResult::kUnknown || batch.size() == 1) {
      if (result == BatchResult::kUnknown || error.type() == ErrorType::kInternal) {
        failed_batches_.fetch_add(1, std::memory_order_relaxed);
      }
      // A single append's own failure is its answer (kConflict, kNotFound, …); a batch whose
      // fate is unknown fails whole, like a failed COMMIT of the SQLite store.
      for (size_t i = 0; i < batch.size(); ++i) {
        failures[i] = result == BatchResult::kUnknown
                          ? Status::Internal("commit append batch: " + error.message())
                          : error;
      }
    } else {
      // Nothing of the batch was committed: one append per transaction, so that the bad one
      // fails alone. Each is a (one-round-trip) batch of its own.
      bool broken = false;
      for (size_t i = 0; i < batch.size(); ++i) {
        if (broken) {
          failures[i] = Status::Internal("commit append batch: the connection was lost");
          continue;
        }
        std::vector<AppliedAppend> one;
        Status one_error;
        BatchResult r =
            ApplyPipelined(**lease, std::span<PendingAppend>(&batch[i], 1), one, &one_error);
        if (r == BatchResult::kCommitted) {
          ++committed_batches;
          largest = std::max<size_t>(largest, 1);
          answers[i] = std::move(one[0]);
        } else if (r == BatchResult::kUnknown || !(*lease)->healthy()) {
          broken = true;
          failed_batches_.fetch_add(1, std::memory_order_relaxed);
          failures[i] = Status::Internal("commit append batch: " + one_error.message());
        } else {
          failures[i] = one_error;
        }
      }
    }
  }  // the connection goes back before any callback runs

  uint64_t events = 0, duplicates = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (failures[i]) continue;
    ++(answers[i].outcome.duplicate ? duplicates : events);
    runs += answers[i].runs_created;
  }
  batches_.fetch_add(committed_batches, std::memory_order_relaxed);
  events_committed_.fetch_add(events, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  runs_created_.fetch_add(runs, std::memory_order_relaxed);
  if (largest > max_batch_seen_.load(std::memory_order_relaxed)) {
    max_batch_seen_.store(largest, std::memory_order_relaxed);  // only this thread raises it
  }
  if (runs > 0) FireRunsQueued();  // before the results, as for every write
  for (size_t i = 0; i < batch.size(); ++i) {
    if (failures[i]) {
      batch[i].done(std::move(*failures[i]));
    } else {
      batch[i].done(std::move(answers[i].outcome));
    }
  }
}

PostgresStore::BatchResult PostgresStore::ApplyPipelined(PgConnection& db,
                                                         std::span<PendingAppend> batch,
                                                         std::vector<AppliedAppend>& applied,
                                                         Status* error) {
  PGconn* c = db.raw();
  enum class Kind { kBegin, kEvent, kMatch, kRun, kFind, kNotify, kCommit };
  struct Sent {
    Kind kind;
    size_t append;
  };
  std::vector<Sent> sent;
  applied.assign(batch.size(), AppliedAppend{});
  *error = Status::Ok();

  if (PQenterPipelineMode(c) != 1) {
    *error = Status::Internal("enter pipeline mode: " + std::string(PQerrorMessage(c)));
    db.MarkBroken();
    return BatchResult::kNothingCommitted;
  }
  // Non-blocking while sending: libpq buffers the whole batch and the flush loop below reads
  // results as they come, so neither side can stall on a full socket buffer.
  PQsetnonblocking(c, 1);
  bool send_ok = true;
  auto send = [&](std::string_view sql, const Params& params, Kind kind, size_t append) {
    if (!send_ok) return;
    const std::string text(sql);
    std::vector<const char*> values = params.values();
    if (PQsendQueryParams(c, text.c_str(), params.size(), params.types(), values.data(),
                          params.lengths(), params.formats(), 0) != 1) {
      send_ok = false;
      return;
    }
    sent.push_back({kind, append});
  };
  static const std::string kInsertMatch = InsertMatchSql(true);
  static const std::string kInsertRun = InsertRunSql(true);
  send("BEGIN", Params(), Kind::kBegin, 0);
  bool any_runs = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const NewEvent& e = batch[i].event;
    send(kInsertEventSql, EventParams(e), Kind::kEvent, i);
    // The event id and workspace of the outbox are the event's, whatever the records say.
    for (const Match& m : e.matches) {
      send(kInsertMatch, MatchParams(e.workspace_id, e.id, m), Kind::kMatch, i);
    }
    for (const NewRun& r : e.runs) {
      send(kInsertRun, RunParams(e.workspace_id, e.id, r), Kind::kRun, i);
      any_runs = true;
    }
    // A separate statement after the insert, so it sees a row another node committed while the
    // insert waited on it (READ COMMITTED: each statement takes a new snapshot).
    if (!e.delivery_id.empty()) {
      send(kFindDeliverySql, Params().Text(e.source_id).Text(e.delivery_id), Kind::kFind, i);
    }
  }
  if (any_runs) {
    send("SELECT pg_notify($1, $2)",
         Params().Text(kRunsChannel).Text(NotifyPayload(schema_, instance_id_)), Kind::kNotify, 0);
  }
  send("COMMIT", Params(), Kind::kCommit, 0);
  if (send_ok && PQpipelineSync(c) != 1) send_ok = false;
  while (send_ok) {
    const int flushed = PQflush(c);
    if (flushed == 0) break;
    if (flushed < 0) {
      send_ok = false;
      break;
    }
    pollfd fd{PQsocket(c), POLLIN | POLLOUT, 0};
    if (poll(&fd, 1, 10000) < 0) continue;
    if ((fd.revents & POLLIN) != 0 && PQconsumeInput(c) != 1) send_ok = false;
  }
  PQsetnonblocking(c, 0);
  if (!send_ok) {
    // Part of the batch may have reached the server, COMMIT included (it runs when it arrives,
    // not at the sync), so its fate is unknown.
    *error = Status::Internal("send append batch: " + std::string(PQerrorMessage(c)));
    db.MarkBroken();
    return BatchResult::kUnknown;
  }

  bool committed = false;
  bool lost = false;
  std::vector<bool> inserted(batch.size(), false);
  for (const Sent& s : sent) {
    PgResult r(PQgetResult(c));
    if (r.get() == nullptr) {
      lost = true;
      break;
    }
    const ExecStatusType status = PQresultStatus(r.get());
    // Each query's results end with a null result.
    while (PGresult* extra = PQgetResult(c)) PQclear(extra);
    if (status == PGRES_PIPELINE_ABORTED) continue;  // skipped after an earlier failure
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      if (error->ok()) {
        static constexpr std::string_view kOps[] = {"BEGIN",     "insert event", "insert match",
                                                   "insert run", "find duplicate delivery",
                                                   "notify runs", "COMMIT"};
        *error = PgError(r.get(), c, kOps[static_cast<int>(s.kind)]);
      }
      continue;
    }
    AppliedAppend& a = applied[s.append];
    const NewEvent& e = batch[s.append].event;
    switch (s.kind) {
      case Kind::kEvent:
        inserted[s.append] = r.rows() == 1;
        if (inserted[s.append]) a.outcome = AppendOutcome{e.id, e.received_at, false};
        break;
      case Kind::kRun:
        a.runs_created += static_cast<uint64_t>(r.affected());
        break;
      case Kind::kFind:
        if (!inserted[s.append]) {
          if (r.rows() == 1) {
            a.outcome = AppendOutcome{r.Text(0, 0), r.Int64(0, 1), true};
          } else if (error->ok()) {
            // Cannot happen while the unique index stands; refuse rather than guess.
            *error = Status::Internal("append event: delivery id conflict without a first event");
          }
        }
        break;
      case Kind::kCommit:
        committed = true;
        break;
      default:
        break;
    }
  }
  if (!lost) {
    PgResult sync(PQgetResult(c));
    lost = sync.get() == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC;
  }
  if (lost || PQexitPipelineMode(c) != 1) {
    db.MarkBroken();
    if (committed) return error->ok() ? BatchResult::kCommitted : BatchResult::kUnknown;
    if (error->ok()) {
      *error = Status::Internal("append batch: the connection was lost: " +
                                std::string(PQerrorMessage(c)));
    }
    return BatchResult::kUnknown;
  }
  if (committed && error->ok()) return BatchResult::kCommitted;
  db.RollbackQuietly();  // an explicit transaction that failed stays open (aborted) until then
  if (error->ok()) *error = Status::Internal("append batch: COMMIT did not succeed");
  return BatchResult::kNothingCommitted;
}

// ---- Listeners ----

void PostgresStore::SetRunsQueuedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(runs_listener_mu_);
  runs_queued_listener_ = std::move(listener);
}

void PostgresStore::SetConfigChangedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(config_listener_mu_);
  config_changed_listener_ = std::move(listener);
}

// Called under the registration lock (and no other lock of the store), so that once a Set…
// has returned the old listener is not running and never runs again.
void PostgresStore::FireRunsQueued() {
  std::lock_guard<std::mutex> lock(runs_listener_mu_);
  if (runs_queued_listener_) runs_queued_listener_();
}

void PostgresStore::FireConfigChanged() {
  std::lock_guard<std::mutex> lock(config_listener_mu_);
  if (config_changed_listener_) config_changed_listener_();
}

void PostgresStore::OnNotification(std::string_view channel, std::string_view payload) {
  const size_t slash = payload.rfind('/');
  if (slash == std::string_view::npos) return;
  if (payload.substr(0, slash) != schema_) return;  // another namespace on the same database
  if (payload.substr(slash + 1) == instance_id_) return;  // our own commit: already told
  if (channel == kRunsChannel) {
    FireRunsQueued();
  } else if (channel == kConfigChannel) {
    FireConfigChanged();
  }
}

void PostgresStore::ListenLoop(std::unique_ptr<PgConnection> conn) {
  std::chrono::milliseconds backoff{100};
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(listen_mu_);
      if (listen_stop_) return;
    }
    if (conn == nullptr) {
      Result<std::unique_ptr<PgConnection>> fresh =
          PgConnection::Connect(url_, application_name_);
      Status listening = fresh ? (*fresh)->Exec(Concat({"LISTEN ", kRunsChannel, "; LISTEN ",
                                                        kConfigChannel}),
                                                "listen for notifications")
                               : fresh.error();
      if (!listening.ok()) {
        std::unique_lock<std::mutex> lock(listen_mu_);
        listen_cv_.wait_for(lock, backoff, [this] { return listen_stop_; });
        backoff = std::min(backoff * 2, kListenMaxBackoff);
        continue;
      }
      conn = std::move(fresh).value();
      backoff = std::chrono::milliseconds{100};
      // Notifications sent while no connection listened are lost: tell both listeners once.
      FireRunsQueued();
      FireConfigChanged();
    }
    PGconn* c = conn->raw();
    pollfd fd{PQsocket(c), POLLIN, 0};
    const int ready = poll(&fd, 1, kListenPollMillis);
    if (ready < 0) continue;
    if (ready > 0 && PQconsumeInput(c) != 1) {
      conn.reset();  // lost: reconnect (with backoff) above
      continue;
    }
    while (PGnotify* n = PQnotifies(c)) {
      const std::string channel = n->relname != nullptr ? n->relname : "";
      const std::string payload = n->extra != nullptr ? n->extra : "";
      PQfreemem(n);
      OnNotification(channel, payload);
    }
    if (!conn->healthy()) conn.reset();
  }
}

}  // namespace triggerd::store::postgres

namespace triggerd::store {

int LatestPostgresSchemaVersion() {
  return static_cast<int>(postgres::BuiltinMigrations().size());
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  Result<std::unique_ptr<postgres::PostgresStore>> store = postgres::PostgresStore::Open(options);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace triggerd::store
