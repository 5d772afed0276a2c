#include "store/postgres/pg_store.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <optional>
#include <utility>

#include "common/clock.h"
#include "common/ids.h"
#include "store/postgres/migrations.h"
#include "store/postgres/pg_rows.h"

namespace triggerd::store::postgres {
namespace {

// How long a call waits for a pooled connection before answering kUnavailable.
constexpr std::chrono::milliseconds kBorrowTimeout{30000};

}  // namespace

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
//
// First of all, the database's own record of its master key (store_settings 'master_key_id'):
// written by the first open with a key, so a node with another key is refused even while no
// secret is stored yet (it would otherwise run, and fail to read every source created after it
// started); moved to the key in use when this open re-seals a rotation.
Status SealSecretsAtRest(PgConnection& db, const SecretCodec& codec, int* sealed) {
  *sealed = 0;
  TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN", "seal secrets at open"));
  Status status = [&]() -> Status {
    if (codec.sealing()) {
      // Nodes opening an empty database together: one insert wins, the others compare with it.
      TRIGGERD_RETURN_IF_ERROR(db.Exec(
          "INSERT INTO store_settings (name, value) VALUES ('master_key_id', $1) "
          "ON CONFLICT (name) DO NOTHING",
          Params().Text(codec.key_id()), "record the master key id"));
      TRIGGERD_ASSIGN_OR_RETURN(
          PgResult recorded,
          db.Exec("SELECT value FROM store_settings WHERE name = 'master_key_id' FOR UPDATE",
                  Params(), "read the master key id"));
      if (recorded.rows() == 1) {
        TRIGGERD_RETURN_IF_ERROR(codec.CheckDatabaseKeyId(recorded.Text(0, 0)));
      }
    }
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
      TRIGGERD_ASSIGN_OR_RETURN(PgResult rows, db.Exec(sql, Params(), "read secrets at open"));
      for (int row = 0; row < rows.rows(); ++row) {
        const std::string id = rows.Text(row, 0);
        for (size_t i = 0; i < columns.size(); ++i) {
          std::string stored = rows.Text(row, static_cast<int>(i) + 1);
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
      TRIGGERD_ASSIGN_OR_RETURN(PgResult updated,
                                db.Exec(sql,
                                        Params()
                                            .Text(codec.Seal(*p.column, p.row_id, p.plaintext))
                                            .Text(p.row_id)
                                            .Text(p.stored),
                                        "seal secrets at open"));
    }
    *sealed = static_cast<int>(pending.size());
    if (codec.sealing()) {  // everything is under the key in use now (a rotation's last step)
      TRIGGERD_RETURN_IF_ERROR(db.Exec(
          "UPDATE store_settings SET value = $1 WHERE name = 'master_key_id'",
          Params().Text(codec.key_id()), "record the master key id"));
    }
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
  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> first,
                            PgConnection::Connect(options.url, options.application_name));
  PgConnection& db = *first;
  TRIGGERD_ASSIGN_OR_RETURN(PgResult schema,
                            db.Exec("SELECT current_schema()", Params(), "read current schema"));
  if (schema.rows() != 1 || schema.IsNull(0, 0)) {
    return Status::Internal("open store: no schema on the search_path exists");
  }
  TRIGGERD_RETURN_IF_ERROR(ApplyMigrations(db, BuiltinMigrations()));
  int sealed = 0;
  TRIGGERD_RETURN_IF_ERROR(SealSecretsAtRest(db, *secrets, &sealed));
  // The first connection becomes the listening one: LISTEN before Open returns, so no
  // notification committed after that is missed.
  TRIGGERD_RETURN_IF_ERROR(db.Exec(Concat({"LISTEN ", kRunsChannel, "; LISTEN ", kConfigChannel}),
                                   "listen for notifications"));
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(options, std::move(secrets).value(), schema.Text(0, 0), std::move(first)));
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
      pool_(options.url, options.application_name, std::max(1, options.pool_size), kBorrowTimeout) {
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
      // ran yet, so a fresh connection may try again. (Re-assigned, so not unwrapped with
      // TRIGGERD_ASSIGN_OR_RETURN.)
      lease = pool_.Borrow();  // the broken one goes back (and is closed) first
      if (!lease) return lease.error();
      begun = (*lease)->Exec("BEGIN", op);
    }
    TRIGGERD_RETURN_IF_ERROR(begun);
    PgConnection& db = **lease;
    Status s = apply(db, effects);
    // Inside the transaction: PostgreSQL delivers the notifications at COMMIT, and not at all if
    // it fails.
    const std::string payload = NotifyPayload();
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

}  // namespace triggerd::store::postgres

namespace triggerd::store {

int LatestPostgresSchemaVersion() { return static_cast<int>(postgres::BuiltinMigrations().size()); }

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<postgres::PostgresStore> store,
                            postgres::PostgresStore::Open(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace triggerd::store
