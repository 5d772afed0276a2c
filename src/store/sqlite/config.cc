// SqliteStore: the ConfigStore — workspaces, API keys, sources, agents, triggers and the cursors
// of schedule and poll sources.
#include <string>
#include <utility>

#include "common/clock.h"
#include "store/run_policy.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

namespace {

Status InsertWorkspace(Connection& db, const Workspace& w) {
  TRIGGERD_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("INSERT INTO workspaces (id, name, created_at) VALUES (?1, ?2, ?3)",
                               "create workspace"));
  st.BindText(1, w.id).BindText(2, w.name).BindInt64(3, w.created_at);
  return st.Run();
}

Status InsertApiKey(Connection& db, const ApiKey& k) {
  TRIGGERD_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO api_keys (id, workspace_id, name, role, prefix, hash, created_by, "
                 "created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                 "create api key"));
  st.BindText(1, k.id)
      .BindText(2, k.workspace_id)
      .BindText(3, k.name)
      .BindText(4, RoleName(k.role))
      .BindText(5, k.prefix)
      .BindText(6, k.hash)
      .BindText(7, k.created_by)
      .BindInt64(8, k.created_at);
  if (k.revoked_at) {
    st.BindInt64(9, *k.revoked_at);
  } else {
    st.BindNull(9);
  }
  return st.Run();
}

}  // namespace

// ---- Workspaces ----

Status SqliteStore::CreateWorkspace(const Workspace& w) {
  return Write([&](Connection& db) -> Status { return InsertWorkspace(db, w); });
}

Result<bool> SqliteStore::CreateFirstWorkspace(const Workspace& w, const ApiKey& admin_key) {
  bool created = false;
  // One writer thread applies writes one at a time, so the check and the inserts are atomic;
  // the savepoint Write wraps them in keeps both or neither.
  TRIGGERD_RETURN_IF_ERROR(Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(Statement any,
                              db.Prepare("SELECT 1 FROM workspaces LIMIT 1", "find a workspace"));
    TRIGGERD_ASSIGN_OR_RETURN(bool exists, any.Step());
    if (exists) return Status::Ok();
    TRIGGERD_RETURN_IF_ERROR(InsertWorkspace(db, w));
    TRIGGERD_RETURN_IF_ERROR(InsertApiKey(db, admin_key));
    created = true;
    return Status::Ok();
  }));
  return created;
}

Result<Workspace> SqliteStore::GetWorkspace(std::string_view id) {
  return Read([&](Connection& db) -> Result<Workspace> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(Concat({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = ?1"}),
                   "get workspace"));
    st.BindText(1, id);
    return OneRow<Workspace>(st, ReadWorkspace, "workspace");
  });
}

Result<std::vector<Workspace>> SqliteStore::ListWorkspaces() {
  return Read([&](Connection& db) -> Result<std::vector<Workspace>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kWorkspaceColumns,
                                         " FROM workspaces ORDER BY created_at DESC, rowid DESC"}),
                                 "list workspaces"));
    return CollectRows<Workspace>(st, ReadWorkspace);
  });
}

// ---- API keys ----

Status SqliteStore::CreateApiKey(const ApiKey& k) {
  return Write([&](Connection& db) -> Status { return InsertApiKey(db, k); });
}

Result<ApiKey> SqliteStore::FindApiKeyByHash(std::string_view hash) {
  return Read([&](Connection& db) -> Result<ApiKey> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kApiKeyColumns,
                                         " FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL"}),
                                 "find api key"));
    st.BindText(1, hash);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("api key not found");
    return ReadApiKey(st);
  });
}

Result<std::vector<ApiKey>> SqliteStore::ListApiKeys(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<ApiKey>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            Concat({"SELECT ", kApiKeyColumns,
                    " FROM api_keys WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
            "list api keys"));
    st.BindText(1, workspace_id);
    return CollectRows<ApiKey>(st, ReadApiKey);
  });
}

Status SqliteStore::RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                                 int64_t revoked_at) {
  return Write([&](Connection& db) -> Status {
    // Revoking twice succeeds and keeps the first time: the key is revoked either way.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3) "
                                 "WHERE id = ?1 AND workspace_id = ?2",
                                 "revoke api key"));
    st.BindText(1, key_id).BindText(2, workspace_id).BindInt64(3, revoked_at);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "api key");
  });
}

// ---- Sources ----

