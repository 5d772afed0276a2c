#include "store_backend.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string_view>
#include <thread>

namespace triggerd::store::testing {
namespace {

constexpr char kHowToSet[] =
    "PostgreSQL store tests need a server: start one with "
    "`bash scripts/pg_cluster.sh start /tmp/pg 55433` and export "
    "TRIGGERD_TEST_PG_URL=postgres://triggerd@127.0.0.1:55433/triggerd";

class SqliteBackend final : public StoreBackend {
 public:
  SqliteBackend() : path_((dir_.path() / "triggerd.db").string()) {}
  ~SqliteBackend() override {
    if (raw_ != nullptr) sqlite3_close(raw_);
  }

  std::string_view name() const override { return "sqlite"; }

  Result<std::unique_ptr<Store>> Open(const BackendOptions& o) override {
    SqliteOptions options;
    options.path = path_;
    options.max_batch_events = o.max_batch_events;
    options.checkpoint_wal_pages = o.checkpoint_wal_pages;
    options.restart_wal_pages = o.restart_wal_pages;
    options.vfs = o.vfs;
    options.clock = o.clock;
    options.master_key = o.master_key;
    options.previous_master_keys = o.previous_master_keys;
    return OpenSqliteStore(options);
  }

  void Exec(const std::string& sql) override {
    sqlite3* db = Raw();
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
    sqlite3_free(err);
  }

  std::string Text(const std::string& sql) override {
    sqlite3* db = Raw();
    sqlite3_stmt* st = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db) << " in " << sql;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    } else {
      ADD_FAILURE() << "no row: " << sql;
    }
    sqlite3_finalize(st);
    return out;
  }

  std::string location() const override { return path_; }

 private:
  // One connection, kept open like a reader holding a copy of the file would (it keeps the WAL
  // around between the store's opens, as the tests expect).
  sqlite3* Raw() {
    if (raw_ == nullptr) {
      EXPECT_EQ(sqlite3_open(path_.c_str(), &raw_), SQLITE_OK);
      sqlite3_busy_timeout(raw_, 5000);
    }
    return raw_;
  }

  triggerd::testing::TempDir dir_;
  std::string path_;
  sqlite3* raw_ = nullptr;
};

class PostgresBackend final : public StoreBackend {
 public:
  explicit PostgresBackend(std::string server_url) : server_url_(std::move(server_url)) {
    std::random_device rd;
    std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    schema_ = "t_";
    for (int i = 0; i < 16; ++i) schema_ += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
    url_ = WithPgOptions(server_url_, "-csearch_path%3D" + schema_);
    admin_ = PQconnectdb(server_url_.c_str());
    if (PQstatus(admin_) != CONNECTION_OK) {
      ADD_FAILURE() << "connect to " << server_url_ << ": " << PQerrorMessage(admin_);
      return;
    }
    PQsetNoticeProcessor(admin_, [](void*, const char*) {}, nullptr);  // DROP … CASCADE's notice
    Run(admin_, "CREATE SCHEMA " + schema_);
  }

  ~PostgresBackend() override {
    if (raw_ != nullptr) PQfinish(raw_);
    if (PQstatus(admin_) == CONNECTION_OK) DropSchema();
    PQfinish(admin_);
  }

  std::string_view name() const override { return "postgres"; }

  Result<std::unique_ptr<Store>> Open(const BackendOptions& o) override {
    PostgresOptions options;
    options.url = url_;
    options.max_batch_events = o.max_batch_events;
    options.clock = o.clock;
    options.master_key = o.master_key;
    options.previous_master_keys = o.previous_master_keys;
    options.pool_size = o.pool_size;
    options.application_name = o.application_name;
    return OpenPostgresStore(options);
  }

  void Exec(const std::string& sql) override { Run(Raw(), sql); }

  std::string Text(const std::string& sql) override {
    PGresult* r = PQexec(Raw(), sql.c_str());
    std::string out;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
      ADD_FAILURE() << "no row: " << sql << ": " << PQresultErrorMessage(r);
    } else {
      out = PQgetvalue(r, 0, 0);
    }
    PQclear(r);
    return out;
  }

  std::string location() const override { return url_; }

 private:
  PGconn* Raw() {
    if (raw_ == nullptr) {
      raw_ = PQconnectdb(url_.c_str());
      EXPECT_EQ(PQstatus(raw_), CONNECTION_OK) << PQerrorMessage(raw_);
    }
    return raw_;
  }

  // A test's triggerd processes may have just been stopped or killed: the server can still be
  // ending their sessions, which hold locks on the schema's tables, and DROP … CASCADE then
  // meets them in a deadlock (40P01) that ends once those sessions are gone. Retried for up to
  // 10 s; any other error fails the test.
  void DropSchema() {
    const std::string sql = "DROP SCHEMA " + schema_ + " CASCADE";
    for (int attempt = 0;; ++attempt) {
      PGresult* r = PQexec(admin_, sql.c_str());
      const ExecStatusType s = PQresultStatus(r);
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      const bool transient = state != nullptr && (std::string_view(state) == "40P01" ||
                                                  std::string_view(state) == "55P03");
      if (s == PGRES_COMMAND_OK || !transient || attempt == 100) {
        EXPECT_EQ(s, PGRES_COMMAND_OK) << PQresultErrorMessage(r) << " in " << sql;
        PQclear(r);
        return;
      }
      PQclear(r);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  static void Run(PGconn* conn, const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType s = PQresultStatus(r);
    EXPECT_TRUE(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        << PQresultErrorMessage(r) << " in " << sql;
    PQclear(r);
  }

  std::string server_url_;
  std::string schema_;
  std::string url_;
  PGconn* admin_ = nullptr;
  PGconn* raw_ = nullptr;
};

}  // namespace

std::string TestPostgresUrl() {
  const char* url = std::getenv("TRIGGERD_TEST_PG_URL");
  return url != nullptr ? url : "";
}

std::string WithPgOptions(const std::string& url, std::string_view options) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=" +
         std::string(options);
}

std::unique_ptr<StoreBackend> StoreBackend::Create(std::string_view name, std::string* why) {
  if (name == "sqlite") return std::make_unique<SqliteBackend>();
  if (name == "postgres") {
    std::string url = TestPostgresUrl();
    if (url.empty()) {
      *why = kHowToSet;
      return nullptr;
    }
    return std::make_unique<PostgresBackend>(url);
  }
  *why = "unknown store backend " + std::string(name);
  return nullptr;
}

std::vector<std::string> BackendNames() { return {"sqlite", "postgres"}; }

std::string BackendParamName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

std::unique_ptr<StoreBackend> RequireBackend(std::string_view name) {
  std::string why;
  std::unique_ptr<StoreBackend> backend = StoreBackend::Create(name, &why);
  if (backend != nullptr) return backend;
  const char* ci = std::getenv("CI");
  // Recorded as the test's own result (fatal failure or skip), so its body does not run; the
  // GTEST_SKIP()/FAIL() macros would `return` from this function instead of the test.
  if (ci != nullptr && std::string_view(ci) == "true") {
    const std::string message = why + " (CI=true: these tests must not be skipped)";
    GTEST_MESSAGE_AT_(__FILE__, __LINE__, message.c_str(),
                      ::testing::TestPartResult::kFatalFailure);
  } else {
    GTEST_MESSAGE_AT_(__FILE__, __LINE__, why.c_str(), ::testing::TestPartResult::kSkip);
  }
  return nullptr;
}

}  // namespace triggerd::store::testing
