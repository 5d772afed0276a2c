// PostgresStore: the ConfigStore — workspaces, API keys, sources, agents, triggers and the cursors
// of schedule and poll sources. The statements mirror store/sqlite/config.cc; where that one
// relies on its single writer, these take row locks (see the comments). Every change to what
// nodes cache notifies triggerd_config (TxnEffects::config_changed).
#include <string>

#include "common/clock.h"
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"
#include "store/run_policy.h"

namespace triggerd::store::postgres {

namespace {

Status InsertWorkspace(PgConnection& db, const Workspace& w) {
  return ExecOnly(db, "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)",
                  Params().Text(w.id).Text(w.name).Int64(w.created_at), "create workspace");
}

Status InsertApiKey(PgConnection& db, const ApiKey& k) {
  return ExecOnly(db,
                  "INSERT INTO api_keys (id, workspace_id, name, role, prefix, hash, created_by, "
                  "created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                  Params()
                      .Text(k.id)
                      .Text(k.workspace_id)
                      .Text(k.name)
                      .Text(RoleName(k.role))
                      .Text(k.prefix)
                      .Text(k.hash)
                      .Text(k.created_by)
                      .Int64(k.created_at)
                      .OptInt64(k.revoked_at),
                  "create api key");
}

}  // namespace

// ---- Workspaces ----

Status PostgresStore::CreateWorkspace(const Workspace& w) {
  return Write("create workspace", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    return InsertWorkspace(db, w);
  });
}

Result<bool> PostgresStore::CreateFirstWorkspace(const Workspace& w, const ApiKey& admin_key) {
  bool created = false;
  TRIGGERD_RETURN_IF_ERROR(
      Write("create first workspace", [&](PgConnection& db, TxnEffects& fx) -> Status {
        // Nodes starting together on an empty database: the lock (held to the commit; it conflicts
        // with itself, not with readers) makes the second wait and then see the first's workspace.
        TRIGGERD_RETURN_IF_ERROR(ExecOnly(db, "LOCK TABLE workspaces IN SHARE ROW EXCLUSIVE MODE",
                                          Params(), "lock workspaces"));
        TRIGGERD_ASSIGN_OR_RETURN(PgResult any, db.Exec("SELECT 1 FROM workspaces LIMIT 1",
                                                        Params(), "find a workspace"));
        if (any.rows() > 0) return Status::Ok();
        fx.config_changed = true;
        TRIGGERD_RETURN_IF_ERROR(InsertWorkspace(db, w));
        TRIGGERD_RETURN_IF_ERROR(InsertApiKey(db, admin_key));
        created = true;
        return Status::Ok();
      }));
  return created;
}

Result<Workspace> PostgresStore::GetWorkspace(std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Workspace> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = $1"}),
                Params().Text(id), "get workspace"));
    return OneRow<Workspace>(r, ReadWorkspace, "workspace");
  });
}

Result<std::vector<Workspace>> PostgresStore::ListWorkspaces() {
  return Read([&](PgConnection& db) -> Result<std::vector<Workspace>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kWorkspaceColumns,
                                    " FROM workspaces ORDER BY created_at DESC, seq DESC"}),
                            Params(), "list workspaces"));
    return CollectRows<Workspace>(r, ReadWorkspace);
  });
}

// ---- API keys ----

Status PostgresStore::CreateApiKey(const ApiKey& k) {
  return Write("create api key", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    return InsertApiKey(db, k);
  });
}

Result<ApiKey> PostgresStore::FindApiKeyByHash(std::string_view hash) {
  return Read([&](PgConnection& db) -> Result<ApiKey> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kApiKeyColumns,
                                    " FROM api_keys WHERE hash = $1 AND revoked_at IS NULL"}),
                            Params().Text(hash), "find api key"));
    return OneRow<ApiKey>(r, ReadApiKey, "api key");
  });
}

Result<std::vector<ApiKey>> PostgresStore::ListApiKeys(std::string_view workspace_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<ApiKey>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(
            Concat({"SELECT ", kApiKeyColumns,
                    " FROM api_keys WHERE workspace_id = $1 ORDER BY created_at DESC, seq DESC"}),
            Params().Text(workspace_id), "list api keys"));
    return CollectRows<ApiKey>(r, ReadApiKey);
  });
}

Status PostgresStore::RevokeApiKey(std::string_view workspace_id, std::string_view key_id,
                                   int64_t revoked_at) {
  return Write("revoke api key", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    // Revoking twice succeeds and keeps the first time: the key is revoked either way.
    return ExecChanged(db,
                       "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) "
                       "WHERE id = $1 AND workspace_id = $2",
                       Params().Text(key_id).Text(workspace_id).Int64(revoked_at), "revoke api key",
                       "api key");
  });
}