Status SqliteStore::CreateSource(const Source& s) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "INSERT INTO sources (id, workspace_id, name, kind, url_secret, enabled, auth_json, "
            "signing_secret, token_hash, allowed_ips, allowed_origins, delivery_id_header, "
            "max_body_bytes, created_by, created_at, updated_at, managed_by, trigger_config) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
            "?18)",
            "create source"));
    st.BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(st, s, secrets_);
    return st.Run();
  });
}

Result<Source> SqliteStore::GetSource(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Source> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kSourceColumns,
                                         " FROM sources WHERE id = ?1 AND workspace_id = ?2"}),
                                 "get source"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("source not found");
    return ReadSource(st, secrets_);
  });
}

Result<std::vector<Source>> SqliteStore::ListSources(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<Source>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            Concat({"SELECT ", kSourceColumns,
                    " FROM sources WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
            "list sources"));
    st.BindText(1, workspace_id);
    return CollectRows<Source>(st,
                               [this](const Statement& row) { return ReadSource(row, secrets_); });
  });
}

Result<std::vector<Source>> SqliteStore::ListAllSources() {
  return Read([&](Connection& db) -> Result<std::vector<Source>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kSourceColumns,
                                         " FROM sources ORDER BY workspace_id, created_at"}),
                                 "list all sources"));
    return CollectRows<Source>(st,
                               [this](const Statement& row) { return ReadSource(row, secrets_); });
  });
}

Status SqliteStore::UpdateSource(const Source& s) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "UPDATE sources SET name = ?3, kind = ?4, url_secret = ?5, enabled = ?6, auth_json = "
            "?7, "
            "signing_secret = ?8, token_hash = ?9, allowed_ips = ?10, allowed_origins = ?11, "
            "delivery_id_header = ?12, max_body_bytes = ?13, created_by = ?14, created_at = ?15, "
            "updated_at = ?16, managed_by = ?17, trigger_config = ?18 "
            "WHERE id = ?1 AND workspace_id = ?2",
            "update source"));
    st.BindText(1, s.id).BindText(2, s.workspace_id);
    BindSourceFields(st, s, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "source");
  });
}

Status SqliteStore::DeleteSource(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    // Its triggers go with it (ON DELETE CASCADE), and, as for DeleteTrigger, their waiting runs
    // are cancelled first, while the triggers still say which runs are theirs.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement cancel,
        db.Prepare("UPDATE runs SET status = 'cancelled', finished_at = ?3, last_error = ?4 "
                   "WHERE workspace_id = ?2 AND status IN ('queued', 'retrying') AND trigger_id IN "
                   "(SELECT id FROM triggers WHERE source_id = ?1 AND workspace_id = ?2)",
                   "cancel runs of deleted source"));
    cancel.BindText(1, id).BindText(2, workspace_id).BindInt64(3, now);
    cancel.BindText(4, kTriggerDeletedError);
    TRIGGERD_RETURN_IF_ERROR(cancel.Run());
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM sources WHERE id = ?1 AND workspace_id = ?2", "delete source"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "source");
  });
}

// ---- Agents ----

Status SqliteStore::CreateAgent(const Agent& a) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO agents (id, workspace_id, name, instructions, target_json, "
                   "signing_secret, "
                   "max_attempts, concurrency, created_by, created_at, updated_at, managed_by) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                   "create agent"));
    st.BindText(1, a.id).BindText(2, a.workspace_id);
    BindAgentFields(st, a, secrets_);
    return st.Run();
  });
}

Result<Agent> SqliteStore::GetAgent(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Agent> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kAgentColumns,
                                         " FROM agents WHERE id = ?1 AND workspace_id = ?2"}),
                                 "get agent"));
    st.BindText(1, id).BindText(2, workspace_id);
    return OneRow<Agent>(
        st, [this](const Statement& row) { return ReadAgent(row, secrets_); }, "agent");
  });
}

Result<std::vector<Agent>> SqliteStore::ListAgents(std::string_view workspace_id) {
  return Read([&](Connection& db) -> Result<std::vector<Agent>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            Concat({"SELECT ", kAgentColumns,
                    " FROM agents WHERE workspace_id = ?1 ORDER BY created_at DESC, rowid DESC"}),
            "list agents"));
    st.BindText(1, workspace_id);
    return CollectRows<Agent>(st,
                              [this](const Statement& row) { return ReadAgent(row, secrets_); });
  });
}

