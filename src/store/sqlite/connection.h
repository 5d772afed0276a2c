// A thin RAII layer over the SQLite C API: a Connection owns a sqlite3* and a cache of prepared
// statements; a Statement borrows one cached statement and resets it when it goes out of scope.
//
// Internal to store/sqlite. Thread safety: a Connection (and its Statements) is used by one thread
// at a time; it is opened with SQLITE_OPEN_NOMUTEX, so the caller provides the exclusion (the
// writer thread owns the writer connection; readers lease connections from a pool).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "common/result.h"
#include "common/status.h"

namespace triggerd::store::sqlite {

class Connection;

// A prepared statement borrowed from a Connection's cache. Resetting on destruction matters
// beyond hygiene: a statement left mid-step keeps its read transaction open, which would pin an
// old WAL snapshot and stop checkpoints.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based. A bind error is remembered and returned by the next Step().
  // Text and blobs are copied (SQLITE_TRANSIENT), so the arguments need not outlive the call.
  Statement& BindText(int index, std::string_view value);
  Statement& BindBlob(int index, std::string_view bytes);
  // Not copied (SQLITE_STATIC), for large values on the hot path (an event's body and headers).
  // REQUIRES: the bytes stay valid and unchanged until this Statement is destroyed (which resets
  // it and clears its bindings).
  Statement& BindTextNoCopy(int index, std::string_view value);
  Statement& BindBlobNoCopy(int index, std::string_view bytes);
  Statement& BindInt64(int index, int64_t value);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done; an error names `op_`.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();

  // Columns are 0-based; valid only after Step() returned true.
  int64_t ColumnInt64(int index) const;
  bool ColumnIsNull(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;

  // The SQLite extended result code of the last failed Step() (SQLITE_OK when none).
  int last_error_code() const { return last_error_code_; }

 private:
  friend class Connection;
  Statement(Connection* connection, sqlite3_stmt* stmt, std::string_view op)
      : connection_(connection), stmt_(stmt), op_(op) {}
  void NoteBind(int rc);

  Connection* connection_;
  sqlite3_stmt* stmt_;   // owned by the Connection's cache
  std::string_view op_;  // names the operation in error messages; points at a literal
  int bind_error_ = SQLITE_OK;
  int last_error_code_ = SQLITE_OK;
};

// What a row callback of ForEachRow answers when it may end the scan early.
enum class RowScan { kNext, kStop };

// Steps `st` through its rows and calls `on_row(const Statement&)` on each: the one loop over
// Step() of the store. `on_row` returns void, a Status (non-OK ends the scan and is returned), or
// a Result<RowScan> (kStop ends the scan early, with OK; an error ends it with that error). A scan
// ended early leaves the statement mid-step until it is destroyed (which resets it).
template <typename OnRow>
Status ForEachRow(Statement& st, OnRow&& on_row) {
  using Answer = std::invoke_result_t<OnRow&, const Statement&>;
  for (;;) {
    TRIGGERD_ASSIGN_OR_RETURN(const bool has_row, st.Step());
    if (!has_row) return Status::Ok();
    const Statement& row = st;
    if constexpr (std::is_void_v<Answer>) {
      on_row(row);
    } else if constexpr (std::is_same_v<Answer, Status>) {
      TRIGGERD_RETURN_IF_ERROR(on_row(row));
    } else {
      static_assert(std::is_same_v<Answer, Result<RowScan>>,
                    "a row callback returns void, Status or Result<RowScan>");
      TRIGGERD_ASSIGN_OR_RETURN(const RowScan next, on_row(row));
      if (next == RowScan::kStop) return Status::Ok();
    }
  }
}

class Connection {
 public:
  // Opens `path` (created when `create`), with `vfs` ("" = default). Sets busy_timeout and turns
  // on extended result codes; pragmas are the caller's business.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const std::string& vfs,
                                                  bool create);
  ~Connection();  // finalizes every cached statement, then closes
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares `sql` once per connection and hands out the cached statement. `sql` must be a
  // single statement; `op` (a string literal) names the operation in error messages.
  Result<Statement> Prepare(std::string_view sql, std::string_view op);
  // Runs one or more statements without results or parameters (pragmas, BEGIN, COMMIT, DDL).
  Status Exec(const std::string& sql, std::string_view op);
  // Runs a single-row, single-column query (e.g. "PRAGMA user_version") and returns the value.
  Result<int64_t> QueryInt64(const std::string& sql, std::string_view op);
  Result<std::string> QueryText(const std::string& sql, std::string_view op);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const { return sqlite3_changes64(db_); }
  // True while a transaction is open (false in autocommit mode).
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* db() const { return db_; }

  // The Status for a failed SQLite call: kConflict for a unique or primary-key clash, kNotFound
  // for a foreign-key failure (a row refers to an unknown workspace), kInternal otherwise. The
  // message is "<op>: <sqlite message>".
  Status Error(int rc, std::string_view op) const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  // Lets the cache be probed with a string_view, without building a std::string per lookup.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  sqlite3* db_;
  // SQL text -> prepared statement.
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> statements_;
};

// The Status for a SQLite result code when no connection is at hand (e.g. sqlite3_open failed).
Status SqliteError(int rc, std::string_view op, std::string_view message);

}  // namespace triggerd::store::sqlite
