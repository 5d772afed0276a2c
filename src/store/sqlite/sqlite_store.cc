#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include <sqlite3.h>

#include "store/sqlite/connection.h"
#include "store/sqlite/json_text.h"
#include "store/sqlite/migrations.h"

namespace triggerd::store::sqlite {
namespace {

// Idle read connections kept open. Reads are short, so a handful serve many io threads; a burst
// beyond it opens extra connections that are closed when returned.
constexpr size_t kMaxIdleReaders = 8;
constexpr int kMaxListLimit = 500;

// ---- Row mapping. Column lists and readers must stay in step with schema/*.sql. ----

constexpr std::string_view kWorkspaceColumns = "id, name, created_at";

Workspace ReadWorkspace(const Statement& st) {
  Workspace w;
  w.id = st.ColumnText(0);
  w.name = st.ColumnText(1);
  w.created_at = st.ColumnInt64(2);
  return w;
}

constexpr std::string_view kApiKeyColumns =
    "id, workspace_id, name, role, prefix, hash, created_by, created_at, revoked_at";

Result<ApiKey> ReadApiKey(const Statement& st) {
  ApiKey k;
  k.id = st.ColumnText(0);
  k.workspace_id = st.ColumnText(1);
  k.name = st.ColumnText(2);
  std::optional<Role> role = ParseRole(st.ColumnText(3));
  if (!role) return Status::Internal("read api key " + k.id + ": unknown role");
  k.role = *role;
  k.prefix = st.ColumnText(4);
  k.hash = st.ColumnText(5);
  k.created_by = st.ColumnText(6);
  k.created_at = st.ColumnInt64(7);
  if (!st.ColumnIsNull(8)) k.revoked_at = st.ColumnInt64(8);
  return k;
}

constexpr std::string_view kSourceColumns =
    "id, workspace_id, name, kind, url_secret, enabled, auth_json, signing_secret, token_hash, "
    "allowed_ips, allowed_origins, delivery_id_header, max_body_bytes, created_by, created_at, "
    "updated_at";

Result<Source> ReadSource(const Statement& st) {
  Source s;
  s.id = st.ColumnText(0);
  s.workspace_id = st.ColumnText(1);
  s.name = st.ColumnText(2);
  s.kind = st.ColumnText(3);
  s.url_secret = st.ColumnText(4);
  s.enabled = st.ColumnInt64(5) != 0;
  s.auth_json = st.ColumnText(6);
  s.signing_secret = st.ColumnText(7);
  s.token_hash = st.ColumnText(8);
  if (!DecodeStringArray(st.ColumnText(9), &s.allowed_ips) ||
      !DecodeStringArray(st.ColumnText(10), &s.allowed_origins)) {
    return Status::Internal("read source " + s.id + ": malformed allowed_ips/allowed_origins");
  }
  s.delivery_id_header = st.ColumnText(11);
  s.max_body_bytes = st.ColumnInt64(12);
  s.created_by = st.ColumnText(13);
  s.created_at = st.ColumnInt64(14);
  s.updated_at = st.ColumnInt64(15);
  return s;
}

// Binds every non-key column of a source to ?3..?16 (?1 = id, ?2 = workspace_id), shared by
// INSERT and UPDATE so the two cannot drift apart.
void BindSourceFields(Statement& st, const Source& s) {
  st.BindText(3, s.name)
      .BindText(4, s.kind)
      .BindText(5, s.url_secret)
      .BindInt64(6, s.enabled ? 1 : 0)
      .BindText(7, s.auth_json)
      .BindText(8, s.signing_secret)
      .BindText(9, s.token_hash)
      .BindText(10, EncodeStringArray(s.allowed_ips))
      .BindText(11, EncodeStringArray(s.allowed_origins))
      .BindText(12, s.delivery_id_header)
      .BindInt64(13, s.max_body_bytes)
      .BindText(14, s.created_by)
      .BindInt64(15, s.created_at)
      .BindInt64(16, s.updated_at);
}

constexpr std::string_view kEventColumns =
    "seq, id, workspace_id, source_id, received_at, content_type, event_type, delivery_id, "
    "headers, body, payload_json, remote_addr, verification, status";

Result<Event> ReadEvent(const Statement& st) {
  Event e;
  e.seq = st.ColumnInt64(0);
  e.id = st.ColumnText(1);
  e.workspace_id = st.ColumnText(2);
  e.source_id = st.ColumnText(3);
  e.received_at = st.ColumnInt64(4);
  e.content_type = st.ColumnText(5);
  e.event_type = st.ColumnText(6);
  e.delivery_id = st.ColumnText(7);
  if (!DecodeHeaders(st.ColumnText(8), &e.headers)) {
    return Status::Internal("read event " + e.id + ": malformed headers");
  }
  e.body = st.ColumnBlob(9);
  e.payload_json = st.ColumnText(10);
  e.remote_addr = st.ColumnText(11);
  e.verification = st.ColumnText(12);
  e.status = st.ColumnText(13);
  return e;
}

// Runs a SELECT and maps each row with `read_row` (Statement -> T or Result<T>).
template <typename T, typename ReadRow>
Result<std::vector<T>> CollectRows(Statement& st, ReadRow read_row) {
  std::vector<T> rows;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row) return row.error();
    if (!*row) return rows;
    Result<T> item = read_row(st);
    if (!item) return item.error();
    rows.push_back(std::move(item).value());
  }
}

