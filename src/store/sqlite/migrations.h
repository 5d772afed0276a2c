// The schema migration runner of the SQLite store.
//
// The schema version lives in `PRAGMA user_version`; migration N (src/store/schema/NNN_*.sql,
// embedded into the binary at build time) takes a database from version N-1 to N. A triggerd
// database is marked with `PRAGMA application_id` = kApplicationId (set by migration 1).
// Internal to store/sqlite. Thread safety: uses the connection it is given, nothing else.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"

namespace triggerd::store::sqlite {

class Connection;

// 0x54524744, "TRGD". Mirror of the PRAGMA in schema/001_init.sql.
inline constexpr int64_t kApplicationId = 0x54524744;

struct Migration {
  int version;            // 1, 2, 3, … without gaps
  std::string_view name;  // file name, for error messages
  std::string_view sql;   // one or more statements; no BEGIN/COMMIT (the runner owns the txn)
};

// The migrations built into this binary, in version order.
std::span<const Migration> BuiltinMigrations();

// Brings the database to the last version in `migrations` (which must be in order, 1..N, no
// gaps). All pending migrations run in one IMMEDIATE transaction, so a crash or error leaves the
// file at its old version and two processes cannot migrate at once.
// Errors (never touching the file): "schema_too_new" when user_version > N (a newer binary wrote
// it; running older code against it could corrupt data), "not_triggerd_database" when the file
// has tables but is not marked as ours. A failing migration: kInternal naming the migration.
Status ApplyMigrations(Connection& connection, std::span<const Migration> migrations);

}  // namespace triggerd::store::sqlite