// ---- Sources ----

Status PostgresStore::CreateSource(const Source& s) {
  return Write("create source", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    Params p;
    AddSourceParams(p, s, secrets_);
    return ExecOnly(db,
                    Concat({"INSERT INTO sources (", kSourceColumns,
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                            "$14, $15, $16, $17, $18)"}),
                    p, "create source");
  });
}

Result<Source> PostgresStore::GetSource(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Source> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db.Exec(Concat({"SELECT ", kSourceColumns,
                                              " FROM sources WHERE id = $1 AND workspace_id = $2"}),
                                      Params().Text(id).Text(workspace_id), "get source"));
    return OneRow<Source>(
        r, [this](const PgResult& rr, int i) { return ReadSource(rr, i, secrets_); }, "source");
  });
}

Result<std::vector<Source>> PostgresStore::ListSources(std::string_view workspace_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<Source>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(
            Concat({"SELECT ", kSourceColumns,
                    " FROM sources WHERE workspace_id = $1 ORDER BY created_at DESC, seq DESC"}),
            Params().Text(workspace_id), "list sources"));
    return CollectRows<Source>(
        r, [this](const PgResult& rr, int i) { return ReadSource(rr, i, secrets_); });
  });
}

Result<std::vector<Source>> PostgresStore::ListAllSources() {
  return Read([&](PgConnection& db) -> Result<std::vector<Source>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kSourceColumns,
                                    " FROM sources ORDER BY workspace_id, created_at, seq"}),
                            Params(), "list all sources"));
    return CollectRows<Source>(
        r, [this](const PgResult& rr, int i) { return ReadSource(rr, i, secrets_); });
  });
}

Status PostgresStore::UpdateSource(const Source& s) {
  return Write("update source", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    Params p;
    AddSourceParams(p, s, secrets_);
    return ExecChanged(
        db,
        "UPDATE sources SET name = $3, kind = $4, url_secret = $5, enabled = $6, auth_json = $7, "
        "signing_secret = $8, token_hash = $9, allowed_ips = $10, allowed_origins = $11, "
        "delivery_id_header = $12, max_body_bytes = $13, created_by = $14, created_at = $15, "
        "updated_at = $16, managed_by = $17, trigger_config = $18 "
        "WHERE id = $1 AND workspace_id = $2",
        p, "update source", "source");
  });
}

Status PostgresStore::DeleteSource(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write("delete source", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    // Its triggers go with it (ON DELETE CASCADE), and, as for DeleteTrigger, their waiting runs
    // are cancelled first, while the triggers still say which runs are theirs.
    TRIGGERD_RETURN_IF_ERROR(
        ExecOnly(db,
                 "UPDATE runs SET status = 'cancelled', finished_at = $3, last_error = $4 "
                 "WHERE workspace_id = $2 AND status IN ('queued', 'retrying') AND trigger_id IN "
                 "(SELECT id FROM triggers WHERE source_id = $1 AND workspace_id = $2)",
                 Params().Text(id).Text(workspace_id).Int64(now).Text(kTriggerDeletedError),
                 "cancel runs of deleted source"));
    return ExecChanged(db, "DELETE FROM sources WHERE id = $1 AND workspace_id = $2",
                       Params().Text(id).Text(workspace_id), "delete source", "source");
  });
}

// ---- Agents ----

Status PostgresStore::CreateAgent(const Agent& a) {
  return Write("create agent", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    Params p;
    AddAgentParams(p, a, secrets_);
    return ExecOnly(db,
                    Concat({"INSERT INTO agents (", kAgentColumns,
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"}),
                    p, "create agent");
  });
}

Result<Agent> PostgresStore::GetAgent(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Agent> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r,
                              db.Exec(Concat({"SELECT ", kAgentColumns,
                                              " FROM agents WHERE id = $1 AND workspace_id = $2"}),
                                      Params().Text(id).Text(workspace_id), "get agent"));
    return OneRow<Agent>(
        r, [this](const PgResult& rr, int i) { return ReadAgent(rr, i, secrets_); }, "agent");
  });
}

Result<std::vector<Agent>> PostgresStore::ListAgents(std::string_view workspace_id) {
  return Read([&](PgConnection& db) -> Result<std::vector<Agent>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kAgentColumns,
                        " FROM agents WHERE workspace_id = $1 ORDER BY created_at DESC, seq DESC"}),
                Params().Text(workspace_id), "list agents"));
    return CollectRows<Agent>(
        r, [this](const PgResult& rr, int i) { return ReadAgent(rr, i, secrets_); });
  });
}