// A single-row SELECT: the row, or kNotFound with `what` when there is none.
template <typename T, typename ReadRow>
Result<T> OneRow(Statement& st, ReadRow read_row, std::string_view what) {
  Result<bool> row = st.Step();
  if (!row) return row.error();
  if (!*row) return Status::NotFound(std::string(what) + " not found");
  return Result<T>(read_row(st));
}

// For UPDATE/DELETE keyed by (workspace, id): no row changed means no such row in that workspace.
Status RequireChanged(Connection& db, std::string_view what) {
  return db.changes() > 0 ? Status::Ok() : Status::NotFound(std::string(what) + " not found");
}

std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (std::string_view p : parts) s.append(p);
  return s;
}

}  // namespace

// ---- Opening and closing ----

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("open store: empty database path");
  Result<std::unique_ptr<Connection>> writer = Connection::Open(options.path, options.vfs, true);
  if (!writer) return writer.error();
  Connection& db = **writer;

  // journal_mode answers with the mode in force; anything but "wal" (a VFS without shared memory,
  // a read-only medium) would silently lose concurrent reads, so refuse it.
  Result<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") return Status::Internal("set journal_mode=WAL: SQLite chose " + *mode);
  // FULL: every COMMIT fsyncs the WAL, which is what lets a callback promise durability. NORMAL
  // would sync only at checkpoints and could lose acknowledged events on power loss.
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL", "set synchronous=FULL"));
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // A checkpoint resets the WAL but leaves the file at its high-water mark; cap what it keeps.
  TRIGGERD_RETURN_IF_ERROR(
      db.Exec("PRAGMA journal_size_limit = 67108864", "set journal_size_limit"));
  TRIGGERD_RETURN_IF_ERROR(ApplyMigrations(db, BuiltinMigrations()));
  // No inline checkpoint after a COMMIT: it would run on the writer thread, between a batch's
  // fsync and the next batch, and cost every event its share. The checkpointer thread does it
  // (the WAL hook installed by the constructor replaces SQLite's auto-checkpoint hook; the pragma
  // says so explicitly).
  TRIGGERD_RETURN_IF_ERROR(
      db.Exec("PRAGMA wal_autocheckpoint = 0", "disable inline auto-checkpoint"));

  Result<std::unique_ptr<Connection>> checkpointer =
      Connection::Open(options.path, options.vfs, false);
  if (!checkpointer) return checkpointer.error();
  // A connection opens the WAL at its first read transaction; until then a checkpoint through it
  // succeeds without doing anything (and reports a log of -1 pages).
  Result<int64_t> tables = (*checkpointer)->QueryInt64("SELECT count(*) FROM sqlite_schema",
                                                       "open checkpointer connection");
  if (!tables) return tables.error();

  std::unique_ptr<SqliteStore> store(new SqliteStore(options, std::move(writer).value(),
                                                     std::move(checkpointer).value()));
  return store;
}

