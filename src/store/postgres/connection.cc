#include "store/postgres/connection.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace triggerd::store::postgres {
namespace {

// Type OIDs of pg_type (stable across PostgreSQL versions).
constexpr unsigned int kBoolOid = 16;
constexpr unsigned int kByteaOid = 17;
constexpr unsigned int kInt8Oid = 20;
constexpr unsigned int kTextOid = 25;

std::string BigEndian64(int64_t value) {
  std::string out(8, '\0');
  uint64_t v = static_cast<uint64_t>(value);
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

// Server NOTICEs (e.g. from DDL) are not errors; libpq would print them on stderr.
void IgnoreNotice(void*, const char*) {}

std::string TrimmedMessage(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

// ---- Params ----

void Params::Add(unsigned int type, std::string bytes, bool null) {
  types_.push_back(type);
  lengths_.push_back(static_cast<int>(bytes.size()));
  formats_.push_back(1);
  nulls_.push_back(null);
  values_.push_back(std::move(bytes));
}

Params& Params::Text(std::string_view value) {
  Add(kTextOid, std::string(value));
  return *this;
}
Params& Params::Bytes(std::string_view value) {
  Add(kByteaOid, std::string(value));
  return *this;
}
Params& Params::Int64(int64_t value) {
  Add(kInt8Oid, BigEndian64(value));
  return *this;
}
Params& Params::Bool(bool value) {
  Add(kBoolOid, std::string(1, value ? '\1' : '\0'));
  return *this;
}
Params& Params::NullInt64() {
  Add(kInt8Oid, std::string(), true);
  return *this;
}

std::vector<const char*> Params::values() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    out.push_back(nulls_[i] ? nullptr : values_[i].data());
  }
  return out;
}

// ---- PgResult ----

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}

int PgResult::rows() const { return result_ != nullptr ? PQntuples(result_) : 0; }

int64_t PgResult::affected() const {
  if (result_ == nullptr) return 0;
  const char* n = PQcmdTuples(result_);
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

bool PgResult::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string PgResult::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t PgResult::Int64(int row, int column) const {
  if (IsNull(row, column)) return 0;
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

bool PgResult::Bool(int row, int column) const {
  const char* v = PQgetvalue(result_, row, column);
  return v != nullptr && v[0] == 't';
}

std::string PgResult::Bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &length);
  if (bytes == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

// ---- Errors ----

Status PgError(const PGresult* result, PGconn* conn, std::string_view op) {
  std::string message =
      result != nullptr ? TrimmedMessage(PQresultErrorMessage(result)) : std::string();
  if (message.empty() && conn != nullptr) message = TrimmedMessage(PQerrorMessage(conn));
  if (message.empty()) message = "unknown error";
  std::string text = std::string(op) + ": " + message;
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state != nullptr ? state : "";
  if (sqlstate == "23505") return Status::Conflict(std::move(text));
  if (sqlstate == "23503") return Status::NotFound(std::move(text));
  if (sqlstate == "23514" || sqlstate == "23502" || sqlstate == "22021" ||
      sqlstate == "22P05") {
    return Status::InvalidArgument(std::move(text));
  }
  return Status::Internal(std::move(text));
}

// ---- PgConnection ----

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url,
                                                            const std::string& application_name) {
  // expand_dbname: `dbname` may be a whole URI or key/value string; application_name given here
  // overrides one in the URL.
  const char* keywords[] = {"dbname", "application_name", nullptr};
  const char* values[] = {url.c_str(), application_name.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return Status::Internal("connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Status::Internal("connect to PostgreSQL: " + TrimmedMessage(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  PQsetNoticeProcessor(conn, &IgnoreNotice, nullptr);
  std::unique_ptr<PgConnection> c(new PgConnection(conn));
  // The store's row locks and advisory locks assume READ COMMITTED (docs/storage.md); a server
  // default of another level must not change that.
  TRIGGERD_RETURN_IF_ERROR(
      c->Exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
              "connect to PostgreSQL"));
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<PgResult> PgConnection::Exec(std::string_view sql, const Params& params,
                                    std::string_view op) {
  const std::string text(sql);
  std::vector<const char*> values = params.values();
  PgResult result(PQexecParams(conn_, text.c_str(), params.size(), params.types(), values.data(),
                               params.lengths(), params.formats(), 0));
  const ExecStatusType status =
      result.get() != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PgError(result.get(), conn_, op);
  }
  return result;
}

Status PgConnection::Exec(std::string_view sql, std::string_view op) {
  const std::string text(sql);
  PgResult result(PQexec(conn_, text.c_str()));
  const ExecStatusType status =
      result.get() != nullptr ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PgError(result.get(), conn_, op);
  }
  return Status::Ok();
}

void PgConnection::RollbackQuietly() {
  if (in_transaction() && healthy()) PgResult(PQexec(conn_, "ROLLBACK"));
}

bool PgConnection::healthy() const {
  return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQpipelineStatus(conn_) == PQ_PIPELINE_OFF;
}

bool PgConnection::in_transaction() const {
  const PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

// ---- ConnectionPool ----

ConnectionPool::ConnectionPool(std::string url, std::string application_name, int size,
                               std::chrono::milliseconds borrow_timeout)
    : url_(std::move(url)),
      application_name_(std::move(application_name)),
      size_(size < 1 ? 1 : size),
      borrow_timeout_(borrow_timeout) {}

ConnectionPool::~ConnectionPool() { Close(); }

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
    other.pool_ = nullptr;
  }
  return *this;
}

Result<ConnectionPool::Lease> ConnectionPool::Borrow() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    const bool ready = cv_.wait_for(lock, borrow_timeout_, [this] {
      return closed_ || !idle_.empty() || open_ < size_;
    });
    if (closed_) return Status::Unavailable("store: the store is closed");
    if (!ready) {
      return Status::Unavailable("store: no database connection came free within " +
                                 std::to_string(borrow_timeout_.count()) + " ms");
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // a slot for the connection opened below, outside the lock
  }
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_, application_name_);
  if (!conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
    }
    cv_.notify_one();
    return conn.error();
  }
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::Return(std::unique_ptr<PgConnection> conn) {
  // Never lent again broken: a lost connection, or one a caller left inside a transaction
  // (which would make the next borrower's statements part of it).
  if (conn->healthy() && conn->in_transaction()) conn->RollbackQuietly();
  const bool keep = conn->healthy() && !conn->in_transaction();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (keep && !closed_) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_all();
  // A connection not kept closes here, outside the lock.
}

void ConnectionPool::Close() {
  std::vector<std::unique_ptr<PgConnection>> idle;
  {
    std::unique_lock<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
    // Calls in progress finish with the connection they hold; wait for them to come back.
    cv_.wait(lock, [this] { return open_ == static_cast<int>(idle_.size()); });
    idle.swap(idle_);
    open_ = 0;
  }
}

}  // namespace triggerd::store::postgres