Status PostgresStore::UpdateAgent(const Agent& a) {
  return Write("update agent", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    Params p;
    AddAgentParams(p, a, secrets_);
    return ExecChanged(
        db,
        "UPDATE agents SET name = $3, instructions = $4, target_json = $5, signing_secret = $6, "
        "max_attempts = $7, concurrency = $8, created_by = $9, created_at = $10, updated_at = $11, "
        "managed_by = $12 WHERE id = $1 AND workspace_id = $2",
        p, "update agent", "agent");
  });
}

Status PostgresStore::DeleteAgent(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write("delete agent", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    // FOR UPDATE: a trigger created concurrently (on any node) takes a key-share lock on the
    // agent for its foreign key, so it either committed before this lock (and is seen below) or
    // waits and then fails its foreign key check.
    TRIGGERD_ASSIGN_OR_RETURN(
        bool exists,
        Exists(db, "SELECT 1 FROM agents WHERE id = $1 AND workspace_id = $2 FOR UPDATE",
               "delete agent", id, workspace_id));
    if (!exists) return Status::NotFound("agent not found");
    TRIGGERD_ASSIGN_OR_RETURN(PgResult used,
                              db.Exec("SELECT 1 FROM triggers WHERE agent_id = $1 LIMIT 1",
                                      Params().Text(id), "delete agent"));
    if (used.rows() > 0) {
      return Status::Conflict("delete agent: triggers still use it; delete or change them first");
    }
    TRIGGERD_RETURN_IF_ERROR(ExecOnly(
        db,
        "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3 "
        "WHERE agent_id = $1 AND status IN ('queued', 'retrying')",
        Params().Text(id).Int64(now).Text(kAgentDeletedError), "cancel runs of deleted agent"));
    return ExecChanged(db, "DELETE FROM agents WHERE id = $1 AND workspace_id = $2",
                       Params().Text(id).Text(workspace_id), "delete agent", "agent");
  });
}

// ---- Triggers ----

namespace {

// A trigger's source and agent must be in its workspace. The foreign keys only know that they
// exist somewhere, and their failure would not say which one is missing.
Status CheckTriggerReferences(PgConnection& db, const Trigger& t) {
  TRIGGERD_ASSIGN_OR_RETURN(bool source,
                            Exists(db, "SELECT 1 FROM sources WHERE id = $1 AND workspace_id = $2",
                                   "check trigger source", t.source_id, t.workspace_id));
  if (!source) return Status::NotFound("source not found");
  TRIGGERD_ASSIGN_OR_RETURN(bool agent,
                            Exists(db, "SELECT 1 FROM agents WHERE id = $1 AND workspace_id = $2",
                                   "check trigger agent", t.agent_id, t.workspace_id));
  if (!agent) return Status::NotFound("agent not found");
  return Status::Ok();
}

}  // namespace

Status PostgresStore::CreateTrigger(const Trigger& t) {
  return Write("create trigger", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    Params p;
    AddTriggerParams(p, t);
    return ExecOnly(db,
                    Concat({"INSERT INTO triggers (", kTriggerColumns,
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"}),
                    p, "create trigger");
  });
}

Result<Trigger> PostgresStore::GetTrigger(std::string_view workspace_id, std::string_view id) {
  return Read([&](PgConnection& db) -> Result<Trigger> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kTriggerColumns,
                                    " FROM triggers WHERE id = $1 AND workspace_id = $2"}),
                            Params().Text(id).Text(workspace_id), "get trigger"));
    return OneRow<Trigger>(r, ReadTrigger, "trigger");
  });
}

Result<std::vector<Trigger>> PostgresStore::ListTriggers(std::string_view workspace_id,
                                                         std::string_view source_id,
                                                         std::string_view agent_id) {
  Params p;
  p.Text(workspace_id);
  std::string sql = Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE workspace_id = $1"});
  if (!source_id.empty()) {
    p.Text(source_id);
    sql += " AND source_id = " + Placeholder(p.size());
  }
  if (!agent_id.empty()) {
    p.Text(agent_id);
    sql += " AND agent_id = " + Placeholder(p.size());
  }
  sql += " ORDER BY created_at DESC, seq DESC";
  return Read([&](PgConnection& db) -> Result<std::vector<Trigger>> {
    TRIGGERD_ASSIGN_OR_RETURN(PgResult r, db.Exec(sql, p, "list triggers"));
    return CollectRows<Trigger>(r, ReadTrigger);
  });
}

Result<std::vector<Trigger>> PostgresStore::ListAllTriggers() {
  return Read([&](PgConnection& db) -> Result<std::vector<Trigger>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kTriggerColumns, " FROM triggers ORDER BY created_at, seq"}),
                Params(), "list all triggers"));
    return CollectRows<Trigger>(r, ReadTrigger);
  });
}

