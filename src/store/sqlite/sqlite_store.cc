#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include <sqlite3.h>

#include "common/clock.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/json_text.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/wal_buffer_vfs.h"

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
    "updated_at, managed_by, trigger_config";

// The secret columns (store/sqlite/secrets.h) go through `secrets`: sealed on bind, opened on
// read, so the file never holds them in plaintext and callers never see them sealed.
Result<Source> ReadSource(const Statement& st, const SecretCodec& secrets) {
  Source s;
  s.id = st.ColumnText(0);
  s.workspace_id = st.ColumnText(1);
  s.name = st.ColumnText(2);
  s.kind = st.ColumnText(3);
  s.enabled = st.ColumnInt64(5) != 0;
  s.auth_json = st.ColumnText(6);
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
  s.managed_by = st.ColumnText(16);
  Result<std::string> url_secret = secrets.Open(kSourceUrlSecret, s.id, st.ColumnText(4));
  if (!url_secret) return url_secret.error();
  s.url_secret = std::move(url_secret).value();
  Result<std::string> signing = secrets.Open(kSourceSigningSecret, s.id, st.ColumnText(7));
  if (!signing) return signing.error();
  s.signing_secret = std::move(signing).value();
  Result<std::string> config = secrets.Open(kSourceTriggerConfig, s.id, st.ColumnText(17));
  if (!config) return config.error();
  s.trigger_config_json = std::move(config).value();
  return s;
}

