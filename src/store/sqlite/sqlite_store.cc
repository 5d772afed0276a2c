#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/clock.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/wal_buffer_vfs.h"

namespace triggerd::store::sqlite {
namespace {

// Idle read connections kept open. Each dispatch worker reads its run's agent and event before
// every attempt, and the API's blocking pool reads too: fewer pooled connections than readers
// at once meant opening (schema, pragmas, statements) and closing a connection per read, which
// cost dispatch more CPU than its deliveries (issue 19). Beyond this a burst still opens extra
// connections, closed when returned. A pooled connection holds only the pages it read.
constexpr size_t kMaxIdleReaders = 64;

}  // namespace

// ---- Opening and closing ----

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("open store: empty database path");
  // Before the file is touched: a malformed key must not get as far as sealing anything.
  Result<SecretCodec> secrets =
      SecretCodec::Create(options.master_key, options.previous_master_keys);
  if (!secrets) return Status::InvalidArgument("open store: " + secrets.error().message());
  // The writer alone goes through the WAL-buffering shim (wal_buffer_vfs.h: a commit's frames
  // reach the file in one write, at its fsync); it relies on synchronous=FULL, set below. The
  // other connections never write the WAL.
  const char* writer_vfs = WalBufferVfs(options.vfs);
  if (writer_vfs == nullptr) {
    return Status::InvalidArgument("open store: no SQLite VFS called " + options.vfs);
  }
  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                            Connection::Open(options.path, writer_vfs, true));
  Connection& db = *writer;

  // journal_mode answers with the mode in force; anything but "wal" (a VFS without shared memory,
  // a read-only medium) would silently lose concurrent reads, so refuse it.
  TRIGGERD_ASSIGN_OR_RETURN(std::string mode,
                            db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode=WAL"));
  if (mode != "wal") return Status::Internal("set journal_mode=WAL: SQLite chose " + mode);
  // FULL: every COMMIT fsyncs the WAL, which is what lets a callback promise durability. NORMAL
  // would sync only at checkpoints and could lose acknowledged events on power loss.
  // The WAL-buffering shim under the writer requires it too (a commit must sync before it is
  // published to the other connections): never lower it without removing the shim.
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL", "set synchronous=FULL"));
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // Every request of a group commit runs in a savepoint (group_commit.cc), so the writer keeps a
  // sub-journal: the page images a savepoint would restore. With temp files SQLite spills it past
  // 64 KiB to a file in the temp directory, i.e. a pwrite per page image (~1.2 per 8 KiB event
  // under load) plus that file's writeback, for data only this transaction can use. In memory it
  // is a copy; its size is bounded by the batch (max_batch_events) and freed at each COMMIT. The
  // writer connection runs no large sorts or temp tables, which this setting also keeps in memory.
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA temp_store = MEMORY", "set temp_store=MEMORY"));
  // A checkpoint resets the WAL but leaves the file at its high-water mark; cap what it keeps.
  TRIGGERD_RETURN_IF_ERROR(
      db.Exec("PRAGMA journal_size_limit = 67108864", "set journal_size_limit"));
  TRIGGERD_RETURN_IF_ERROR(ApplyMigrations(db, BuiltinMigrations()));
  // Before anything is served: a database sealed under another key is refused here, and one
  // written before secrets were sealed (or without a key), or under a previous key, is sealed in
  // place.
  int sealed = 0;
  TRIGGERD_RETURN_IF_ERROR(SealSecretsAtRest(db, *secrets, &sealed));
  // No inline checkpoint after a COMMIT: it would run on the writer thread, between a batch's
  // fsync and the next batch, and cost every event its share. The checkpointer thread does it
  // (the WAL hook installed by the constructor replaces SQLite's auto-checkpoint hook; the pragma
  // says so explicitly).
  TRIGGERD_RETURN_IF_ERROR(
      db.Exec("PRAGMA wal_autocheckpoint = 0", "disable inline auto-checkpoint"));

  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<Connection> checkpointer,
                            Connection::Open(options.path, options.vfs, false));
  // A connection opens the WAL at its first read transaction; until then a checkpoint through it
  // succeeds without doing anything (and reports a log of -1 pages).
  TRIGGERD_ASSIGN_OR_RETURN(int64_t tables, (checkpointer)
                                                ->QueryInt64("SELECT count(*) FROM sqlite_schema",
                                                             "open checkpointer connection"));

  std::unique_ptr<SqliteStore> store(new SqliteStore(
      options, std::move(writer), std::move(checkpointer), std::move(secrets).value()));
  store->secrets_sealed_at_open_ = static_cast<uint64_t>(sealed);
  return store;
}