Status SqliteStore::UpdateAgent(const Agent& a) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db.Prepare("UPDATE agents SET name = ?3, instructions = ?4, "
                                         "target_json = ?5, signing_secret = ?6, "
                                         "max_attempts = ?7, concurrency = ?8, created_by = ?9, "
                                         "created_at = ?10, updated_at = ?11, "
                                         "managed_by = ?12 WHERE id = ?1 AND workspace_id = ?2",
                                         "update agent"));
    st.BindText(1, a.id).BindText(2, a.workspace_id);
    BindAgentFields(st, a, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "agent");
  });
}

Status SqliteStore::DeleteAgent(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(bool exists,
                              Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                                     "delete agent", id, workspace_id));
    if (!exists) return Status::NotFound("agent not found");
    // Checked here rather than left to the foreign key, whose failure would read as kNotFound.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement used,
        db.Prepare("SELECT 1 FROM triggers WHERE agent_id = ?1 LIMIT 1", "delete agent"));
    used.BindText(1, id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, used.Step());
    if (row) {
      return Status::Conflict("delete agent: triggers still use it; delete or change them first");
    }
    // Its waiting runs can never be delivered; running ones are left to finish (or, should their
    // lease expire, to be cancelled by the claim that finds them).
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement cancel,
        db.Prepare("UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3 "
                   "WHERE agent_id = ?1 AND status IN ('queued', 'retrying')",
                   "cancel runs of deleted agent"));
    cancel.BindText(1, id).BindInt64(2, now).BindText(3, kAgentDeletedError);
    TRIGGERD_RETURN_IF_ERROR(cancel.Run());
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement del,
        db.Prepare("DELETE FROM agents WHERE id = ?1 AND workspace_id = ?2", "delete agent"));
    del.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(del.Run());
    return RequireChanged(db, "agent");
  });
}

// ---- Triggers ----

namespace {

// A trigger's source and agent must be in its workspace. The foreign keys only know that they
// exist somewhere, and their failure would not say which one is missing.
Status CheckTriggerReferences(Connection& db, const Trigger& t) {
  TRIGGERD_ASSIGN_OR_RETURN(bool source,
                            Exists(db, "SELECT 1 FROM sources WHERE id = ?1 AND workspace_id = ?2",
                                   "check trigger source", t.source_id, t.workspace_id));
  if (!source) return Status::NotFound("source not found");
  TRIGGERD_ASSIGN_OR_RETURN(bool agent,
                            Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                                   "check trigger agent", t.agent_id, t.workspace_id));
  if (!agent) return Status::NotFound("agent not found");
  return Status::Ok();
}

}  // namespace

Status SqliteStore::CreateTrigger(const Trigger& t) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO triggers (id, workspace_id, source_id, agent_id, name, filter, "
                   "event_types, "
                   "include_payload, enabled, created_by, created_at, updated_at, managed_by) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                   "create trigger"));
    st.BindText(1, t.id).BindText(2, t.workspace_id);
    BindTriggerFields(st, t);
    return st.Run();
  });
}

Result<Trigger> SqliteStore::GetTrigger(std::string_view workspace_id, std::string_view id) {
  return Read([&](Connection& db) -> Result<Trigger> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kTriggerColumns,
                                         " FROM triggers WHERE id = ?1 AND workspace_id = ?2"}),
                                 "get trigger"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("trigger not found");
    return ReadTrigger(st);
  });
}

Result<std::vector<Trigger>> SqliteStore::ListTriggers(std::string_view workspace_id,
                                                       std::string_view source_id,
                                                       std::string_view agent_id) {
  // Four shapes; the planner picks triggers_by_source, triggers_by_agent or
  // triggers_by_workspace by the filters present.
  std::string sql = Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE workspace_id = ?1"});
  if (!source_id.empty()) sql += " AND source_id = ?2";
  if (!agent_id.empty()) sql += " AND agent_id = ?3";
  sql += " ORDER BY created_at DESC, rowid DESC";
  return Read([&](Connection& db) -> Result<std::vector<Trigger>> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st, db.Prepare(sql, "list triggers"));
    st.BindText(1, workspace_id);
    if (!source_id.empty()) st.BindText(2, source_id);
    if (!agent_id.empty()) st.BindText(3, agent_id);
    return CollectRows<Trigger>(st, ReadTrigger);
  });
}

Result<std::vector<Trigger>> SqliteStore::ListAllTriggers() {
  return Read([&](Connection& db) -> Result<std::vector<Trigger>> {
    TRIGGERD_ASSIGN_OR_RETURN(Statement st,
                              db.Prepare(Concat({"SELECT ", kTriggerColumns,
                                                 " FROM triggers ORDER BY created_at, rowid"}),
                                         "list all triggers"));
    return CollectRows<Trigger>(st, ReadTrigger);
  });
}