Status PostgresStore::UpdateTrigger(const Trigger& t) {
  return Write("update trigger", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    TRIGGERD_RETURN_IF_ERROR(CheckTriggerReferences(db, t));
    Params p;
    AddTriggerParams(p, t);
    return ExecChanged(
        db,
        "UPDATE triggers SET source_id = $3, agent_id = $4, name = $5, filter = $6, "
        "event_types = $7, include_payload = $8, enabled = $9, created_by = $10, "
        "created_at = $11, updated_at = $12, managed_by = $13 WHERE id = $1 AND workspace_id = $2",
        p, "update trigger", "trigger");
  });
}

Status PostgresStore::DeleteTrigger(std::string_view workspace_id, std::string_view id) {
  const int64_t now = clock_->NowMicros();
  return Write("delete trigger", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    TRIGGERD_RETURN_IF_ERROR(
        ExecChanged(db, "DELETE FROM triggers WHERE id = $1 AND workspace_id = $2",
                    Params().Text(id).Text(workspace_id), "delete trigger", "trigger"));
    // Whoever deletes a trigger wants it to stop: its waiting runs are cancelled (a running
    // attempt finishes; finished runs stay as history).
    return ExecOnly(db,
                    "UPDATE runs SET status = 'cancelled', finished_at = $2, last_error = $3 "
                    "WHERE workspace_id = $4 AND trigger_id = $1 AND status IN ('queued', "
                    "'retrying')",
                    Params().Text(id).Int64(now).Text(kTriggerDeletedError).Text(workspace_id),
                    "cancel runs of deleted trigger");
  });
}

// ---- Source cursors ----

Result<SourceCursor> PostgresStore::GetSourceCursor(std::string_view source_id) {
  return Read([&](PgConnection& db) -> Result<SourceCursor> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec("SELECT source_id, cursor_data, last_tick_at, next_due_at, updated_at "
                            "FROM source_cursors WHERE source_id = $1",
                            Params().Text(source_id), "get source cursor"));
    return OneRow<SourceCursor>(
        r,
        [](const PgResult& rr, int i) -> Result<SourceCursor> {
          SourceCursor c;
          c.source_id = rr.Text(i, 0);
          c.cursor_data = rr.Text(i, 1);
          c.last_tick_at = rr.OptInt64(i, 2);
          c.next_due_at = rr.OptInt64(i, 3);
          c.updated_at = rr.Int64(i, 4);
          return c;
        },
        "source cursor");
  });
}

Status PostgresStore::PutSourceCursor(const SourceCursor& c) {
  return Write("put source cursor", [&](PgConnection& db, TxnEffects&) -> Status {
    // Only while the source exists (a source deleted meanwhile is kNotFound, not a constraint
    // error); the upsert keeps one row per source.
    return ExecChanged(
        db,
        "INSERT INTO source_cursors (source_id, cursor_data, last_tick_at, next_due_at, "
        "updated_at) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM sources WHERE id = $1) "
        "ON CONFLICT (source_id) DO UPDATE SET cursor_data = excluded.cursor_data, "
        "last_tick_at = excluded.last_tick_at, next_due_at = excluded.next_due_at, "
        "updated_at = excluded.updated_at",
        Params()
            .Text(c.source_id)
            .Text(c.cursor_data)
            .OptInt64(c.last_tick_at)
            .OptInt64(c.next_due_at)
            .Int64(c.updated_at),
        "put source cursor", "source");
  });
}

Result<bool> PostgresStore::ClaimSourceTurn(std::string_view source_id, int64_t now,
                                            int64_t next_due_at) {
  bool claimed = false;
  TRIGGERD_RETURN_IF_ERROR(Write("claim source turn", [&](PgConnection& db, TxnEffects&) -> Status {
    // Two nodes claiming at once: the second waits on the first's row lock, then re-checks the
    // WHERE against the committed next_due_at (READ COMMITTED upsert) and changes nothing.
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec("INSERT INTO source_cursors (source_id, cursor_data, next_due_at, updated_at) "
                "SELECT $1, '{}', $3, $2 WHERE EXISTS (SELECT 1 FROM sources WHERE id = $1) "
                "ON CONFLICT (source_id) DO UPDATE SET next_due_at = excluded.next_due_at "
                "WHERE source_cursors.next_due_at IS NULL OR source_cursors.next_due_at <= $2",
                Params().Text(source_id).Int64(now).Int64(next_due_at), "claim source turn"));
    claimed = r.affected() > 0;
    if (claimed) return Status::Ok();
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult exists, db.Exec("SELECT 1 FROM sources WHERE id = $1", Params().Text(source_id),
                                 "claim source turn"));
    return exists.rows() > 0 ? Status::Ok() : Status::NotFound("source not found");
  }));
  return claimed;
}

}  // namespace triggerd::store::postgres