SqliteStore::SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer,
                         std::unique_ptr<Connection> checkpointer)
    : path_(options.path),
      vfs_(options.vfs),
      max_batch_(static_cast<size_t>(std::max(1, options.max_batch_events))),
      writer_(std::move(writer)),
      checkpoint_pages_(std::max(1, options.checkpoint_wal_pages)),
      restart_pages_(std::max(std::max(1, options.checkpoint_wal_pages), options.restart_wal_pages)),
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
  stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  stats.wal_restarts = wal_restarts_.load(std::memory_order_relaxed);
  stats.failed_checkpoints = failed_checkpoints_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  stats.queue_depth = queue_.size();
  return stats;
}

// ---- The writer thread ----

void SqliteStore::AppendEvent(NewEvent event, AppendCallback done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.emplace_back(PendingAppend{std::move(event), std::move(done)});
      // Usually nobody waits (the writer is busy committing the previous batch), so this is cheap;
      // the appends arriving meanwhile are exactly what forms the next batch.
      cv_.notify_one();
      return;
    }
  }
  done(Status::Unavailable("append event: the store is closed"));
}

Status SqliteStore::Write(std::function<Status(Connection&)> apply) {
  if (std::this_thread::get_id() == writer_thread_id_) {
    return Status::Internal("store write called from an append callback (would deadlock)");
  }
  std::future<Status> result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return Status::Unavailable("store write: the store is closed");
    PendingWrite write{std::move(apply), {}};
    result = write.result.get_future();
    queue_.emplace_back(std::move(write));
    cv_.notify_one();
  }
  return result.get();
}

void SqliteStore::WriterLoop() {
  std::vector<PendingAppend> batch;
  batch.reserve(max_batch_);
  for (;;) {
    std::optional<PendingWrite> write;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued has been written
      if (auto* w = std::get_if<PendingWrite>(&queue_.front())) {
        write.emplace(std::move(*w));
        queue_.pop_front();
      } else {
        // Take the run of appends at the front; a management write behind them waits for the next
        // round, which keeps the queue FIFO.
        while (!queue_.empty() && batch.size() < max_batch_ &&
               std::holds_alternative<PendingAppend>(queue_.front())) {
          batch.push_back(std::move(std::get<PendingAppend>(queue_.front())));
          queue_.pop_front();
        }
      }
    }
    // The gate: a RESTART checkpoint holds the writer here, between transactions.
    std::unique_lock<std::mutex> gate(gate_mu_);
    gate_cv_.wait(gate, [this] { return !pause_writer_.load(std::memory_order_acquire); });
    if (write) {
      RunWrite(*write);
    } else {
      CommitAppends(batch);
      batch.clear();
    }
  }
}

// ---- The checkpointer thread ----