Status SqliteStore::UpdateTrigger(const Trigger& t) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("UPDATE triggers SET source_id = ?3, agent_id = ?4, name = ?5, filter = ?6, "
                   "event_types = ?7, include_payload = ?8, enabled = ?9, created_by = ?10, "
                   "created_at = ?11, updated_at = ?12, managed_by = ?13 WHERE id = ?1 AND "
                   "workspace_id = ?2",
                   "update trigger"));
    st.BindText(1, t.id).BindText(2, t.workspace_id);
    BindTriggerFields(st, t);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "trigger");
  });
}

Status SqliteStore::DeleteTrigger(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("DELETE FROM triggers WHERE id = ?1 AND workspace_id = ?2", "delete trigger"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    TRIGGERD_RETURN_IF_ERROR(RequireChanged(db, "trigger"));
    // Whoever deletes a trigger wants it to stop: its waiting runs are cancelled (a running
    // attempt finishes; finished runs stay as history).
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement cancel,
        db.Prepare(
            "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_error = ?3 "
            "WHERE workspace_id = ?4 AND trigger_id = ?1 AND status IN ('queued', 'retrying')",
            "cancel runs of deleted trigger"));
    cancel.BindText(1, id).BindInt64(2, now).BindText(3, kTriggerDeletedError);
    cancel.BindText(4, workspace_id);
    return cancel.Run();
  });
}

// ---- Source cursors (schedule and poll sources, src/schedule) ----

Result<SourceCursor> SqliteStore::GetSourceCursor(std::string_view source_id) {
  return Read([&](Connection& db) -> Result<SourceCursor> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("SELECT source_id, cursor_data, last_tick_at, next_due_at, updated_at "
                   "FROM source_cursors WHERE source_id = ?1",
                   "get source cursor"));
    st.BindText(1, source_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("source cursor not found");
    SourceCursor c;
    c.source_id = st.ColumnText(0);
    c.cursor_data = st.ColumnText(1);
    if (!st.ColumnIsNull(2)) c.last_tick_at = st.ColumnInt64(2);
    if (!st.ColumnIsNull(3)) c.next_due_at = st.ColumnInt64(3);
    c.updated_at = st.ColumnInt64(4);
    return c;
  });
}

Status SqliteStore::PutSourceCursor(const SourceCursor& c) {
  return Write([&](Connection& db) -> Status {
    // Only while the source exists (a source deleted meanwhile is kNotFound, not a constraint
    // error); the upsert keeps one row per source.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO source_cursors (source_id, cursor_data, last_tick_at, next_due_at, "
                   "updated_at) SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM sources "
                   "WHERE id = ?1) "
                   "ON CONFLICT (source_id) DO UPDATE SET cursor_data = excluded.cursor_data, "
                   "last_tick_at = excluded.last_tick_at, next_due_at = excluded.next_due_at, "
                   "updated_at = excluded.updated_at",
                   "put source cursor"));
    st.BindText(1, c.source_id).BindText(2, c.cursor_data);
    if (c.last_tick_at) {
      st.BindInt64(3, *c.last_tick_at);
    } else {
      st.BindNull(3);
    }
    if (c.next_due_at) {
      st.BindInt64(4, *c.next_due_at);
    } else {
      st.BindNull(4);
    }
    st.BindInt64(5, c.updated_at);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "source");
  });
}

Result<bool> SqliteStore::ClaimSourceTurn(std::string_view source_id, int64_t now,
                                          int64_t next_due_at) {
  bool claimed = false;
  TRIGGERD_RETURN_IF_ERROR(Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO source_cursors (source_id, cursor_data, next_due_at, updated_at) "
                   "SELECT ?1, '{}', ?3, ?2 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1) "
                   "ON CONFLICT (source_id) DO UPDATE SET next_due_at = excluded.next_due_at "
                   "WHERE source_cursors.next_due_at IS NULL OR source_cursors.next_due_at <= ?2",
                   "claim source turn"));
    st.BindText(1, source_id).BindInt64(2, now).BindInt64(3, next_due_at);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    claimed = db.changes() > 0;
    if (claimed) return Status::Ok();
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement exists, db.Prepare("SELECT 1 FROM sources WHERE id = ?1", "claim source turn"));
    exists.BindText(1, source_id);
    TRIGGERD_ASSIGN_OR_RETURN(bool row, exists.Step());
    return row ? Status::Ok() : Status::NotFound("source not found");
  }));
  return claimed;
}

}  // namespace triggerd::store::sqlite