// Binds every non-key column of a source to ?3..?18 (?1 = id, ?2 = workspace_id), shared by
// INSERT and UPDATE so the two cannot drift apart.
void BindSourceFields(Statement& st, const Source& s, const SecretCodec& secrets) {
  st.BindText(3, s.name)
      .BindText(4, s.kind)
      .BindText(5, secrets.Seal(kSourceUrlSecret, s.id, s.url_secret))
      .BindInt64(6, s.enabled ? 1 : 0)
      .BindText(7, s.auth_json)
      .BindText(8, secrets.Seal(kSourceSigningSecret, s.id, s.signing_secret))
      .BindText(9, s.token_hash)
      .BindText(10, EncodeStringArray(s.allowed_ips))
      .BindText(11, EncodeStringArray(s.allowed_origins))
      .BindText(12, s.delivery_id_header)
      .BindInt64(13, s.max_body_bytes)
      .BindText(14, s.created_by)
      .BindInt64(15, s.created_at)
      .BindInt64(16, s.updated_at)
      .BindText(17, s.managed_by)
      .BindText(18, secrets.Seal(kSourceTriggerConfig, s.id, s.trigger_config_json));
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

// ---- Agents, triggers, matches, runs. ----

constexpr std::string_view kAgentColumns =
    "id, workspace_id, name, instructions, target_json, signing_secret, max_attempts, "
    "concurrency, created_by, created_at, updated_at, managed_by";

Result<Agent> ReadAgent(const Statement& st, const SecretCodec& secrets) {
  Agent a;
  a.id = st.ColumnText(0);
  a.workspace_id = st.ColumnText(1);
  a.name = st.ColumnText(2);
  a.instructions = st.ColumnText(3);
  a.max_attempts = static_cast<int>(st.ColumnInt64(6));
  a.concurrency = static_cast<int>(st.ColumnInt64(7));
  a.created_by = st.ColumnText(8);
  a.created_at = st.ColumnInt64(9);
  a.updated_at = st.ColumnInt64(10);
  a.managed_by = st.ColumnText(11);
  Result<std::string> target = secrets.Open(kAgentTargetJson, a.id, st.ColumnText(4));
  if (!target) return target.error();
  a.target_json = std::move(target).value();
  Result<std::string> signing = secrets.Open(kAgentSigningSecret, a.id, st.ColumnText(5));
  if (!signing) return signing.error();
  a.signing_secret = std::move(signing).value();
  return a;
}

// Binds every non-key column of an agent to ?3..?12 (?1 = id, ?2 = workspace_id), shared by
// INSERT and UPDATE.
void BindAgentFields(Statement& st, const Agent& a, const SecretCodec& secrets) {
  st.BindText(3, a.name)
      .BindText(4, a.instructions)
      .BindText(5, secrets.Seal(kAgentTargetJson, a.id, a.target_json))
      .BindText(6, secrets.Seal(kAgentSigningSecret, a.id, a.signing_secret))
      .BindInt64(7, a.max_attempts)
      .BindInt64(8, a.concurrency)
      .BindText(9, a.created_by)
      .BindInt64(10, a.created_at)
      .BindInt64(11, a.updated_at)
      .BindText(12, a.managed_by);
}

constexpr std::string_view kTriggerColumns =
    "id, workspace_id, source_id, agent_id, name, filter, event_types, include_payload, enabled, "
    "created_by, created_at, updated_at, managed_by";

Result<Trigger> ReadTrigger(const Statement& st) {
  Trigger t;
  t.id = st.ColumnText(0);
  t.workspace_id = st.ColumnText(1);
  t.source_id = st.ColumnText(2);
  t.agent_id = st.ColumnText(3);
  t.name = st.ColumnText(4);
  t.filter = st.ColumnText(5);
  if (!DecodeStringArray(st.ColumnText(6), &t.event_types)) {
    return Status::Internal("read trigger " + t.id + ": malformed event_types");
  }
  t.include_payload = st.ColumnInt64(7) != 0;
  t.enabled = st.ColumnInt64(8) != 0;
  t.created_by = st.ColumnText(9);
  t.created_at = st.ColumnInt64(10);
  t.updated_at = st.ColumnInt64(11);
  t.managed_by = st.ColumnText(12);
  return t;
}

// Binds every non-key column of a trigger to ?3..?13 (?1 = id, ?2 = workspace_id).
void BindTriggerFields(Statement& st, const Trigger& t) {
  st.BindText(3, t.source_id)
      .BindText(4, t.agent_id)
      .BindText(5, t.name)
      .BindText(6, t.filter)
      .BindText(7, EncodeStringArray(t.event_types))
      .BindInt64(8, t.include_payload ? 1 : 0)
      .BindInt64(9, t.enabled ? 1 : 0)
      .BindText(10, t.created_by)
      .BindInt64(11, t.created_at)
      .BindInt64(12, t.updated_at)
      .BindText(13, t.managed_by);
}

constexpr std::string_view kMatchColumns =
    "seq, event_id, trigger_id, outcome, run_id, message, evaluated_at, replay";

Result<Match> ReadMatch(const Statement& st) {
  Match m;
  m.seq = st.ColumnInt64(0);
  m.event_id = st.ColumnText(1);
  m.trigger_id = st.ColumnText(2);
  std::optional<MatchOutcome> outcome = ParseMatchOutcome(st.ColumnText(3));
  if (!outcome) return Status::Internal("read match " + std::to_string(m.seq) + ": bad outcome");
  m.outcome = *outcome;
  m.run_id = st.ColumnText(4);
  m.message = st.ColumnText(5);
  m.evaluated_at = st.ColumnInt64(6);
  m.replay = st.ColumnInt64(7) != 0;
  return m;
}

constexpr std::string_view kRunColumns =
    "seq, id, workspace_id, event_id, trigger_id, agent_id, owner, include_payload, "
    "max_attempts, created_at, status, attempts, next_attempt_at, lease_owner, lease_expires_at, "
    "started_at, finished_at, last_error";

Result<Run> ReadRun(const Statement& st) {
  Run r;
  r.seq = st.ColumnInt64(0);
  r.id = st.ColumnText(1);
  r.workspace_id = st.ColumnText(2);
  r.event_id = st.ColumnText(3);
  r.trigger_id = st.ColumnText(4);
  r.agent_id = st.ColumnText(5);
  r.owner = st.ColumnText(6);
  r.include_payload = st.ColumnInt64(7) != 0;
  r.max_attempts = static_cast<int>(st.ColumnInt64(8));
  r.created_at = st.ColumnInt64(9);
  std::optional<RunStatus> status = ParseRunStatus(st.ColumnText(10));
  if (!status) return Status::Internal("read run " + r.id + ": unknown status");
  r.status = *status;
  r.attempts = static_cast<int>(st.ColumnInt64(11));
  r.next_attempt_at = st.ColumnInt64(12);
  r.lease_owner = st.ColumnText(13);
  r.lease_expires_at = st.ColumnInt64(14);
  if (!st.ColumnIsNull(15)) r.started_at = st.ColumnInt64(15);
  if (!st.ColumnIsNull(16)) r.finished_at = st.ColumnInt64(16);
  r.last_error = st.ColumnText(17);
  return r;
}

RunMessage ReadRunMessage(const Statement& st) {
  RunMessage m;
  m.run_id = st.ColumnText(0);
  m.attempt = static_cast<int>(st.ColumnInt64(1));
  m.role = st.ColumnText(2);
  m.content = st.ColumnText(3);
  m.at = st.ColumnInt64(4);
  return m;
}

// The rows of a list query fetched with LIMIT limit + 1: the extra row only tells that another
// page exists, and then the cursor is the seq of the last row returned.
template <typename T>
Page<T> ToPage(std::vector<T> rows, int limit) {
  Page<T> page;
  page.items = std::move(rows);
  if (page.items.size() > static_cast<size_t>(limit)) {
    page.items.pop_back();
    page.next_cursor = page.items.back().seq;
  }
  return page;
}

// True when `sql` (a SELECT binding ?1 = id, ?2 = workspace_id) returns a row.
Result<bool> Exists(Connection& db, std::string_view sql, std::string_view op, std::string_view id,
                    std::string_view workspace_id) {
  Result<Statement> st = db.Prepare(sql, op);
  if (!st) return st.error();
  st->BindText(1, id).BindText(2, workspace_id);
  return st->Step();
}

// ---- Dispatch state, written on the writer connection inside a request's savepoint. ----

// last_error (and the "error" message) of the store's own transitions.
constexpr std::string_view kLeaseExpiredError = "lease expired before the attempt finished";
constexpr std::string_view kLastLeaseExpiredError = "lease expired during the last attempt";
constexpr std::string_view kAgentDeletedError = "agent deleted";
constexpr std::string_view kTriggerDeletedError = "trigger deleted";
constexpr std::string_view kLeaseReleasedError =
    "attempt interrupted: the dispatcher holding its lease stopped";
constexpr std::string_view kLastLeaseReleasedError =
    "attempt interrupted during the last attempt: the dispatcher holding its lease stopped";

constexpr int kMaxClaim = 500;

// Every waiting (queued or retrying) run's agent with the earliest next_attempt_at of its
// waiting runs. A skip-scan of runs_waiting: one index probe per agent, however many runs wait.
// The status lists repeat the partial index's WHERE clause verbatim, so the planner uses it.
constexpr std::string_view kWaitingAgentsSql =
    "WITH RECURSIVE waiting (agent_id) AS ("
    "  SELECT (SELECT min(agent_id) FROM runs WHERE status IN ('queued', 'retrying'))"
    "  UNION ALL"
    "  SELECT (SELECT min(agent_id) FROM runs"
    "          WHERE status IN ('queued', 'retrying') AND agent_id > waiting.agent_id)"
    "  FROM waiting WHERE waiting.agent_id IS NOT NULL) "
    "SELECT agent_id, (SELECT min(next_attempt_at) FROM runs"
    "                  WHERE status IN ('queued', 'retrying') AND agent_id = waiting.agent_id) "
    "FROM waiting WHERE agent_id IS NOT NULL";

Status InsertRunMessage(Connection& db, std::string_view run_id, int64_t attempt,
                        std::string_view role, std::string_view content, int64_t at) {
  Result<Statement> st = db.Prepare(
      "INSERT INTO run_messages (run_id, attempt, role, content, at) VALUES (?1, ?2, ?3, ?4, ?5)",
      "insert run message");
  if (!st) return st.error();
  st->BindText(1, run_id)
      .BindInt64(2, attempt)
      .BindText(3, role)
      .BindText(4, content)
      .BindInt64(5, at);
  return st->Run();
}

// The concurrency of agent `id` (of any workspace: a run's agent is looked up by id alone), or
// nullopt when the agent is gone.
Result<std::optional<int>> AgentConcurrency(Connection& db, std::string_view id) {
  Result<Statement> st =
      db.Prepare("SELECT concurrency FROM agents WHERE id = ?1", "read agent concurrency");
  if (!st) return st.error();
  st->BindText(1, id);
  Result<bool> row = st->Step();
  if (!row) return row.error();
  if (!*row) return std::optional<int>();
  return std::optional<int>(static_cast<int>(st->ColumnInt64(0)));
}

// Writes an event's outbox — its match records and runs — inside the caller's savepoint. The
// event id and workspace come from the caller (the event), not from the records. Returns the
// number of runs written.
Result<uint64_t> WriteOutbox(Connection& db, std::string_view workspace_id,
                             std::string_view event_id, const std::vector<Match>& matches,
                             const std::vector<NewRun>& runs) {
  for (const Match& m : matches) {
    Result<Statement> insert = db.Prepare(
        "INSERT INTO matches (workspace_id, event_id, trigger_id, outcome, run_id, message, "
        "evaluated_at, replay) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "insert match");
    if (!insert) return insert.error();
    insert->BindText(1, workspace_id)
        .BindText(2, event_id)
        .BindText(3, m.trigger_id)
        .BindText(4, MatchOutcomeName(m.outcome))
        .BindText(5, m.run_id)
        .BindText(6, m.message)
        .BindInt64(7, m.evaluated_at)
        .BindInt64(8, m.replay ? 1 : 0);
    TRIGGERD_RETURN_IF_ERROR(insert->Run());
  }
  for (const NewRun& r : runs) {
    // max_attempts 0: the agent's, read in this transaction; a run whose agent is already gone
    // keeps Agent{}.max_attempts and is cancelled by the first claim that finds it due (failing
    // the whole append instead would lose the event over a race with DeleteAgent).
    Result<Statement> insert = db.Prepare(
        "INSERT INTO runs (id, workspace_id, event_id, trigger_id, agent_id, owner, "
        "include_payload, max_attempts, created_at, status, attempts, next_attempt_at, "
        "lease_owner, lease_expires_at, started_at, finished_at, last_error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 = 0 THEN coalesce("
        "  (SELECT max_attempts FROM agents WHERE id = ?5 AND workspace_id = ?2), ?10) ELSE ?8 END,"
        " ?9, 'queued', 0, ?9, '', 0, NULL, NULL, '')",
        "insert run");
    if (!insert) return insert.error();
    insert->BindText(1, r.id)
        .BindText(2, workspace_id)
        .BindText(3, event_id)
        .BindText(4, r.trigger_id)
        .BindText(5, r.agent_id)
        .BindText(6, r.owner)
        .BindInt64(7, r.include_payload ? 1 : 0)
        .BindInt64(8, r.max_attempts)
        .BindInt64(9, r.created_at)
        .BindInt64(10, Agent{}.max_attempts);
    TRIGGERD_RETURN_IF_ERROR(insert->Run());
  }
  return static_cast<uint64_t>(runs.size());
}

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
  Result<std::unique_ptr<Connection>> writer = Connection::Open(options.path, writer_vfs, true);
  if (!writer) return writer.error();
  Connection& db = **writer;

  // journal_mode answers with the mode in force; anything but "wal" (a VFS without shared memory,
  // a read-only medium) would silently lose concurrent reads, so refuse it.
  Result<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") return Status::Internal("set journal_mode=WAL: SQLite chose " + *mode);
  // FULL: every COMMIT fsyncs the WAL, which is what lets a callback promise durability. NORMAL
  // would sync only at checkpoints and could lose acknowledged events on power loss.
  // The WAL-buffering shim under the writer requires it too (a commit must sync before it is
  // published to the other connections): never lower it without removing the shim.
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous = FULL", "set synchronous=FULL"));
  TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
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

  Result<std::unique_ptr<Connection>> checkpointer =
      Connection::Open(options.path, options.vfs, false);
  if (!checkpointer) return checkpointer.error();
  // A connection opens the WAL at its first read transaction; until then a checkpoint through it
  // succeeds without doing anything (and reports a log of -1 pages).
  Result<int64_t> tables = (*checkpointer)->QueryInt64("SELECT count(*) FROM sqlite_schema",
                                                       "open checkpointer connection");
  if (!tables) return tables.error();

  std::unique_ptr<SqliteStore> store(new SqliteStore(options, std::move(writer).value(),
                                                     std::move(checkpointer).value(),
                                                     std::move(secrets).value()));
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
    return Status::Internal(
        "store write called on the writer thread, from an append callback or the runs-queued "
        "listener (it would wait for itself)");
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

void SqliteStore::SetRunsQueuedListener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  runs_queued_listener_ = std::move(listener);
}

void SqliteStore::WriterLoop() {
  std::vector<WriteRequest> batch;
  std::vector<AppliedRequest> applied;
  batch.reserve(max_batch_);
  applied.reserve(max_batch_);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued has been written
      // The run at the front, appends and writes alike, in queue order (FIFO is kept: they are
      // applied in this order and their results are delivered in this order).
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status txn;
    {
      // The gate: a RESTART checkpoint holds the writer here, between transactions. Released
      // before the results are delivered, so a slow callback does not hold up a checkpoint.
      std::unique_lock<std::mutex> gate(gate_mu_);
      gate_cv_.wait(gate, [this] { return !pause_writer_.load(std::memory_order_acquire); });
      txn = ApplyBatch(batch, applied);
    }
    DeliverBatch(batch, applied, txn);
    batch.clear();
    applied.clear();
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

Status SqliteStore::ApplyBatch(std::vector<WriteRequest>& batch,
                               std::vector<AppliedRequest>& applied) {
  // IMMEDIATE takes the write lock now rather than at the first insert, so a lock conflict with
  // another process shows up here (after busy_timeout) and not halfway through the batch.
  Status txn = Execute("BEGIN IMMEDIATE", "BEGIN IMMEDIATE");
  for (size_t i = 0; txn.ok() && i < batch.size(); ++i) {
    AppliedRequest& request = applied.emplace_back();
    effects_ = WriteEffects{};
    if (auto* append = std::get_if<PendingAppend>(&batch[i])) {
      txn = InSavepoint(
          [&]() -> Status {
            Result<AppendOutcome> outcome = ApplyAppend(append->event);
            if (!outcome) return outcome.error();
            request.append = std::move(outcome).value();
            return Status::Ok();
          },
          &request.status);
    } else {
      auto& write = std::get<PendingWrite>(batch[i]);
      txn = InSavepoint([&]() -> Status { return write.apply(*writer_); }, &request.status);
    }
    // A request that failed left nothing behind (its savepoint was rolled back), so nothing of
    // what it noted happened either.
    if (request.status.ok()) request.effects = effects_;
  }
  if (txn.ok()) txn = Execute("COMMIT", "COMMIT");
  if (!txn.ok() && writer_->in_transaction()) {
    // Nothing of the batch may remain: roll back whatever SQLite has not already rolled back.
    (void)Execute("ROLLBACK", "ROLLBACK");
  }
  return txn;
}

template <typename Apply>
Status SqliteStore::InSavepoint(Apply&& apply, Status* own) {
  // The savepoint confines a failing request (say a duplicate event id, or a kConflict from a
  // write's own checks) to itself: rolling back to it undoes that request's partial rows and
  // leaves the rest of the batch intact.
  Status s = Execute("SAVEPOINT request", "SAVEPOINT");
  if (!s.ok()) {
    *own = s;
    return s;
  }
  *own = apply();
  if (!own->ok()) {
    // An I/O error, SQLITE_FULL or the like may have rolled back the whole transaction; going on
    // would then autocommit the rest of the batch one request at a time, so that is fatal.
    if (!writer_->in_transaction()) {
      return Status::Internal(own->message() + " (the batch transaction was rolled back)");
    }
    s = Execute("ROLLBACK TO request", "ROLLBACK TO SAVEPOINT");
    if (!s.ok()) return s;
  }
  return Execute("RELEASE request", "RELEASE SAVEPOINT");
}

void SqliteStore::DeliverBatch(std::vector<WriteRequest>& batch,
                               std::vector<AppliedRequest>& applied, const Status& txn) {
  if (!txn.ok()) {
    failed_batches_.fetch_add(1, std::memory_order_relaxed);
    // Always kInternal: a COMMIT that failed on a constraint is still the store's failure, not
    // the caller's (deferred constraints are not used). Every request gets it, including one
    // that had failed on its own: what the caller must know is that nothing was committed.
    for (WriteRequest& request : batch) {
      if (auto* append = std::get_if<PendingAppend>(&request)) {
        append->done(Status::Internal("commit append batch: " + txn.message()));
      } else {
        std::get<PendingWrite>(request).result.set_value(
            Status::Internal("commit write batch: " + txn.message()));
      }
    }
    return;
  }

  // Durable from here on: COMMIT returned after the WAL fsync (synchronous=FULL).
  uint64_t events = 0, duplicates = 0, writes = 0, runs = 0;
  bool runs_made_due = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const AppliedRequest& request = applied[i];
    if (!request.status.ok()) continue;
    if (std::holds_alternative<PendingAppend>(batch[i])) {
      ++(request.append.duplicate ? duplicates : events);
    } else {
      ++writes;
    }
    runs += request.effects.runs_created;
    runs_made_due = runs_made_due || request.effects.runs_made_due;
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  events_committed_.fetch_add(events, std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  writes_committed_.fetch_add(writes, std::memory_order_relaxed);
  runs_created_.fetch_add(runs, std::memory_order_relaxed);
  if (batch.size() > max_batch_seen_.load(std::memory_order_relaxed)) {
    max_batch_seen_.store(batch.size(), std::memory_order_relaxed);  // only this thread writes it
  }

  // The listener before the results: whoever sees its write acknowledged may rely on the
  // dispatcher having been woken for it. Called under listener_mu_ (and no other lock of the
  // store), so that once SetRunsQueuedListener has returned the old listener is not running and
  // never runs again: its owner may then be destroyed.
  if (runs_made_due) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    if (runs_queued_listener_) runs_queued_listener_();
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    AppliedRequest& request = applied[i];
    if (auto* append = std::get_if<PendingAppend>(&batch[i])) {
      if (request.status.ok()) {
        append->done(std::move(request.append));
      } else {
        append->done(std::move(request.status));
      }
    } else {
      std::get<PendingWrite>(batch[i]).result.set_value(std::move(request.status));
    }
  }
}

Result<AppendOutcome> SqliteStore::ApplyAppend(const NewEvent& event) {
  if (!event.delivery_id.empty()) {
    // Reads this transaction's own inserts too, so a repeat within one batch is caught. The
    // redundant `delivery_id != ''` lets the planner use the partial unique index events_dedup.
    // A duplicate writes nothing: neither the event nor its outbox.
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
  // Declared before `insert`, whose destruction (which clears its bindings) must come first: the
  // large values are bound without a copy.
  const std::string headers_json = EncodeHeaders(event.headers);
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
      .BindTextNoCopy(8, headers_json)
      .BindBlobNoCopy(9, event.body)
      .BindTextNoCopy(10, event.payload_json)
      .BindText(11, event.remote_addr)
      .BindText(12, event.verification);
  TRIGGERD_RETURN_IF_ERROR(insert->Run());
  // The transactional outbox, in the event's savepoint: a failure here fails the append and
  // rolls the event back with it.
  Result<uint64_t> runs =
      WriteOutbox(*writer_, event.workspace_id, event.id, event.matches, event.runs);
  if (!runs) return runs.error();
  effects_.runs_created += *runs;
  if (*runs > 0) effects_.runs_made_due = true;
  return AppendOutcome{event.id, event.received_at, false};
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

namespace {

Status InsertWorkspace(Connection& db, const Workspace& w) {
  Result<Statement> st = db.Prepare(
      "INSERT INTO workspaces (id, name, created_at) VALUES (?1, ?2, ?3)", "create workspace");
  if (!st) return st.error();
  st->BindText(1, w.id).BindText(2, w.name).BindInt64(3, w.created_at);
  return st->Run();
}

Status InsertApiKey(Connection& db, const ApiKey& k) {
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
}

}  // namespace

// ---- Workspaces ----

Status SqliteStore::CreateWorkspace(const Workspace& w) {
  return Write([&](Connection& db) -> Status { return InsertWorkspace(db, w); });
}

Result<bool> SqliteStore::CreateFirstWorkspace(const Workspace& w, const ApiKey& admin_key) {
  bool created = false;
  // One writer thread applies writes one at a time, so the check and the inserts are atomic;
  // the savepoint Write wraps them in keeps both or neither.
  Status s = Write([&](Connection& db) -> Status {
    Result<Statement> any = db.Prepare("SELECT 1 FROM workspaces LIMIT 1", "find a workspace");
    if (!any) return any.error();
    Result<bool> exists = any->Step();
    if (!exists) return exists.error();
    if (*exists) return Status::Ok();
    TRIGGERD_RETURN_IF_ERROR(InsertWorkspace(db, w));
    TRIGGERD_RETURN_IF_ERROR(InsertApiKey(db, admin_key));
    created = true;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return created;
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
  return Write([&](Connection& db) -> Status { return InsertApiKey(db, k); });
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
        "max_body_bytes, created_by, created_at, updated_at, managed_by, trigger_config) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        "create source");
    if (!st) return st.error();
    st->BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(*st, s, secrets_);
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
    return ReadSource(*st, secrets_);
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
    return CollectRows<Source>(*st,
                               [this](const Statement& row) { return ReadSource(row, secrets_); });
  });
}

Result<std::vector<Source>> SqliteStore::ListAllSources() {
  return Read([&](Connection& db) -> Result<std::vector<Source>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kSourceColumns, " FROM sources ORDER BY workspace_id, created_at"}),
        "list all sources");
    if (!st) return st.error();
    return CollectRows<Source>(*st,
                               [this](const Statement& row) { return ReadSource(row, secrets_); });
  });
}