// Runs on the writer thread after each commit, with the WAL's size in pages. Cheap: it only wakes
// the checkpointer once per checkpoint_pages_ new pages.
int SqliteStore::OnWalCommit(void* self, sqlite3*, const char*, int wal_pages) {
  auto* store = static_cast<SqliteStore*>(self);
  // A smaller WAL than at the last signal means it was rewound (RESTART, or it had been fully
  // checkpointed when this transaction began): count from its start again.
  if (wal_pages < store->pages_at_last_signal_) store->pages_at_last_signal_ = 0;
  if (wal_pages - store->pages_at_last_signal_ >= store->checkpoint_pages_) {
    store->pages_at_last_signal_ = wal_pages;
    {
      std::lock_guard<std::mutex> lock(store->checkpoint_mu_);
      store->wal_pages_ = wal_pages;
      store->checkpoint_due_ = true;
    }
    store->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || checkpoint_stop_; });
      if (checkpoint_stop_) return;
      checkpoint_due_ = false;
    }
    // PASSIVE takes no lock that the writer or a reader waits for: the writer keeps committing.
    int wal_pages = Checkpoint(SQLITE_CHECKPOINT_PASSIVE);
    if (wal_pages < restart_pages_) continue;
    // One more PASSIVE first, still without the writer held: it copies what was committed while
    // the first one ran, so the RESTART below (whose copy and database fsync hold the writer)
    // has only the last few transactions left to copy.
    if (Checkpoint(SQLITE_CHECKPOINT_PASSIVE) < 0) continue;
    // Under steady load the WAL never gets fully checkpointed between two transactions, which is
    // when SQLite would rewind it, so rewind it here: hold the writer between transactions, then
    // RESTART (copies the few pages committed since the PASSIVE, waits for readers still on the
    // WAL within busy_timeout, and makes the next commit start at the WAL's first frame).
    // Measured on the dev VM under load: ~10-50 ms per RESTART, once per restart_wal_pages.
    pause_writer_.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> gate(gate_mu_);
      if (Checkpoint(SQLITE_CHECKPOINT_RESTART) >= 0) {
        wal_restarts_.fetch_add(1, std::memory_order_relaxed);
      }
      pause_writer_.store(false, std::memory_order_release);
    }
    gate_cv_.notify_all();
  }
}

int SqliteStore::Checkpoint(int mode) {
  int wal_pages = 0, checkpointed = 0;
  int rc = sqlite3_wal_checkpoint_v2(checkpointer_->db(), nullptr, mode, &wal_pages, &checkpointed);
  if (rc != SQLITE_OK || wal_pages < 0) {
    // SQLITE_BUSY (a RESTART that readers outlasted, another process checkpointing) or an I/O
    // error: nothing is lost, the pages stay in the WAL and the next signal tries again.
    failed_checkpoints_.fetch_add(1, std::memory_order_relaxed);
    return -1;
  }
  if (mode == SQLITE_CHECKPOINT_PASSIVE) checkpoints_.fetch_add(1, std::memory_order_relaxed);
  return wal_pages;
}

Status SqliteStore::Execute(std::string_view sql, std::string_view op) {
  Result<Statement> st = writer_->Prepare(sql, op);
  if (!st) return st.error();
  return st->Run();
}

