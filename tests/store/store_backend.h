// The one seam through which the store contract tests pick a backend: a fresh, empty namespace
// per test — a SQLite file in a temporary directory, or a new schema on the PostgreSQL server
// named by TRIGGERD_TEST_PG_URL (dropped when the backend object dies) — that can be opened any
// number of times (restart tests, two instances on one database), plus raw SQL on it to inspect
// or tamper with what the store wrote.
//
// Parameterised tests run over BackendNames() ({"sqlite", "postgres"}). Without
// TRIGGERD_TEST_PG_URL the PostgreSQL instances skip with a message saying how to set it, except
// under CI=true, where they fail: CI must never skip them silently (RequireBackend).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::store::testing {

struct BackendOptions {
  int max_batch_events = 512;
  std::string master_key = std::string(triggerd::testing::kTestMasterKey);
  std::vector<std::string> previous_master_keys;  // SqliteOptions::previous_master_keys
  const Clock* clock = nullptr;
  // SQLite only.
  std::string vfs;
  int checkpoint_wal_pages = SqliteOptions{}.checkpoint_wal_pages;
  int restart_wal_pages = SqliteOptions{}.restart_wal_pages;
  // PostgreSQL only.
  int pool_size = PostgresOptions{}.pool_size;
  std::string application_name = "triggerd-test";
};

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;

  // "sqlite" or "postgres". nullptr (with `why`) when PostgreSQL is not configured.
  static std::unique_ptr<StoreBackend> Create(std::string_view name, std::string* why);

  virtual std::string_view name() const = 0;
  bool sqlite() const { return name() == "sqlite"; }
  bool postgres() const { return name() == "postgres"; }

  // Opens (a new instance of) the store on this backend's namespace.
  virtual Result<std::unique_ptr<Store>> Open(const BackendOptions& options) = 0;

  // Raw SQL on the namespace, outside the store (the SQL must suit both backends, or the test
  // must ask which one it has). A failure is a test failure.
  virtual void Exec(const std::string& sql) = 0;
  // The first column of the first row as text ("" and a test failure when there is no row).
  virtual std::string Text(const std::string& sql) = 0;
  int64_t Int(const std::string& sql) { return std::stoll("0" + Text(sql)); }

  // SQLite: the database file. PostgreSQL: the URL whose search_path is this namespace.
  virtual std::string location() const = 0;
};

// {"sqlite", "postgres"}, for INSTANTIATE_TEST_SUITE_P.
std::vector<std::string> BackendNames();
// Names parameterised cases after the backend ("…/sqlite", "…/postgres").
std::string BackendParamName(const ::testing::TestParamInfo<std::string>& info);

// Creates the backend for a test's SetUp, or skips/fails it: call as
//   backend_ = RequireBackend(GetParam()); if (backend_ == nullptr) return;
// (GTEST_SKIP without TRIGGERD_TEST_PG_URL; a failure instead when CI=true).
std::unique_ptr<StoreBackend> RequireBackend(std::string_view name);

// The PostgreSQL URL for tests (TRIGGERD_TEST_PG_URL), "" when unset.
std::string TestPostgresUrl();

// Appends `options` (a libpq `options` value, e.g. "-csearch_path=x") to a URI.
std::string WithPgOptions(const std::string& url, std::string_view options);

}  // namespace triggerd::store::testing