Status SqliteStore::UpdateSource(const Source& s) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "UPDATE sources SET name = ?3, kind = ?4, url_secret = ?5, enabled = ?6, auth_json = ?7, "
        "signing_secret = ?8, token_hash = ?9, allowed_ips = ?10, allowed_origins = ?11, "
        "delivery_id_header = ?12, max_body_bytes = ?13, created_by = ?14, created_at = ?15, "
        "updated_at = ?16, managed_by = ?17, trigger_config = ?18 "
        "WHERE id = ?1 AND workspace_id = ?2",
        "update source");
    if (!st) return st.error();
    st->BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(*st, s, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "source");
  });
}

Status SqliteStore::DeleteSource(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    // Its triggers go with it (ON DELETE CASCADE), and, as for DeleteTrigger, their waiting runs
    // are cancelled first, while the triggers still say which runs are theirs.
    Result<Statement> cancel = db.Prepare(
        "UPDATE runs SET status = 'cancelled', finished_at = ?3, last_error = ?4 "
        "WHERE workspace_id = ?2 AND status IN ('queued', 'retrying') AND trigger_id IN "
        "(SELECT id FROM triggers WHERE source_id = ?1 AND workspace_id = ?2)",
        "cancel runs of deleted source");
    if (!cancel) return cancel.error();
    cancel->BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    cancel->BindText(4, kTriggerDeletedError);
    TRIGGERD_RETURN_IF_ERROR(cancel->Run());
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

// ---- Agents ----

Status SqliteStore::CreateAgent(const Agent& a) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "INSERT INTO agents (id, workspace_id, name, instructions, target_json, signing_secret, "
        "max_attempts, concurrency, created_by, created_at, updated_at, managed_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        "create agent");
    if (!st) return st.error();
    st->BindText(1, a.id).BindText(2, a.workspace_id);
    BindAgentFields(*st, a, secrets_);
    return st->Run();
  });
}

Result<Agent> SqliteStore::GetAgent(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Agent> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kAgentColumns, " FROM agents WHERE id = ?1 AND workspace_id = ?2"}),
        "get agent");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    return OneRow<Agent>(
        *st, [this](const Statement& row) { return ReadAgent(row, secrets_); }, "agent");
  });
}

Result<std::vector<Agent>> SqliteStore::ListAgents(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<Agent>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kAgentColumns,
                " FROM agents WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
        "list agents");
    if (!st) return st.error();
    st->BindText(1, workspace_id);
    return CollectRows<Agent>(*st,
                              [this](const Statement& row) { return ReadAgent(row, secrets_); });
  });
}