void SqliteStore::CommitAppends(std::vector<PendingAppend>& batch) {
  std::vector<Result<AppendOutcome>> outcomes;
  outcomes.reserve(batch.size());
  // IMMEDIATE takes the write lock now rather than at the first insert, so a lock conflict with
  // another process shows up here (after busy_timeout) and not halfway through the batch.
  Status txn = Execute("BEGIN IMMEDIATE", "begin append batch");
  for (size_t i = 0; txn.ok() && i < batch.size(); ++i) {
    AppendStep step = AppendInSavepoint(batch[i].event);
    if (!step.fatal.ok()) {
      txn = std::move(step.fatal);
      break;
    }
    outcomes.push_back(std::move(step.outcome));
  }
  if (txn.ok()) txn = Execute("COMMIT", "commit append batch");

  if (!txn.ok()) {
    // Nothing of the batch may remain: roll back whatever SQLite has not already rolled back.
    if (writer_->in_transaction()) (void)Execute("ROLLBACK", "roll back append batch");
    failed_batches_.fetch_add(1, std::memory_order_relaxed);
    // Always kInternal: a COMMIT that failed on a constraint is still the store's failure, not
    // the caller's (deferred constraints are not used).
    Status failure = Status::Internal(txn.message());
    for (PendingAppend& append : batch) append.done(failure);
    return;
  }

  // Durable from here on: COMMIT returned after the WAL fsync (synchronous=FULL).
  uint64_t committed = 0, duplicates = 0;
  for (const auto& outcome : outcomes) {
    if (!outcome) continue;
    ++(outcome->duplicate ? duplicates : committed);
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  events_committed_.fetch_add(committed, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  if (batch.size() > max_batch_seen_.load(std::memory_order_relaxed)) {
    max_batch_seen_.store(batch.size(), std::memory_order_relaxed);  // only this thread writes it
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(outcomes[i]));
}

SqliteStore::AppendStep SqliteStore::AppendInSavepoint(const NewEvent& event) {
  // The savepoint confines a failing event (say a duplicate event id) to itself: rolling back to
  // it undoes that event's partial rows and leaves the rest of the batch intact.
  Status s = Execute("SAVEPOINT append_event", "begin event savepoint");
  if (!s.ok()) return {s, s};
  Result<AppendOutcome> outcome = ApplyAppend(event);
  if (!outcome) {
    // An I/O error, SQLITE_FULL or the like may have rolled back the whole transaction; going on
    // would then autocommit the rest of the batch one event at a time, so that is fatal.
    if (!writer_->in_transaction()) {
      return {outcome.error(), Status::Internal(outcome.error().message() +
                                                " (the batch transaction was rolled back)")};
    }
    s = Execute("ROLLBACK TO append_event", "roll back event savepoint");
    if (!s.ok()) return {s, s};
  }
  s = Execute("RELEASE append_event", "release event savepoint");
  if (!s.ok()) return {s, s};
  return {std::move(outcome), Status::Ok()};
}

Result<AppendOutcome> SqliteStore::ApplyAppend(const NewEvent& event) {
  if (!event.delivery_id.empty()) {
    // Reads this transaction's own inserts too, so a repeat within one batch is caught. The
    // redundant `delivery_id != ''` lets the planner use the partial unique index events_dedup.
    Result<Statement> find = writer_->Prepare(
        "SELECT id, received_at FROM events "
        "WHERE source_id = ?1 AND delivery_id = ?2 AND delivery_id != ''",
        "find duplicate delivery");
    if (!find) return find.error();
    find->BindText(1, event.source_id).BindText(2, event.delivery_id);
    Result<bool> row = find->Step();
    if (!row) return row.error();
    if (*row) return AppendOutcome{find->ColumnText(0), find->ColumnInt64(1), true};
  }
  Result<Statement> insert = writer_->Prepare(
      "INSERT INTO events (id, workspace_id, source_id, received_at, content_type, event_type, "
      "delivery_id, headers, body, payload_json, remote_addr, verification) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
      "insert event");
  if (!insert) return insert.error();
  insert->BindText(1, event.id)
      .BindText(2, event.workspace_id)
      .BindText(3, event.source_id)
      .BindInt64(4, event.received_at)
      .BindText(5, event.content_type)
      .BindText(6, event.event_type)
      .BindText(7, event.delivery_id)
      .BindText(8, EncodeHeaders(event.headers))
      .BindBlob(9, event.body)
      .BindText(10, event.payload_json)
      .BindText(11, event.remote_addr)
      .BindText(12, event.verification);
  TRIGGERD_RETURN_IF_ERROR(insert->Run());
  return AppendOutcome{event.id, event.received_at, false};
}

void SqliteStore::RunWrite(PendingWrite& write) {
  Status s = Execute("BEGIN IMMEDIATE", "begin write");
  if (s.ok()) {
    s = write.apply(*writer_);
    if (s.ok()) s = Execute("COMMIT", "commit write");
  }
  if (!s.ok() && writer_->in_transaction()) (void)Execute("ROLLBACK", "roll back write");
  write.result.set_value(std::move(s));
}

// ---- Reads ----

template <typename F>
auto SqliteStore::Read(F&& read) {
  using R = decltype(read(std::declval<Connection&>()));
  std::unique_ptr<Connection> db;
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (readers_closed_) return R(Status::Unavailable("store read: the store is closed"));
    if (!idle_readers_.empty()) {
      db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (db == nullptr) {
    // Opened outside the lock: opening touches the file and must not stall other readers.
    Result<std::unique_ptr<Connection>> opened = Connection::Open(path_, vfs_, false);
    if (!opened) return R(opened.error());
    db = std::move(opened).value();
    // A read connection must never write; query_only makes a stray write an error.
    Status s = db->Exec("PRAGMA query_only = ON", "open read connection");
    if (!s.ok()) return R(s);
  }
  R result = read(*db);
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!readers_closed_ && idle_readers_.size() < kMaxIdleReaders) {
      idle_readers_.push_back(std::move(db));
    }
  }
  return result;  // a connection not returned to the pool closes here, outside the lock
}

// ---- Workspaces ----

Status SqliteStore::CreateWorkspace(const Workspace& w) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "INSERT INTO workspaces (id, name, created_at) VALUES (?1, ?2, ?3)", "create workspace");
    if (!st) return st.error();
    st->BindText(1, w.id).BindText(2, w.name).BindInt64(3, w.created_at);
    return st->Run();
  });
}

