#include "store/sqlite/secrets.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/connection.h"

namespace triggerd::store::sqlite {
namespace {

struct PendingSeal {
  const SealedColumn* column;
  std::string row_id;
  std::string stored;     // what the scan read: the compare of the compare-and-set
  std::string plaintext;  // what to seal under the master key
};

// Reads the sealed columns of `table`: checks the sealed values, collects the plaintext ones and
// those sealed under a previous key.
Status ScanTable(Connection& db, const SecretCodec& codec, std::string_view table,
                 std::vector<PendingSeal>* pending) {
  std::vector<const SealedColumn*> columns;
  std::string sql = "SELECT id";
  for (const SealedColumn& column : kSealedColumns) {
    if (column.table != table) continue;
    columns.push_back(&column);
    sql.append(", ").append(column.column);
  }
  sql.append(" FROM ").append(table);
  TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "read secrets at open"));
  return ForEachRow(st, [&](const Statement& row) -> Status {
    const std::string id = row.ColumnText(0);
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string stored = row.ColumnText(static_cast<int>(i) + 1);
      std::optional<std::string> to_seal;
      TRIGGERD_RETURN_IF_ERROR(codec.CheckStored(*columns[i], id, stored, &to_seal));
      if (to_seal) pending->push_back({columns[i], id, std::move(stored), std::move(*to_seal)});
    }
    return Status::Ok();
  });
}

Status SealPending(Connection& db, const SecretCodec& codec,
                   const std::vector<PendingSeal>& pending) {
  for (const PendingSeal& p : pending) {
    // Compare-and-set on what was read: the row is rewritten only if it still holds it.
    std::string sql;
    sql.append("UPDATE ").append(p.column->table).append(" SET ").append(p.column->column);
    sql.append(" = ?1 WHERE id = ?2 AND ").append(p.column->column).append(" = ?3");
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "seal secrets at open"));
    st.BindText(1, codec.Seal(*p.column, p.row_id, p.plaintext))
        .BindText(2, p.row_id)
        .BindText(3, p.stored);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
  }
  return Status::Ok();
}

}  // namespace

Status SealSecretsAtRest(Connection& db, const SecretCodec& codec, int* sealed) {
  if (sealed != nullptr) *sealed = 0;
  // Restored afterwards: SQLite may be built with secure_delete on by default.
  TRIGGERD_ASSIGN_OR_RETURN(int64_t secure_delete, db.QueryInt64("PRAGMA secure_delete", "seal secrets at open"));
  const std::string restore_secure_delete =
      "PRAGMA secure_delete = " + std::to_string(secure_delete);
  std::vector<PendingSeal> pending;
  TRIGGERD_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "seal secrets at open"));
  Status status = [&]() -> Status {
    std::string_view last_table;
    for (const SealedColumn& column : kSealedColumns) {
      if (column.table == last_table) continue;  // grouped by table: one scan per table
      last_table = column.table;
      TRIGGERD_RETURN_IF_ERROR(ScanTable(db, codec, column.table, &pending));
    }
    if (pending.empty()) return Status::Ok();
    // Zeroes the cells the updates free, in this transaction; VACUUM below does the rest.
    TRIGGERD_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete = ON", "seal secrets at open"));
    return SealPending(db, codec, pending);
  }();
  if (!status.ok()) {
    (void)db.Exec("ROLLBACK", "seal secrets at open");
    (void)db.Exec(restore_secure_delete, "seal secrets at open");
    return status;
  }
  TRIGGERD_RETURN_IF_ERROR(db.Exec("COMMIT", "seal secrets at open"));
  if (pending.empty()) return Status::Ok();
  TRIGGERD_RETURN_IF_ERROR(db.Exec(restore_secure_delete, "seal secrets at open"));
  TRIGGERD_RETURN_IF_ERROR(db.Exec("VACUUM", "rewrite the database after sealing secrets"));
  // TRUNCATE: every WAL frame (those of the VACUUM, and older ones that held plaintext pages)
  // is copied into the database file and the WAL is cut to zero bytes. The store is opening:
  // no other connection of ours reads, so nothing keeps the checkpoint from completing.
  TRIGGERD_ASSIGN_OR_RETURN(int64_t busy, db.QueryInt64("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint after sealing"));
  if (busy != 0) {
    return Status::Internal(
        "checkpoint after sealing secrets: the database is busy (another "
        "process has it open?)");
  }
  if (sealed != nullptr) *sealed = static_cast<int>(pending.size());
  return Status::Ok();
}

}  // namespace triggerd::store::sqlite