Status SqliteStore::UpdateAgent(const Agent& a) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "UPDATE agents SET name = ?3, instructions = ?4, target_json = ?5, signing_secret = ?6, "
        "max_attempts = ?7, concurrency = ?8, created_by = ?9, created_at = ?10, updated_at = ?11, "
        "managed_by = ?12 WHERE id = ?1 AND workspace_id = ?2",
        "update agent");
    if (!st) return st.error();
    st->BindText(1, a.id).BindText(2, a.workspace_id);
    BindAgentFields(*st, a, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "agent");
  });
}

Status SqliteStore::DeleteAgent(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    Result<bool> exists = Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                                 "delete agent", id, workspace_id);
    if (!exists) return exists.error();
    if (!*exists) return Status::NotFound("agent not found");
    // Checked here rather than left to the foreign key, whose failure would read as kNotFound.
    Result<Statement> used =
        db.Prepare("SELECT 1 FROM triggers WHERE agent_id = ?1 LIMIT 1", "delete agent");
    if (!used) return used.error();
    used->BindText(1, id);
    Result<bool> row = used->Step();
    if (!row) return row.error();
    if (*row) {
      return Status::Conflict("delete agent: triggers still use it; delete or change them first");
    }
    // Its waiting runs can never be delivered; running ones are left to finish (or, should their
    // lease expire, to be cancelled by the claim that finds them).
    Result<Statement> cancel = db.Prepare(
        "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3 "
        "WHERE agent_id = ?1 AND status IN ('queued', 'retrying')",
        "cancel runs of deleted agent");
    if (!cancel) return cancel.error();
    cancel->BindText(1, id).BindInt64(2, now).BindText(3, kAgentDeletedError);
    TRIGGERD_RETURN_IF_ERROR(cancel->Run());
    Result<Statement> del =
        db.Prepare("DELETE FROM agents WHERE id = ?1 AND workspace_id = ?2", "delete agent");
    if (!del) return del.error();
    del->BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(del->Run());
    return RequireChanged(db, "agent");
  });
}

// ---- Triggers ----

namespace {

// A trigger's source and agent must be in its workspace. The foreign keys only know that they
// exist somewhere, and their failure would not say which one is missing.
Status CheckTriggerReferences(Connection& db, const Trigger& t) {
  Result<bool> source = Exists(db, "SELECT 1 FROM sources WHERE id = ?1 AND workspace_id = ?2",
                               "check trigger source", t.source_id, t.workspace_id);
  if (!source) return source.error();
  if (!*source) return Status::NotFound("source not found");
  Result<bool> agent = Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                              "check trigger agent", t.agent_id, t.workspace_id);
  if (!agent) return agent.error();
  if (!*agent) return Status::NotFound("agent not found");
  return Status::Ok();
}

}  // namespace

Status SqliteStore::CreateTrigger(const Trigger& t) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    Result<Statement> st = db.Prepare(
        "INSERT INTO triggers (id, workspace_id, source_id, agent_id, name, filter, event_types, "
        "include_payload, enabled, created_by, created_at, updated_at, managed_by) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        "create trigger");
    if (!st) return st.error();
    st->BindText(1, t.id).BindText(2, t.workspace_id);
    BindTriggerFields(*st, t);
    return st->Run();
  });
}

Result<Trigger> SqliteStore::GetTrigger(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Trigger> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE id = ?1 AND workspace_id = ?2"}),
        "get trigger");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("trigger not found");
    return ReadTrigger(*st);
  });
}

Result<std::vector<Trigger>> SqliteStore::ListTriggers(std::string_view workspace_id,
                                                       std::string_view source_id,
                                                       std::string_view agent_id) {
  // Four shapes; the planner picks triggers_by_source, triggers_by_agent or
  // triggers_by_workspace by the filters present.
  std::string sql = Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE workspace_id = ?1"});
  if (!source_id.empty()) sql += " AND source_id = ?2";
  if (!agent_id.empty()) sql += " AND agent_id = ?3";
  sql += " ORDER BY created_at DESC, rowid DESC";
  return Read([&](Connection& db) -> Result<std::vector<Trigger>> {
    Result<Statement> st = db.Prepare(sql, "list triggers");
    if (!st) return st.error();
    st->BindText(1, workspace_id);
    if (!source_id.empty()) st->BindText(2, source_id);
    if (!agent_id.empty()) st->BindText(3, agent_id);
    return CollectRows<Trigger>(*st, ReadTrigger);
  });
}

Result<std::vector<Trigger>> SqliteStore::ListAllTriggers() {
  return Read([&](Connection& db) -> Result<std::vector<Trigger>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kTriggerColumns, " FROM triggers ORDER BY created_at, rowid"}),
        "list all triggers");
    if (!st) return st.error();
    return CollectRows<Trigger>(*st, ReadTrigger);
  });
}

Status SqliteStore::UpdateTrigger(const Trigger& t) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    Result<Statement> st = db.Prepare(
        "UPDATE triggers SET source_id = ?3, agent_id = ?4, name = ?5, filter = ?6, "
        "event_types = ?7, include_payload = ?8, enabled = ?9, created_by = ?10, "
        "created_at = ?11, updated_at = ?12, managed_by = ?13 WHERE id = ?1 AND workspace_id = ?2",
        "update trigger");
    if (!st) return st.error();
    st->BindText(1, t.id).BindText(2, t.workspace_id);
    BindTriggerFields(*st, t);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "trigger");
  });
}

Status SqliteStore::DeleteTrigger(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    Result<Statement> st =
        db.Prepare("DELETE FROM triggers WHERE id = ?1 AND workspace_id = ?2", "delete trigger");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    TRIGGERD_RETURN_IF_ERROR(RequireChanged(db, "trigger"));
    // Whoever deletes a trigger wants it to stop: its waiting runs are cancelled (a running
    // attempt finishes; finished runs stay as history).
    Result<Statement> cancel = db.Prepare(
        "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3 "
        "WHERE workspace_id = ?4 AND trigger_id = ?1 AND status IN ('queued', 'retrying')",
        "cancel runs of deleted trigger");
    if (!cancel) return cancel.error();
    cancel->BindText(1, id).BindInt64(2, now).BindText(3, kTriggerDeletedError);
    cancel->BindText(4, workspace_id);
    return cancel->Run();
  });
}

// ---- Match records ----

Result<std::vector<Match>> SqliteStore::ListEventMatches(std::string_view workspace_id,
                                                         std::string_view event_id) {
  return Read([&](Connection& db) -> Result<std::vector<Match>> {
    Result<Statement> st =
        db.Prepare(Concat({"SELECT ", kMatchColumns,
                           " FROM matches WHERE event_id = ?1 AND workspace_id = ?2 ORDER BY seq"}),
                   "list event matches");
    if (!st) return st.error();
    st->BindText(1, event_id).BindText(2, workspace_id);
    return CollectRows<Match>(*st, ReadMatch);
  });
}

Result<Page<Match>> SqliteStore::ListTriggerMatches(const MatchQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  std::string sql = Concat(
      {"SELECT ", kMatchColumns, " FROM matches WHERE trigger_id = ?1 AND workspace_id = ?2"});
  if (q.outcome) sql += " AND outcome = ?3";
  if (q.before_seq) sql += " AND seq < ?4";
  sql += " ORDER BY seq DESC LIMIT ?5";
  return Read([&](Connection& db) -> Result<Page<Match>> {
    Result<Statement> st = db.Prepare(sql, "list trigger matches");
    if (!st) return st.error();
    st->BindText(1, q.trigger_id).BindText(2, q.workspace_id);
    if (q.outcome) st->BindText(3, MatchOutcomeName(*q.outcome));
    if (q.before_seq) st->BindInt64(4, *q.before_seq);
    st->BindInt64(5, limit + 1);
    Result<std::vector<Match>> rows = CollectRows<Match>(*st, ReadMatch);
    if (!rows) return rows.error();
    return ToPage(std::move(rows).value(), limit);
  });
}

Status SqliteStore::AppendMatches(std::string_view workspace_id, std::string_view event_id,
                                  std::vector<Match> matches, std::vector<NewRun> runs) {
  return Write([&](Connection& db) -> Status {
    Result<bool> event = Exists(db, "SELECT 1 FROM events WHERE id = ?1 AND workspace_id = ?2",
                                "append matches", event_id, workspace_id);
    if (!event) return event.error();
    if (!*event) return Status::NotFound("event not found");
    Result<uint64_t> written = WriteOutbox(db, workspace_id, event_id, matches, runs);
    if (!written) return written.error();
    effects_.runs_created += *written;
    if (*written > 0) effects_.runs_made_due = true;
    return Status::Ok();
  });
}

// ---- Runs ----

Result<Run> SqliteStore::GetRun(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Run> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kRunColumns, " FROM runs WHERE id = ?1 AND workspace_id = ?2"}),
        "get run");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("run not found");
    return ReadRun(*st);
  });
}