Result<Workspace> SqliteStore::GetWorkspace(std::string_view id) {
  return Read([&](Connection& db) -> Result<Workspace> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = ?1"}), "get workspace");
    if (!st) return st.error();
    st->BindText(1, id);
    return OneRow<Workspace>(*st, ReadWorkspace, "workspace");
  });
}

Result<std::vector<Workspace>> SqliteStore::ListWorkspaces() {
  return Read([&](Connection& db) -> Result<std::vector<Workspace>> {
    Result<Statement> st =
        db.Prepare(Concat({"SELECT ", kWorkspaceColumns,
                           " FROM workspaces ORDER BY created_at DESC, rowid DESC"}),
                   "list workspaces");
    if (!st) return st.error();
    return CollectRows<Workspace>(*st, ReadWorkspace);
  });
}

// ---- API keys ----

Status SqliteStore::CreateApiKey(const ApiKey& k) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "INSERT INTO api_keys (id, workspace_id, name, role, prefix, hash, created_by, "
        "created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        "create api key");
    if (!st) return st.error();
    st->BindText(1, k.id)
        .BindText(2, k.workspace_id)
        .BindText(3, k.name)
        .BindText(4, RoleName(k.role))
        .BindText(5, k.prefix)
        .BindText(6, k.hash)
        .BindText(7, k.created_by)
        .BindInt64(8, k.created_at);
    if (k.revoked_at) {
      st->BindInt64(9, *k.revoked_at);
    } else {
      st->BindNull(9);
    }
    return st->Run();
  });
}

Result<ApiKey> SqliteStore::FindApiKeyByHash(std::string_view hash) {
  return Read([&](Connection& db) -> Result<ApiKey> {
    Result<Statement> st =
        db.Prepare(Concat({"SELECT ", kApiKeyColumns,
                           " FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL"}),
                   "find api key");
    if (!st) return st.error();
    st->BindText(1, hash);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("api key not found");
    return ReadApiKey(*st);
  });
}

Result<std::vector<ApiKey>> SqliteStore::ListApiKeys(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<ApiKey>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kApiKeyColumns,
                " FROM api_keys WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
        "list api keys");
    if (!st) return st.error();
    st->BindText(1, workspace_id);
    return CollectRows<ApiKey>(*st, ReadApiKey);
  });
}

Status SqliteStore::RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                                 int64_t revoked_at) {
  return Write([&](Connection& db) -> Status {
    // Revoking twice succeeds and keeps the first time: the key is revoked either way.
    Result<Statement> st = db.Prepare(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3) "
        "WHERE id = ?1 AND workspace_id = ?2",
        "revoke api key");
    if (!st) return st.error();
    st->BindText(1, key_id).BindText(2, workspace_id).BindInt64(3, revoked_at);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "api key");
  });
}

// ---- Sources ----

Status SqliteStore::CreateSource(const Source& s) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "INSERT INTO sources (id, workspace_id, name, kind, url_secret, enabled, auth_json, "
        "signing_secret, token_hash, allowed_ips, allowed_origins, delivery_id_header, "
        "max_body_bytes, created_by, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        "create source");
    if (!st) return st.error();
    st->BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(*st, s);
    return st->Run();
  });
}