SqliteStore::SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> checkpointer, SecretCodec secrets)
    : path_(options.path),
      vfs_(options.vfs),
      max_batch_(static_cast<size_t>(std::max(1, options.max_batch_events))),
      clock_(options.clock != nullptr ? options.clock : &SystemClock::Instance()),
      secrets_(std::move(secrets)),
      writer_(std::move(writer)),
      checkpoint_pages_(std::max(1, options.checkpoint_wal_pages)),
      restart_pages_(
          std::max(std::max(1, options.checkpoint_wal_pages), options.restart_wal_pages)),
      checkpointer_(std::move(checkpointer)) {
  sqlite3_wal_hook(writer_->db(), &SqliteStore::OnWalCommit, this);
  checkpoint_thread_ = std::thread([this] { CheckpointLoop(); });
  writer_thread_ = std::thread([this] { WriterLoop(); });
  writer_thread_id_ = writer_thread_.get_id();
}

SqliteStore::~SqliteStore() { Close(); }

void SqliteStore::Close() {
  if (std::this_thread::get_id() == writer_thread_id_) {
    // From a callback: joining would wait for ourselves. Refuse loudly in debug builds; in release
    // the request is ignored and the owner's Close() (or the destructor) does the work.
    assert(false && "Close() called from an append callback on the writer thread");
    return;
  }
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (closed_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  // The writer exits only once the queue is empty, so everything queued before closing_ was set
  // has been committed (or failed) and its callback has run.
  writer_thread_.join();
  writer_thread_id_ = std::thread::id();
  // The checkpointer after the writer: it may be holding the writer at the gate, which the join
  // above waited out. The writer connection closes last, so (when no reader is leased) its close
  // checkpoints what is left and removes the WAL.
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  checkpoint_thread_.join();
  checkpointer_.reset();
  writer_.reset();
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    readers_closed_ = true;
    idle_readers_.clear();  // leased readers are closed when returned (see Read)
  }
  closed_ = true;
}

StoreStats SqliteStore::Stats() {
  StoreStats stats;
  stats.batches = batches_.load(std::memory_order_relaxed);
  stats.events_committed = events_committed_.load(std::memory_order_relaxed);
  stats.duplicates = duplicates_.load(std::memory_order_relaxed);
  stats.max_batch = max_batch_seen_.load(std::memory_order_relaxed);
  stats.failed_batches = failed_batches_.load(std::memory_order_relaxed);
  stats.writes_committed = writes_committed_.load(std::memory_order_relaxed);
  stats.runs_created = runs_created_.load(std::memory_order_relaxed);
  stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  stats.wal_restarts = wal_restarts_.load(std::memory_order_relaxed);
  stats.failed_checkpoints = failed_checkpoints_.load(std::memory_order_relaxed);
  stats.secrets_sealed_at_open = secrets_sealed_at_open_;
  std::lock_guard<std::mutex> lock(mu_);
  stats.queue_depth = queue_.size();
  return stats;
}

// ---- The read pool ----

Status SqliteStore::WithReader(const std::function<void(Connection&)>& read) {
  std::unique_ptr<Connection> db;
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (readers_closed_) return Status::Unavailable("store read: the store is closed");
    if (!idle_readers_.empty()) {
      db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (db == nullptr) {
    // Opened outside the lock: opening touches the file and must not stall other readers.
    TRIGGERD_ASSIGN_OR_RETURN(db, Connection::Open(path_, vfs_, false));
    // A read connection must never write; query_only makes a stray write an error.
    TRIGGERD_RETURN_IF_ERROR(db->Exec("PRAGMA query_only = ON", "open read connection"));
  }
  read(*db);
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!readers_closed_ && idle_readers_.size() < kMaxIdleReaders) {
      idle_readers_.push_back(std::move(db));
    }
  }
  return Status::Ok();  // a connection not returned to the pool closes here, outside the lock
}

}  // namespace triggerd::store::sqlite

namespace triggerd::store {

int LatestSqliteSchemaVersion() { return static_cast<int>(sqlite::BuiltinMigrations().size()); }

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::SqliteStore> store,
                            sqlite::SqliteStore::Open(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace triggerd::store