Result<Page<Run>> SqliteStore::ListRuns(const RunQuery& q) {
  const int limit = std::clamp(q.limit, 1, kMaxListLimit);
  // As ListEvents: one text per combination of filters, each prepared once per read connection;
  // the planner walks the runs_by_* index of the most selective equality backwards from the
  // cursor and filters the rest (status, times) on the way.
  std::string sql = Concat({"SELECT ", kRunColumns, " FROM runs WHERE workspace_id = ?1"});
  if (!q.trigger_id.empty()) sql += " AND trigger_id = ?2";
  if (!q.agent_id.empty()) sql += " AND agent_id = ?3";
  if (!q.event_id.empty()) sql += " AND event_id = ?4";
  if (!q.owner.empty()) sql += " AND owner = ?5";
  if (q.status) sql += " AND status = ?6";
  if (q.since) sql += " AND created_at >= ?7";
  if (q.until) sql += " AND created_at < ?8";
  if (q.before_seq) sql += " AND seq < ?9";
  sql += " ORDER BY seq DESC LIMIT ?10";
  return Read([&](Connection& db) -> Result<Page<Run>> {
    Result<Statement> st = db.Prepare(sql, "list runs");
    if (!st) return st.error();
    st->BindText(1, q.workspace_id);
    if (!q.trigger_id.empty()) st->BindText(2, q.trigger_id);
    if (!q.agent_id.empty()) st->BindText(3, q.agent_id);
    if (!q.event_id.empty()) st->BindText(4, q.event_id);
    if (!q.owner.empty()) st->BindText(5, q.owner);
    if (q.status) st->BindText(6, RunStatusName(*q.status));
    if (q.since) st->BindInt64(7, *q.since);
    if (q.until) st->BindInt64(8, *q.until);
    if (q.before_seq) st->BindInt64(9, *q.before_seq);
    st->BindInt64(10, limit + 1);
    Result<std::vector<Run>> rows = CollectRows<Run>(*st, ReadRun);
    if (!rows) return rows.error();
    return ToPage(std::move(rows).value(), limit);
  });
}

Result<std::vector<RunMessage>> SqliteStore::ListRunMessages(std::string_view run_id) {
  return Read([&](Connection& db) -> Result<std::vector<RunMessage>> {
    Result<Statement> st = db.Prepare(
        "SELECT run_id, attempt, role, content, at FROM run_messages WHERE run_id = ?1 "
        "ORDER BY seq",
        "list run messages");
    if (!st) return st.error();
    st->BindText(1, run_id);
    return CollectRows<RunMessage>(*st, ReadRunMessage);
  });
}

namespace {

// The run's status within its workspace, or kNotFound.
Result<RunStatus> RunStatusOf(Connection& db, std::string_view workspace_id, std::string_view id,
                              std::string_view op) {
  Result<Statement> st =
      db.Prepare("SELECT status FROM runs WHERE id = ?1 AND workspace_id = ?2", op);
  if (!st) return st.error();
  st->BindText(1, id).BindText(2, workspace_id);
  Result<bool> row = st->Step();
  if (!row) return row.error();
  if (!*row) return Status::NotFound("run not found");
  std::optional<RunStatus> status = ParseRunStatus(st->ColumnText(0));
  if (!status) return Status::Internal(std::string(op) + ": unknown run status");
  return *status;
}

}  // namespace

Status SqliteStore::RetryRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write([&](Connection& db) -> Status {
    Result<RunStatus> status = RunStatusOf(db, workspace_id, id, "retry run");
    if (!status) return status.error();
    if (*status != RunStatus::kFailed && *status != RunStatus::kDead) {
      return Status::Conflict("retry run: the run is " + std::string(RunStatusName(*status)) +
                              "; only a failed or dead run can be retried");
    }
    // A fresh budget counted from the attempts made so far: the agent's max_attempts as it is
    // now, or the run's own when the agent is gone (the claim then cancels the run).
    Result<Statement> st = db.Prepare(
        "UPDATE runs SET status = 'queued', next_attempt_at = ?3, finished_at = NULL, "
        "lease_owner = '', lease_expires_at = 0, max_attempts = attempts + coalesce("
        "  (SELECT a.max_attempts FROM agents AS a"
        "   WHERE a.id = runs.agent_id AND a.workspace_id = runs.workspace_id), max_attempts) "
        "WHERE id = ?1 AND workspace_id = ?2",
        "retry run");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    effects_.runs_made_due = true;
    return Status::Ok();
  });
}

Status SqliteStore::CancelRun(std::string_view workspace_id, std::string_view id, int64_t now) {
  return Write([&](Connection& db) -> Status {
    Result<RunStatus> status = RunStatusOf(db, workspace_id, id, "cancel run");
    if (!status) return status.error();
    if (*status != RunStatus::kQueued && *status != RunStatus::kRetrying) {
      return Status::Conflict("cancel run: the run is " + std::string(RunStatusName(*status)) +
                              "; only a queued or retrying run can be cancelled");
    }
    Result<Statement> st = db.Prepare(
        "UPDATE runs SET status = 'cancelled', finished_at = ?3 "
        "WHERE id = ?1 AND workspace_id = ?2",
        "cancel run");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    return st->Run();
  });
}

// ---- Dispatch ----

namespace {

// One run ClaimRuns may take: waiting and due, or running with an expired lease.
struct ClaimCandidate {
  int64_t due = 0;  // next_attempt_at, or lease_expires_at for a reclaim
  int64_t seq = 0;
  bool reclaim = false;
  bool operator<(const ClaimCandidate& o) const {
    return std::tie(due, seq) < std::tie(o.due, o.seq);
  }
};

// What ClaimRuns knows of one agent's runs.
struct AgentLoad {
  int unexpired = 0;                    // running with lease_expires_at > now: the slots in use
  std::vector<ClaimCandidate> expired;  // running with an expired lease and attempts left
  bool waiting_due = false;             // has a queued/retrying run with next_attempt_at <= now
};

// Retires the running runs whose lease expired on their last attempt: dead, not claimed.
Status RetireExpiredLastAttempts(Connection& db, int64_t now) {
  std::vector<std::pair<std::string, int64_t>> retired;  // run id, its cut attempt
  {
    Result<Statement> st = db.Prepare(
        "UPDATE runs SET status = 'dead', finished_at = ?1, last_error = ?2, lease_owner = '', "
        "lease_expires_at = 0 "
        "WHERE status = 'running' AND lease_expires_at <= ?1 AND attempts >= max_attempts "
        "RETURNING id, attempts",
        "retire expired runs");
    if (!st) return st.error();
    st->BindInt64(1, now).BindText(2, kLastLeaseExpiredError);
    for (;;) {
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) break;
      retired.emplace_back(st->ColumnText(0), st->ColumnInt64(1));
    }
  }
  for (const auto& [run_id, attempt] : retired) {
    TRIGGERD_RETURN_IF_ERROR(
        InsertRunMessage(db, run_id, attempt, "error", kLastLeaseExpiredError, now));
  }
  return Status::Ok();
}

// Cancels what ClaimRuns finds of a deleted agent: its waiting runs and its expired leases.
Status CancelRunsOfMissingAgent(Connection& db, std::string_view agent_id, int64_t now) {
  Result<Statement> waiting = db.Prepare(
      "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3 "
      "WHERE agent_id = ?1 AND status IN ('queued', 'retrying')",
      "cancel runs of deleted agent");
  if (!waiting) return waiting.error();
  waiting->BindText(1, agent_id).BindInt64(2, now).BindText(3, kAgentDeletedError);
  TRIGGERD_RETURN_IF_ERROR(waiting->Run());
  Result<Statement> expired = db.Prepare(
      "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3, "
      "lease_owner = '', lease_expires_at = 0 "
      "WHERE agent_id = ?1 AND status = 'running' AND lease_expires_at <= ?2",
      "cancel expired runs of deleted agent");
  if (!expired) return expired.error();
  expired->BindText(1, agent_id).BindInt64(2, now).BindText(3, kAgentDeletedError);
  return expired->Run();
}

