#include "store/sqlite/migrations.h"

#include <string>

#include "store/sqlite/connection.h"
#include "store/sqlite/embedded_schema.h"  // generated from src/store/schema/*.sql

namespace triggerd::store::sqlite {
namespace {

Status Migrate(Connection& db, std::span<const Migration> migrations) {
  TRIGGERD_ASSIGN_OR_RETURN(int64_t version, db.QueryInt64("PRAGMA user_version", "read schema version"));
  TRIGGERD_ASSIGN_OR_RETURN(int64_t app_id, db.QueryInt64("PRAGMA application_id", "read application id"));
  const int64_t latest = migrations.empty() ? 0 : migrations.back().version;

  if (version > latest) {
    return Status::Internal("database schema version " + std::to_string(version) +
                                " is newer than this binary knows (" + std::to_string(latest) +
                                "); upgrade triggerd",
                            "schema_too_new");
  }
  if (version == 0) {
    // A fresh file has no tables; anything else at version 0 belongs to someone else.
    TRIGGERD_ASSIGN_OR_RETURN(int64_t tables, db.QueryInt64("SELECT count(*) FROM sqlite_schema", "inspect new database"));
    if (tables != 0) {
      return Status::Internal("the file has tables but no triggerd schema version",
                              "not_triggerd_database");
    }
  } else if (app_id != kApplicationId) {
    return Status::Internal(
        "the file is a SQLite database of another application (id " + std::to_string(app_id) + ")",
        "not_triggerd_database");
  }

  for (const Migration& m : migrations) {
    if (m.version <= version) continue;
    const std::string op = "apply migration " + std::string(m.name);
    Status s = db.Exec(std::string(m.sql), op);
    if (!s.ok()) return Status::Internal(s.message());  // a broken migration is never a conflict
    // user_version is part of the database header, so this write commits with the migration.
    TRIGGERD_RETURN_IF_ERROR(
        db.Exec("PRAGMA user_version = " + std::to_string(m.version), "set schema version"));
  }
  return Status::Ok();
}

}  // namespace

std::span<const Migration> BuiltinMigrations() { return kEmbeddedMigrations; }

Status ApplyMigrations(Connection& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Status::Internal("migration " + std::string(migrations[i].name) +
                              " is out of order (expected version " + std::to_string(i + 1) + ")");
    }
  }
  // IMMEDIATE takes the write lock before reading the version, so a second process opening the
  // same file waits (busy_timeout) and then sees the migrated version instead of re-applying.
  TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "begin migration"));
  Status s = Migrate(db, migrations);
  if (s.ok()) s = db.Exec("COMMIT", "commit migration");
  if (!s.ok() && db.in_transaction()) {
    (void)db.Exec("ROLLBACK", "roll back migration");  // the first error is the one to report
  }
  return s;
}

}  // namespace triggerd::store::sqlite
