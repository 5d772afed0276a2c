#include "store/sqlite/connection.h"

#include <utility>

namespace triggerd::store::sqlite {
namespace {

// How long a connection waits on a lock held by another connection before SQLITE_BUSY. In WAL
// mode readers never wait for the writer; this covers the rare exclusive moments (WAL recovery
// or reset, schema migration by another process) and a second process writing the same file.
constexpr int kBusyTimeoutMs = 5000;

// sqlite3_bind_text/blob with a null pointer binds NULL, not an empty value; the columns are
// NOT NULL, so an empty string_view (whose data() may be null) must point somewhere.
const char* NonNull(std::string_view s) { return s.data() != nullptr ? s.data() : ""; }

}  // namespace

Status SqliteError(int rc, std::string_view op, std::string_view message) {
  std::string text = std::string(op) + ": " + std::string(message);
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Status::Conflict(std::move(text));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Status::NotFound(std::move(text));
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return Status::InvalidArgument(std::move(text));
    default:
      return Status::Internal(std::move(text));
  }
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      op_(other.op_),
      bind_error_(other.bind_error_),
      last_error_code_(other.last_error_code_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

Statement& Statement::BindText(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_, index, NonNull(value), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  NoteBind(sqlite3_bind_blob64(stmt_, index, NonNull(bytes), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::BindTextNoCopy(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_, index, NonNull(value), value.size(), SQLITE_STATIC,
                               SQLITE_UTF8));
  return *this;
}

Statement& Statement::BindBlobNoCopy(int index, std::string_view bytes) {
  NoteBind(sqlite3_bind_blob64(stmt_, index, NonNull(bytes), bytes.size(), SQLITE_STATIC));
  return *this;
}

Statement& Statement::BindInt64(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Statement& Statement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    last_error_code_ = bind_error_;
    return SqliteError(bind_error_, op_, std::string("bind: ") + sqlite3_errstr(bind_error_));
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  last_error_code_ = rc;
  return connection_->Error(rc, op_);
}

Status Statement::Run() {
  for (;;) {
    TRIGGERD_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);  // after the conversion, as SQLite requires
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
}

std::string Statement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  return data != nullptr ? std::string(static_cast<const char*>(data), size) : std::string();
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const std::string& vfs, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 hands back a handle even on most failures; it carries the message.
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return SqliteError(rc, "open " + path, message);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  // Every statement is finalized, so sqlite3_close cannot fail with SQLITE_BUSY; when this is the
  // last connection it checkpoints the WAL into the database file and removes it.
  sqlite3_close(db_);
}

Status Connection::Error(int rc, std::string_view op) const {
  return SqliteError(rc, op, sqlite3_errmsg(db_));
}

Result<Statement> Connection::Prepare(std::string_view sql, std::string_view op) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, op);
    it = statements_.emplace(std::string(sql), stmt).first;
  }
  return Statement(this, it->second, op);
}

Status Connection::Exec(const std::string& sql, std::string_view op) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  Status status = SqliteError(rc, op, message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return status;
}

Result<int64_t> Connection::QueryInt64(const std::string& sql, std::string_view op) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, op);
  rc = sqlite3_step(stmt);
  Result<int64_t> result =
      rc == SQLITE_ROW
          ? Result<int64_t>(sqlite3_column_int64(stmt, 0))
          : Result<int64_t>(rc == SQLITE_DONE ? Status::Internal(std::string(op) + ": no row")
                                              : Error(rc, op));
  sqlite3_finalize(stmt);
  return result;
}

Result<std::string> Connection::QueryText(const std::string& sql, std::string_view op) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, op);
  rc = sqlite3_step(stmt);
  Result<std::string> result = Status::Internal(std::string(op) + ": no row");
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    result = std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  } else if (rc != SQLITE_DONE) {
    result = Error(rc, op);
  }
  sqlite3_finalize(stmt);
  return result;
}

}  // namespace triggerd::store::sqlite