// ClaimRuns inside the write transaction. The work is bounded by the live runs, never by the
// history nor by a saturated agent's backlog: running runs (few: at most the agents'
// concurrencies plus leases left behind by a dead process), one probe per agent with waiting runs,
// and per agent with free slots at most min(free, limit) of its oldest due runs.
Status ClaimDueRuns(Connection& db, const ClaimRequest& request, int limit,
                    std::vector<Run>* claimed) {
  const int64_t now = request.now;
  TRIGGERD_RETURN_IF_ERROR(RetireExpiredLastAttempts(db, now));

  std::map<std::string, AgentLoad, std::less<>> agents;
  {
    Result<Statement> st =
        db.Prepare("SELECT seq, agent_id, lease_expires_at FROM runs WHERE status = 'running'",
                   "read running runs");
    if (!st) return st.error();
    for (;;) {
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) break;
      AgentLoad& load = agents[st->ColumnText(1)];
      const int64_t expires = st->ColumnInt64(2);
      if (expires > now) {
        ++load.unexpired;
      } else {
        load.expired.push_back({expires, st->ColumnInt64(0), true});
      }
    }
  }
  {
    Result<Statement> st = db.Prepare(kWaitingAgentsSql, "read waiting agents");
    if (!st) return st.error();
    for (;;) {
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) break;
      if (st->ColumnInt64(1) <= now) agents[st->ColumnText(0)].waiting_due = true;
    }
  }

  std::vector<ClaimCandidate> candidates;
  for (auto& [agent_id, load] : agents) {
    if (load.expired.empty() && !load.waiting_due) continue;
    Result<std::optional<int>> concurrency = AgentConcurrency(db, agent_id);
    if (!concurrency) return concurrency.error();
    if (!concurrency->has_value()) {
      // The agent was deleted: its concurrency is unknown and its runs have nowhere to go.
      TRIGGERD_RETURN_IF_ERROR(CancelRunsOfMissingAgent(db, agent_id, now));
      continue;
    }
    const int free = **concurrency - load.unexpired;
    if (free <= 0) continue;
    const int take = std::min(free, limit);
    std::vector<ClaimCandidate> mine = std::move(load.expired);
    if (load.waiting_due) {
      Result<Statement> st = db.Prepare(
          "SELECT seq, next_attempt_at FROM runs "
          "WHERE status IN ('queued', 'retrying') AND agent_id = ?1 AND next_attempt_at <= ?2 "
          "ORDER BY next_attempt_at, seq LIMIT ?3",
          "read due runs");
      if (!st) return st.error();
      st->BindText(1, agent_id).BindInt64(2, now).BindInt64(3, take);
      for (;;) {
        Result<bool> row = st->Step();
        if (!row) return row.error();
        if (!*row) break;
        mine.push_back({st->ColumnInt64(1), st->ColumnInt64(0), false});
      }
    }
    std::sort(mine.begin(), mine.end());
    if (mine.size() > static_cast<size_t>(take)) mine.resize(take);
    candidates.insert(candidates.end(), mine.begin(), mine.end());
  }
  // Oldest due first across agents; each agent already contributed no more than its free slots.
  std::sort(candidates.begin(), candidates.end());
  if (candidates.size() > static_cast<size_t>(limit)) candidates.resize(limit);

  for (const ClaimCandidate& c : candidates) {
    Result<Statement> st = db.Prepare(
        Concat({"UPDATE runs SET status = 'running', lease_owner = ?2, lease_expires_at = ?3, "
                "attempts = attempts + 1, started_at = coalesce(started_at, ?4), "
                "last_error = CASE WHEN status = 'running' THEN ?5 ELSE last_error END "
                "WHERE seq = ?1 RETURNING ",
                kRunColumns}),
        "claim run");
    if (!st) return st.error();
    st->BindInt64(1, c.seq)
        .BindText(2, request.owner)
        .BindInt64(3, now + request.lease_micros)
        .BindInt64(4, now)
        .BindText(5, kLeaseExpiredError);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::Internal("claim run: the candidate row vanished");
    Result<Run> run = ReadRun(*st);
    if (!run) return run.error();
    TRIGGERD_RETURN_IF_ERROR(st->Run());  // RETURNING: step to the end before the next write
    if (c.reclaim) {
      TRIGGERD_RETURN_IF_ERROR(
          InsertRunMessage(db, run->id, run->attempts - 1, "error", kLeaseExpiredError, now));
    }
    claimed->push_back(std::move(run).value());
  }
  return Status::Ok();
}

// NextDueTime on a read snapshot; see the contract in store.h. Per agent with k running runs
// (leases e[0] <= … <= e[k-1]) and concurrency c: at k >= c nothing of it is claimable before
// e[k-c], when a slot frees and that very run's lease has expired, so it is claimable then; at
// k < c a slot is free and the agent is claimable at its earliest waiting next_attempt_at or its
// earliest lease expiry. A deleted agent has no limit (its runs are cancelled when due).
Result<std::optional<int64_t>> ComputeNextDueTime(Connection& db) {
  std::map<std::string, std::vector<int64_t>, std::less<>> leases;  // ascending per agent
  std::map<std::string, int64_t, std::less<>> waiting;              // earliest next_attempt_at
  {
    Result<Statement> st = db.Prepare(
        "SELECT agent_id, lease_expires_at FROM runs WHERE status = 'running' "
        "ORDER BY agent_id, lease_expires_at",
        "next due time");
    if (!st) return st.error();
    for (;;) {
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) break;
      leases[st->ColumnText(0)].push_back(st->ColumnInt64(1));
    }
  }
  {
    Result<Statement> st = db.Prepare(kWaitingAgentsSql, "next due time");
    if (!st) return st.error();
    for (;;) {
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) break;
      waiting[st->ColumnText(0)] = st->ColumnInt64(1);
    }
  }
  std::optional<int64_t> next;
  auto consider = [&next](int64_t t) {
    if (!next || t < *next) next = t;
  };
  auto agent_due = [&](const std::string& agent_id) -> Status {
    Result<std::optional<int>> concurrency = AgentConcurrency(db, agent_id);
    if (!concurrency) return concurrency.error();
    const size_t limit = concurrency->has_value() ? static_cast<size_t>(**concurrency)
                                                  : std::numeric_limits<size_t>::max();
    auto running = leases.find(agent_id);
    const size_t k = running != leases.end() ? running->second.size() : 0;
    if (k >= limit) {
      consider(running->second[k - limit]);
      return Status::Ok();
    }
    if (k > 0) consider(running->second.front());
    if (auto w = waiting.find(agent_id); w != waiting.end()) consider(w->second);
    return Status::Ok();
  };
  for (const auto& [agent_id, expiries] : leases) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  for (const auto& [agent_id, first] : waiting) {
    if (!leases.contains(agent_id)) TRIGGERD_RETURN_IF_ERROR(agent_due(agent_id));
  }
  return next;
}

}  // namespace

Result<std::vector<Run>> SqliteStore::ClaimRuns(const ClaimRequest& request) {
  if (request.owner.empty()) return Status::InvalidArgument("claim runs: empty lease owner");
  if (request.lease_micros <= 0) {
    return Status::InvalidArgument("claim runs: the lease must be longer than zero");
  }
  const int limit = std::clamp(request.limit, 0, kMaxClaim);
  if (limit == 0) return std::vector<Run>();
  std::vector<Run> claimed;
  Status s = Write([&](Connection& db) -> Status {
    claimed.clear();  // only what the kept savepoint claimed counts
    return ClaimDueRuns(db, request, limit, &claimed);
  });
  if (!s.ok()) return s;
  return claimed;
}

Status SqliteStore::FinishAttempt(const AttemptResult& r) {
  return Write([&](Connection& db) -> Status {
    int64_t attempts = 0, max_attempts = 0;
    {
      Result<Statement> st =
          db.Prepare("SELECT status, lease_owner, attempts, max_attempts FROM runs WHERE id = ?1",
                     "finish attempt");
      if (!st) return st.error();
      st->BindText(1, r.run_id);
      Result<bool> row = st->Step();
      if (!row) return row.error();
      if (!*row) return Status::NotFound("run not found");
      attempts = st->ColumnInt64(2);
      max_attempts = st->ColumnInt64(3);
      // The fence: only the claim that started this attempt may end it. A lease taken over by
      // another claim has a new attempt number (and usually another owner); a cancelled or
      // finished run is no longer running.
      if (st->ColumnText(0) != "running" || st->ColumnText(1) != r.lease_owner ||
          attempts != r.attempt) {
        return Status::Conflict("finish attempt: run " + r.run_id + " is no longer running " +
                                "attempt " + std::to_string(r.attempt) + " under lease owner " +
                                r.lease_owner);
      }
    }
    std::string_view status;
    bool final = true;
    switch (r.outcome) {
      case AttemptOutcome::kSucceeded:
        status = "succeeded";
        break;
      case AttemptOutcome::kRetry:
        // The budget is the store's invariant too: no attempt beyond max_attempts is ever started.
        final = attempts >= max_attempts;
        status = final ? "dead" : "retrying";
        break;
      case AttemptOutcome::kFailed:
        status = "failed";
        break;
      case AttemptOutcome::kDead:
        status = "dead";
        break;
    }
    if (status.empty()) return Status::InvalidArgument("finish attempt: unknown outcome");
    const bool succeeded = r.outcome == AttemptOutcome::kSucceeded;
    Result<Statement> st = db.Prepare(
        "UPDATE runs SET status = ?2, last_error = ?3, finished_at = ?4, "
        "next_attempt_at = coalesce(?5, next_attempt_at), lease_owner = '', lease_expires_at = 0 "
        "WHERE id = ?1",
        "finish attempt");
    if (!st) return st.error();
    st->BindText(1, r.run_id).BindText(2, status).BindText(3, succeeded ? "" : r.message);
    if (final) {
      st->BindInt64(4, r.finished_at).BindNull(5);
    } else {
      st->BindNull(4).BindInt64(5, r.next_attempt_at);
    }
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return InsertRunMessage(db, r.run_id, r.attempt, succeeded ? "agent" : "error", r.message,
                            r.finished_at);
  });
}

// ---- Operations: live run counts and retention ----

Result<LiveRunCounts> SqliteStore::CountLiveRuns() {
  return Read([&](Connection& db) -> Result<LiveRunCounts> {
    // The WHERE clauses repeat the partial indexes' (runs_waiting, runs_running) so the counts
    // walk only live runs.
    Result<Statement> st = db.Prepare(
        "SELECT (SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
        "AND status = 'queued'), "
        "(SELECT count(*) FROM runs WHERE status IN ('queued', 'retrying') "
        "AND status = 'retrying'), "
        "(SELECT count(*) FROM runs WHERE status = 'running')",
        "count live runs");
    if (!st) return st.error();
    Result<bool> row = st->Step();
    if (!row) return row.error();
    LiveRunCounts counts;
    if (*row) {
      counts.queued = st->ColumnInt64(0);
      counts.retrying = st->ColumnInt64(1);
      counts.running = st->ColumnInt64(2);
    }
    return counts;
  });
}