Result<Source> SqliteStore::GetSource(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Source> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kSourceColumns, " FROM sources WHERE id = ?1 AND workspace_id = ?2"}),
        "get source");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("source not found");
    return ReadSource(*st);
  });
}

Result<std::vector<Source>> SqliteStore::ListSources(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<Source>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kSourceColumns,
                " FROM sources WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
        "list sources");
    if (!st) return st.error();
    st->BindText(1, workspace_id);
    return CollectRows<Source>(*st, ReadSource);
  });
}

Result<std::vector<Source>> SqliteStore::ListAllSources() {
  return Read([&](Connection& db) -> Result<std::vector<Source>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kSourceColumns, " FROM sources ORDER BY workspace_id, created_at"}),
        "list all sources");
    if (!st) return st.error();
    return CollectRows<Source>(*st, ReadSource);
  });
}

Status SqliteStore::UpdateSource(const Source& s) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "UPDATE sources SET name = ?3, kind = ?4, url_secret = ?5, enabled = ?6, auth_json = ?7, "
        "signing_secret = ?8, token_hash = ?9, allowed_ips = ?10, allowed_origins = ?11, "
        "delivery_id_header = ?12, max_body_bytes = ?13, created_by = ?14, created_at = ?15, "
        "updated_at = ?16 WHERE id = ?1 AND workspace_id = ?2",
        "update source");
    if (!st) return st.error();
    st->BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(*st, s);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "source");
  });
}

Status SqliteStore::DeleteSource(std::string_view workspace_id, std::string_view id) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st =
        db.Prepare("DELETE FROM sources WHERE id = ?1 AND workspace_id = ?2", "delete source");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "source");
  });
}

// ---- Events ----

Result<Event> SqliteStore::GetEvent(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Event> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kEventColumns, " FROM events WHERE id = ?1 AND workspace_id = ?2"}),
        "get event");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("event not found");
    return ReadEvent(*st);
  });
}

Result<Page<Event>> SqliteStore::ListEvents(const EventQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  // The text depends only on which filters are present (32 shapes), so each shape is prepared
  // once per read connection and the planner picks the index that fits it: events_by_source
  // with a source, else events_by_workspace, both walked backwards from `before_seq`.
  std::string sql = Concat({"SELECT ", kEventColumns, " FROM events WHERE workspace_id = ?1"});
  if (!q.source_id.empty()) sql += " AND source_id = ?2";
  if (!q.status.empty()) sql += " AND status = ?3";
  if (q.since) sql += " AND received_at >= ?4";
  if (q.until) sql += " AND received_at < ?5";
  if (q.before_seq) sql += " AND seq < ?6";
  sql += " ORDER BY seq DESC LIMIT ?7";

  return Read([&](Connection& db) -> Result<Page<Event>> {
    Result<Statement> st = db.Prepare(sql, "list events");
    if (!st) return st.error();
    st->BindText(1, q.workspace_id);
    if (!q.source_id.empty()) st->BindText(2, q.source_id);
    if (!q.status.empty()) st->BindText(3, q.status);
    if (q.since) st->BindInt64(4, *q.since);
    if (q.until) st->BindInt64(5, *q.until);
    if (q.before_seq) st->BindInt64(6, *q.before_seq);
    st->BindInt64(7, limit + 1);  // one extra row tells whether another page exists
    Result<std::vector<Event>> rows = CollectRows<Event>(*st, ReadEvent);
    if (!rows) return rows.error();
    Page<Event> page;
    page.items = std::move(rows).value();
    if (page.items.size() > static_cast<size_t>(limit)) {
      page.items.pop_back();
      page.next_cursor = page.items.back().seq;
    }
    return page;
  });
}

}  // namespace triggerd::store::sqlite

namespace triggerd::store {

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  Result<std::unique_ptr<sqlite::SqliteStore>> store = sqlite::SqliteStore::Open(options);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace triggerd::store
