#include "store/postgres/migrations.h"

#include <string>

#include "store/postgres/connection.h"
#include "store/postgres/embedded_schema.h"  // generated from src/store/schema/postgres/*.sql

namespace triggerd::store::postgres {
namespace {

Status Migrate(PgConnection& db, std::span<const Migration> migrations) {
  const int64_t latest = migrations.empty() ? 0 : migrations.back().version;
  TRIGGERD_ASSIGN_OR_RETURN(PgResult tables, db.Exec(
      "SELECT count(*), count(*) FILTER (WHERE table_name = 'triggerd_schema_migrations') "
      "FROM information_schema.tables WHERE table_schema = current_schema()",
      Params(), "inspect schema"));
  const int64_t table_count = tables.Int64(0, 0);
  const bool versioned = tables.Int64(0, 1) > 0;
  if (!versioned && table_count > 0) {
    return Status::Internal("the schema has tables but no triggerd schema version",
                            "not_triggerd_database");
  }
  if (!versioned) {
    TRIGGERD_RETURN_IF_ERROR(db.Exec(
        "CREATE TABLE triggerd_schema_migrations ("
        "  version     INTEGER NOT NULL PRIMARY KEY,"
        "  name        TEXT    NOT NULL,"
        "  applied_at  BIGINT  NOT NULL)",
        "create schema version table"));
  }
  TRIGGERD_ASSIGN_OR_RETURN(PgResult current, db.Exec(
      "SELECT coalesce(max(version), 0) FROM triggerd_schema_migrations", Params(),
      "read schema version"));
  const int64_t version = current.Int64(0, 0);
  if (version > latest) {
    return Status::Internal("database schema version " + std::to_string(version) +
                                " is newer than this binary knows (" + std::to_string(latest) +
                                "); upgrade triggerd",
                            "schema_too_new");
  }
  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    Status s = db.Exec(m.sql, "apply migration " + std::string(m.name));
    if (!s.ok()) return Status::Internal(s.message());  // a broken migration is never a conflict
    TRIGGERD_ASSIGN_OR_RETURN(PgResult recorded, db.Exec(
        "INSERT INTO triggerd_schema_migrations (version, name, applied_at) "
        "VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)",
        Params().Int64(m.version).Text(m.name), "record schema version"));
  }
  return Status::Ok();
}

}  // namespace

std::span<const Migration> BuiltinMigrations() { return kEmbeddedMigrations; }

Status ApplyMigrations(PgConnection& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::Internal("migration " + std::string(migrations[i].name) +
                              " is out of order (expected version " + std::to_string(i + 1) + ")");
    }
  }
  TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN", "begin migration"));
  // Held until COMMIT/ROLLBACK. Taken before anything is read, so a second node waits here and
  // then reads the version the first one committed.
  Result<PgResult> locked = db.Exec("SELECT pg_advisory_xact_lock($1)",
                                    Params().Int64(kMigrationLockKey), "lock for migration");
  Status s = locked ? Migrate(db, migrations) : locked.error();
  if (s.ok()) s = db.Exec("COMMIT", "commit migration");
  if (!s.ok()) db.RollbackQuietly();  // the first error is the one to report
  return s;
}

}  // namespace triggerd::store::postgres