Result<PurgeResult> SqliteStore::Purge(const PurgeRequest& request) {
  PurgeResult result;
  result.bodies_after_seq = request.bodies_after_seq;
  const int limit = std::max(1, request.limit);
  Status written = Write([&](Connection& db) -> Status {
    // A failed write rolls back: report nothing of it.
    result = PurgeResult{};
    result.bodies_after_seq = request.bodies_after_seq;
    // Whether an event still has a run that dispatch will read it for.
    auto has_live_runs = [&](const std::string& workspace_id,
                             const std::string& event_id) -> Result<bool> {
      Result<Statement> live = db.Prepare(
          "SELECT EXISTS (SELECT 1 FROM runs WHERE workspace_id = ?1 AND event_id = ?2 "
          "AND status IN ('queued', 'retrying', 'running'))",
          "purge: live runs");
      if (!live) return live.error();
      live->BindText(1, workspace_id).BindText(2, event_id);
      Result<bool> row = live->Step();
      if (!row) return row.error();
      return *row && live->ColumnInt64(0) != 0;
    };

    if (request.events_before > 0) {
      // Oldest first by seq: old events sit at the front of the table, so the scan stops soon
      // after the cutoff. Events kept for their live runs are stepped over (few, and short-lived).
      struct Doomed {
        int64_t seq;
        std::string id, workspace_id;
      };
      std::vector<Doomed> doomed;
      {
        Result<Statement> old = db.Prepare(
            "SELECT seq, id, workspace_id FROM events WHERE received_at < ?1 ORDER BY seq",
            "purge: old events");
        if (!old) return old.error();
        old->BindInt64(1, request.events_before);
        for (;;) {
          Result<bool> row = old->Step();
          if (!row) return row.error();
          if (!*row) break;
          if (static_cast<int>(doomed.size()) == limit) {
            result.more = true;
            break;
          }
          Doomed d{old->ColumnInt64(0), old->ColumnText(1), old->ColumnText(2)};
          Result<bool> busy = has_live_runs(d.workspace_id, d.id);
          if (!busy) return busy.error();
          if (!*busy) doomed.push_back(std::move(d));
        }
      }  // the scan's statement ends before the deletes
      for (const Doomed& d : doomed) {
        Result<Statement> runs =
            db.Prepare("DELETE FROM runs WHERE workspace_id = ?1 AND event_id = ?2", "purge: runs");
        if (!runs) return runs.error();
        runs->BindText(1, d.workspace_id).BindText(2, d.id);
        TRIGGERD_RETURN_IF_ERROR(runs->Run());  // their messages go by ON DELETE CASCADE
        result.runs_deleted += db.changes();
        Result<Statement> matches =
            db.Prepare("DELETE FROM matches WHERE event_id = ?1", "purge: matches");
        if (!matches) return matches.error();
        matches->BindText(1, d.id);
        TRIGGERD_RETURN_IF_ERROR(matches->Run());
        Result<Statement> event = db.Prepare("DELETE FROM events WHERE seq = ?1", "purge: event");
        if (!event) return event.error();
        event->BindInt64(1, d.seq);
        TRIGGERD_RETURN_IF_ERROR(event->Run());
        ++result.events_deleted;
      }
    }

    if (request.bodies_before > 0 && !result.more) {
      // payload_json 'null' marks an emptied body: no stored event has it otherwise (a payload
      // is a JSON object or array, or the form fields as an object).
      std::vector<int64_t> emptied;
      {
        Result<Statement> old = db.Prepare(
            "SELECT seq, id, workspace_id, payload_json = 'null' FROM events "
            "WHERE seq > ?1 AND received_at < ?2 ORDER BY seq",
            "purge: old bodies");
        if (!old) return old.error();
        old->BindInt64(1, request.bodies_after_seq).BindInt64(2, request.bodies_before);
        int examined = 0;
        for (;;) {
          Result<bool> row = old->Step();
          if (!row) return row.error();
          if (!*row) break;
          if (examined == limit) {
            result.more = true;
            break;
          }
          ++examined;
          const int64_t seq = old->ColumnInt64(0);
          if (old->ColumnInt64(3) != 0) {
            result.bodies_after_seq = seq;
            continue;
          }
          Result<bool> busy = has_live_runs(old->ColumnText(2), old->ColumnText(1));
          if (!busy) return busy.error();
          // An event kept for its live runs stops the cursor: it is looked at again next time.
          if (*busy) break;
          emptied.push_back(seq);
          result.bodies_after_seq = seq;
        }
      }  // the scan's statement ends before the updates
      for (int64_t seq : emptied) {
        Result<Statement> empty =
            db.Prepare("UPDATE events SET body = x'', payload_json = 'null' WHERE seq = ?1",
                       "purge: empty body");
        if (!empty) return empty.error();
        empty->BindInt64(1, seq);
        TRIGGERD_RETURN_IF_ERROR(empty->Run());
        ++result.bodies_emptied;
      }
    }
    return Status::Ok();
  });
  if (!written.ok()) return written;
  return result;
}

Result<std::optional<int64_t>> SqliteStore::NextDueTime() {
  return Read([&](Connection& db) -> Result<std::optional<int64_t>> {
    // Several statements: one read transaction, so they see one snapshot.
    TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN", "next due time"));
    Result<std::optional<int64_t>> next = ComputeNextDueTime(db);
    // Ends the read transaction whatever happened, so the pooled connection holds no snapshot.
    Status end = db.Exec("COMMIT", "next due time");
    if (!end.ok()) {
      if (db.in_transaction()) (void)db.Exec("ROLLBACK", "next due time");
      return end;
    }
    return next;
  });
}

Status SqliteStore::ReleaseLeases(std::string_view keep_owner, int64_t now) {
  return Write([&](Connection& db) -> Status {
    struct Released {
      std::string run_id;
      int64_t attempt;
      bool dead;
    };
    std::vector<Released> released;
    {
      Result<Statement> st = db.Prepare(
          "UPDATE runs SET "
          "status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'retrying' END, "
          "finished_at = CASE WHEN attempts >= max_attempts THEN ?2 ELSE NULL END, "
          "last_error = CASE WHEN attempts >= max_attempts THEN ?3 ELSE ?4 END, "
          "next_attempt_at = ?2, lease_owner = '', lease_expires_at = 0 "
          "WHERE status = 'running' AND lease_owner != ?1 "
          "RETURNING id, attempts, status = 'dead'",
          "release leases");
      if (!st) return st.error();
      st->BindText(1, keep_owner)
          .BindInt64(2, now)
          .BindText(3, kLastLeaseReleasedError)
          .BindText(4, kLeaseReleasedError);
      for (;;) {
        Result<bool> row = st->Step();
        if (!row) return row.error();
        if (!*row) break;
        released.push_back({st->ColumnText(0), st->ColumnInt64(1), st->ColumnInt64(2) != 0});
      }
    }
    for (const Released& r : released) {
      TRIGGERD_RETURN_IF_ERROR(
          InsertRunMessage(db, r.run_id, r.attempt, "error",
                           r.dead ? kLastLeaseReleasedError : kLeaseReleasedError, now));
      if (!r.dead) effects_.runs_made_due = true;
    }
    return Status::Ok();
  });
}

}  // namespace triggerd::store::sqlite

namespace triggerd::store {

int LatestSqliteSchemaVersion() {
  return static_cast<int>(sqlite::BuiltinMigrations().size());
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  Result<std::unique_ptr<sqlite::SqliteStore>> store = sqlite::SqliteStore::Open(options);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace triggerd::store

// ---- Agent webhooks (schema/003_webhooks.sql) ----

namespace triggerd::store::sqlite {
namespace {

constexpr std::string_view kAgentWebhookColumns =
    "id, workspace_id, agent_id, kind, enabled, token_hash, token_prefix, event_source, "
    "allowed_ips, hmac_secret, description, metadata_json, created_by, created_at, updated_at";

// hmac_secret goes through `secrets`, as the secret columns of sources and agents do.
Result<AgentWebhook> ReadAgentWebhook(const Statement& st, const SecretCodec& secrets) {
  AgentWebhook w;
  w.id = st.ColumnText(0);
  w.workspace_id = st.ColumnText(1);
  w.agent_id = st.ColumnText(2);
  w.kind = st.ColumnText(3);
  w.enabled = st.ColumnInt64(4) != 0;
  w.token_hash = st.ColumnText(5);
  w.token_prefix = st.ColumnText(6);
  w.event_source = st.ColumnText(7);
  if (!DecodeStringArray(st.ColumnText(8), &w.allowed_ips)) {
    return Status::Internal("read agent webhook " + w.id + ": malformed allowed_ips");
  }
  Result<std::string> hmac_secret = secrets.Open(kAgentWebhookHmacSecret, w.id, st.ColumnText(9));
  if (!hmac_secret) return hmac_secret.error();
  w.hmac_secret = std::move(hmac_secret).value();
  w.description = st.ColumnText(10);
  w.metadata_json = st.ColumnText(11);
  w.created_by = st.ColumnText(12);
  w.created_at = st.ColumnInt64(13);
  w.updated_at = st.ColumnInt64(14);
  return w;
}

// Binds every column but id and workspace_id to ?3..?15, shared by INSERT and UPDATE.
void BindAgentWebhookFields(Statement& st, const AgentWebhook& w, const SecretCodec& secrets) {
  st.BindText(3, w.agent_id)
      .BindText(4, w.kind)
      .BindInt64(5, w.enabled ? 1 : 0)
      .BindText(6, w.token_hash)
      .BindText(7, w.token_prefix)
      .BindText(8, w.event_source)
      .BindText(9, EncodeStringArray(w.allowed_ips))
      .BindText(10, secrets.Seal(kAgentWebhookHmacSecret, w.id, w.hmac_secret))
      .BindText(11, w.description)
      .BindText(12, w.metadata_json)
      .BindText(13, w.created_by)
      .BindInt64(14, w.created_at)
      .BindInt64(15, w.updated_at);
}

}  // namespace

Status SqliteStore::CreateAgentWebhook(const AgentWebhook& w) {
  return Write([&](Connection& db) -> Status {
    // The foreign key only knows that the agent exists somewhere.
    Result<bool> agent = Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                                "check webhook agent", w.agent_id, w.workspace_id);
    if (!agent) return agent.error();
    if (!*agent) return Status::NotFound("agent not found");
    Result<Statement> st = db.Prepare(
        Concat({"INSERT INTO agent_webhooks (", kAgentWebhookColumns,
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"}),
        "create agent webhook");
    if (!st) return st.error();
    st->BindText(1, w.id).BindText(2, w.workspace_id);
    BindAgentWebhookFields(*st, w, secrets_);
    return st->Run();  // UNIQUE (agent_id, kind) or token_hash: kConflict
  });
}

Result<AgentWebhook> SqliteStore::GetAgentWebhook(std::string_view agent_id,
                                                  std::string_view kind) {
  return Read([&](Connection& db) -> Result<AgentWebhook> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kAgentWebhookColumns,
                " FROM agent_webhooks WHERE agent_id = ?1 AND kind = ?2"}),
        "get agent webhook");
    if (!st) return st.error();
    st->BindText(1, agent_id).BindText(2, kind);
    return OneRow<AgentWebhook>(
        *st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); }, "webhook");
  });
}

