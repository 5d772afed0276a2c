// A thin RAII layer over libpq: PgResult owns a PGresult, PgConnection owns a PGconn, Params
// carries the parameters of one statement (every value is bound as a parameter, never spliced
// into SQL), and ConnectionPool lends connections to one caller at a time.
//
// Parameters are sent in binary format with their types declared (text, bytea, int8, bool), so
// text needs no escaping and embedded NUL bytes are refused by the server instead of being cut
// by C strings; results come back as text (PgResult decodes int8, bool and bytea).
//
// Internal to store/postgres. Thread safety: a PgConnection (and what it returns) is used by one
// thread at a time; ConnectionPool is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace triggerd::store::postgres {

// The parameters of one statement, $1.. in the order added.
class Params {
 public:
  Params& Text(std::string_view value);
  Params& Bytes(std::string_view value);  // bytea
  Params& Int64(int64_t value);
  Params& Bool(bool value);
  Params& NullInt64();  // an int8 NULL
  Params& OptInt64(const std::optional<int64_t>& value) {
    return value ? Int64(*value) : NullInt64();
  }

  int size() const { return static_cast<int>(types_.size()); }
  const unsigned int* types() const { return types_.data(); }
  // Valid until the next Add: pointers into values_.
  std::vector<const char*> values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void Add(unsigned int type, std::string bytes, bool null = false);

  std::vector<unsigned int> types_;
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const;
  // Rows an INSERT/UPDATE/DELETE touched (PQcmdTuples), 0 when it does not say.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  int64_t Int64(int row, int column) const;  // 0 for NULL
  bool Bool(int row, int column) const;
  std::string Bytes(int row, int column) const;  // a bytea column, decoded
  std::optional<int64_t> OptInt64(int row, int column) const {
    if (IsNull(row, column)) return std::nullopt;
    return Int64(row, column);
  }
  PGresult* get() const { return result_; }

 private:
  PGresult* result_ = nullptr;
};

// The Status of a failed statement, from its SQLSTATE: unique violation -> kConflict; foreign key
// violation -> kNotFound (a row refers to an unknown workspace); check / not-null violation or
// text that is not valid in the database encoding -> kInvalidArgument; anything else (including
// a lost connection) -> kInternal. The message is "<op>: <server message>".
Status PgError(const PGresult* result, PGconn* conn, std::string_view op);

class PgConnection {
 public:
  // Connects with `url` (a URI or key/value string) and application_name. Sets the session's
  // time zone to UTC (nothing depends on it: times are int64 micros) and READ COMMITTED.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url,
                                                       const std::string& application_name);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with parameters. A failed statement is its Status (see PgError).
  Result<PgResult> Exec(std::string_view sql, const Params& params, std::string_view op);
  // Runs one or more statements without parameters (BEGIN, COMMIT, DDL).
  Status Exec(std::string_view sql, std::string_view op);
  // Rolls back whatever transaction is open (best effort; the first error is what callers report).
  void RollbackQuietly();

  // False once the connection is lost (or marked broken, or left in pipeline mode); such a
  // connection must not be reused: the pool closes it when it comes back.
  bool healthy() const;
  // For a caller that left the protocol in a state it cannot vouch for (a half-sent pipeline).
  void MarkBroken() { broken_ = true; }
  // True while a transaction block is open (or failed) on this connection.
  bool in_transaction() const;
  PGconn* raw() const { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_;
  bool broken_ = false;
};

// At most `size` connections, opened on demand and kept open. Borrow waits at most
// `borrow_timeout` for one to come back (kUnavailable after that). A connection that comes back
// broken (lost, or left inside a transaction) is closed rather than lent again; the next borrow
// opens a fresh one. Close() refuses new borrows (kUnavailable) and waits for lent connections to
// come back before closing them all.
class ConnectionPool {
 public:
  ConnectionPool(std::string url, std::string application_name, int size,
                 std::chrono::milliseconds borrow_timeout);
  ~ConnectionPool();

  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<PgConnection> conn_;
  };

  Result<Lease> Borrow();
  void Close();

 private:
  void Return(std::unique_ptr<PgConnection> conn);

  const std::string url_;
  const std::string application_name_;
  const int size_;
  const std::chrono::milliseconds borrow_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                     // guarded by mu_: idle + lent + opening
  bool closed_ = false;                              // guarded by mu_
};

}  // namespace triggerd::store::postgres
