// The schema migration runner of the PostgreSQL store.
//
// Migration N (src/store/schema/postgres/NNN_*.sql, embedded at build time) takes a schema from
// version N-1 to N. The versions applied are rows of `triggerd_schema_migrations` in the store's
// schema (the first of the connection's search_path). Internal to store/postgres.
// Thread safety: uses the connection it is given, nothing else.
#pragma once

#include <span>
#include <string_view>

#include "common/status.h"

namespace triggerd::store::postgres {

class PgConnection;

struct Migration {
  int version;            // 1, 2, 3, … without gaps
  std::string_view name;  // file name, for error messages
  std::string_view sql;   // one or more statements; no BEGIN/COMMIT (the runner owns the txn)
};

// The migrations built into this binary, in version order.
std::span<const Migration> BuiltinMigrations();

// Brings the schema to the last version in `migrations` (in order, 1..N, no gaps), in one
// transaction holding a transaction-scoped advisory lock (kMigrationLockKey): nodes starting
// together wait for each other, and the second finds the schema migrated and does nothing. A
// crash or error leaves the old version (DDL is transactional in PostgreSQL).
// Errors (the schema untouched): "schema_too_new" when a version above N is recorded (a newer
// binary wrote it); "not_triggerd_database" when the schema has tables but no version table.
// A failing migration: kInternal naming it.
Status ApplyMigrations(PgConnection& connection, std::span<const Migration> migrations);

// pg_advisory_xact_lock key of the migration runner ("TRGDMIGR" as a number; any fixed value
// that no other application on the database uses).
inline constexpr long long kMigrationLockKey = 0x545247444d494752LL;

}  // namespace triggerd::store::postgres