Result<AgentWebhook> SqliteStore::FindAgentWebhookByTokenHash(std::string_view token_hash) {
  if (token_hash.empty()) return Status::NotFound("webhook not found");
  return Read([&](Connection& db) -> Result<AgentWebhook> {
    // The redundant `token_hash != ''` lets the planner use the partial index.
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kAgentWebhookColumns,
                " FROM agent_webhooks WHERE token_hash = ?1 AND token_hash != ''"}),
        "find agent webhook by token");
    if (!st) return st.error();
    st->BindText(1, token_hash);
    return OneRow<AgentWebhook>(
        *st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); }, "webhook");
  });
}

Result<std::vector<AgentWebhook>> SqliteStore::ListAgentWebhooks(std::string_view workspace_id,
                                                                 std::string_view kind) {
  return Read([&](Connection& db) -> Result<std::vector<AgentWebhook>> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kAgentWebhookColumns,
                " FROM agent_webhooks WHERE workspace_id = ?1 AND kind = ?2 "
                "ORDER BY created_at DESC, rowid DESC"}),
        "list agent webhooks");
    if (!st) return st.error();
    st->BindText(1, workspace_id).BindText(2, kind);
    return CollectRows<AgentWebhook>(
        *st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); });
  });
}

Status SqliteStore::UpdateAgentWebhook(const AgentWebhook& w) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "UPDATE agent_webhooks SET agent_id = ?3, kind = ?4, enabled = ?5, token_hash = ?6, "
        "token_prefix = ?7, event_source = ?8, allowed_ips = ?9, hmac_secret = ?10, "
        "description = ?11, metadata_json = ?12, created_by = ?13, created_at = ?14, "
        "updated_at = ?15 WHERE id = ?1 AND workspace_id = ?2",
        "update agent webhook");
    if (!st) return st.error();
    st->BindText(1, w.id).BindText(2, w.workspace_id);
    BindAgentWebhookFields(*st, w, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "webhook");
  });
}

Status SqliteStore::DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) {
  return Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "DELETE FROM agent_webhooks WHERE id = ?1 AND workspace_id = ?2", "delete agent webhook");
    if (!st) return st.error();
    st->BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "webhook");
  });
}

// ---- Source cursors (schedule and poll sources, src/schedule) ----

Result<SourceCursor> SqliteStore::GetSourceCursor(std::string_view source_id) {
  return Read([&](Connection& db) -> Result<SourceCursor> {
    Result<Statement> st = db.Prepare(
        "SELECT source_id, cursor_data, last_tick_at, next_due_at, updated_at "
        "FROM source_cursors WHERE source_id = ?1",
        "get source cursor");
    if (!st) return st.error();
    st->BindText(1, source_id);
    Result<bool> row = st->Step();
    if (!row) return row.error();
    if (!*row) return Status::NotFound("source cursor not found");
    SourceCursor c;
    c.source_id = st->ColumnText(0);
    c.cursor_data = st->ColumnText(1);
    if (!st->ColumnIsNull(2)) c.last_tick_at = st->ColumnInt64(2);
    if (!st->ColumnIsNull(3)) c.next_due_at = st->ColumnInt64(3);
    c.updated_at = st->ColumnInt64(4);
    return c;
  });
}

Status SqliteStore::PutSourceCursor(const SourceCursor& c) {
  return Write([&](Connection& db) -> Status {
    // Only while the source exists (a source deleted meanwhile is kNotFound, not a constraint
    // error); the upsert keeps one row per source.
    Result<Statement> st = db.Prepare(
        "INSERT INTO source_cursors (source_id, cursor_data, last_tick_at, next_due_at, "
        "updated_at) SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1) "
        "ON CONFLICT (source_id) DO UPDATE SET cursor_data = excluded.cursor_data, "
        "last_tick_at = excluded.last_tick_at, next_due_at = excluded.next_due_at, "
        "updated_at = excluded.updated_at",
        "put source cursor");
    if (!st) return st.error();
    st->BindText(1, c.source_id).BindText(2, c.cursor_data);
    if (c.last_tick_at) {
      st->BindInt64(3, *c.last_tick_at);
    } else {
      st->BindNull(3);
    }
    if (c.next_due_at) {
      st->BindInt64(4, *c.next_due_at);
    } else {
      st->BindNull(4);
    }
    st->BindInt64(5, c.updated_at);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "source");
  });
}

Result<bool> SqliteStore::ClaimSourceTurn(std::string_view source_id, int64_t now,
                                          int64_t next_due_at) {
  bool claimed = false;
  Status s = Write([&](Connection& db) -> Status {
    Result<Statement> st = db.Prepare(
        "INSERT INTO source_cursors (source_id, cursor_data, next_due_at, updated_at) "
        "SELECT ?1, '{}', ?3, ?2 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1) "
        "ON CONFLICT (source_id) DO UPDATE SET next_due_at = excluded.next_due_at "
        "WHERE source_cursors.next_due_at IS NULL OR source_cursors.next_due_at <= ?2",
        "claim source turn");
    if (!st) return st.error();
    st->BindText(1, source_id).BindInt64(2, now).BindInt64(3, next_due_at);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    claimed = db.changes() > 0;
    if (claimed) return Status::Ok();
    Result<Statement> exists =
        db.Prepare("SELECT 1 FROM sources WHERE id = ?1", "claim source turn");
    if (!exists) return exists.error();
    exists->BindText(1, source_id);
    Result<bool> row = exists->Step();
    if (!row) return row.error();
    return *row ? Status::Ok() : Status::NotFound("source not found");
  });
  if (!s.ok()) return s;
  return claimed;
}

}  // namespace triggerd::store::sqlite

// ---- Stack AI-style trigger extras (schema/006_stackai_triggers.sql) ----

namespace triggerd::store::sqlite {

Result<Trigger> SqliteStore::FindTrigger(std::string_view trigger_id) {
  return Read([&](Connection& db) -> Result<Trigger> {
    Result<Statement> st = db.Prepare(
        Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE id = ?1"}), "find trigger");
    if (!st) return st.error();
    st->BindText(1, trigger_id);
    return OneRow<Trigger>(*st, ReadTrigger, "trigger");
  });
}

Result<TriggerExtras> SqliteStore::GetTriggerExtras(std::string_view workspace_id,
                                                    std::string_view trigger_id) {
  return Read([&](Connection& db) -> Result<TriggerExtras> {
    Result<Statement> st = db.Prepare(
        "SELECT trigger_id, workspace_id, connection_id, owns_source, updated_by, updated_at "
        "FROM trigger_extras WHERE trigger_id = ?1 AND workspace_id = ?2",
        "get trigger extras");
    if (!st) return st.error();
    st->BindText(1, trigger_id).BindText(2, workspace_id);
    return OneRow<TriggerExtras>(
        *st,
        [](const Statement& row) -> Result<TriggerExtras> {
          TriggerExtras e;
          e.trigger_id = row.ColumnText(0);
          e.workspace_id = row.ColumnText(1);
          e.connection_id = row.ColumnText(2);
          e.owns_source = row.ColumnInt64(3) != 0;
          e.updated_by = row.ColumnText(4);
          e.updated_at = row.ColumnInt64(5);
          return e;
        },
        "trigger extras");
  });
}

Status SqliteStore::PutTriggerExtras(const TriggerExtras& e) {
  return Write([&](Connection& db) -> Status {
    // Only for a trigger of that workspace (the foreign key alone knows only that it exists
    // somewhere); the upsert keeps one row per trigger.
    Result<Statement> st = db.Prepare(
        "INSERT INTO trigger_extras (trigger_id, workspace_id, connection_id, owns_source, "
        "updated_by, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS "
        "(SELECT 1 FROM triggers WHERE id = ?1 AND workspace_id = ?2) "
        "ON CONFLICT (trigger_id) DO UPDATE SET connection_id = excluded.connection_id, "
        "owns_source = excluded.owns_source, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        "put trigger extras");
    if (!st) return st.error();
    st->BindText(1, e.trigger_id)
        .BindText(2, e.workspace_id)
        .BindText(3, e.connection_id)
        .BindInt64(4, e.owns_source ? 1 : 0)
        .BindText(5, e.updated_by)
        .BindInt64(6, e.updated_at);
    TRIGGERD_RETURN_IF_ERROR(st->Run());
    return RequireChanged(db, "trigger");
  });
}

}  // namespace triggerd::store::sqlite
