// SqliteStore: the CompatStore — agent webhooks and the Stack AI-style trigger extras
// (docs/COMPATIBILITY.md).
#include <string>

#include "store/sqlite/connection.h"
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace triggerd::store::sqlite {

// ---- Agent webhooks (schema/003_webhooks.sql) ----

Status SqliteStore::CreateAgentWebhook(const AgentWebhook& w) {
  return Write([&](Connection& db) -> Status {
    // The foreign key only knows that the agent exists somewhere.
    TRIGGERD_ASSIGN_OR_RETURN(bool agent,
                              Exists(db, "SELECT 1 FROM agents WHERE id = ?1 AND workspace_id = ?2",
                                     "check webhook agent", w.agent_id, w.workspace_id));
    if (!agent) return Status::NotFound("agent not found");
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            Concat({"INSERT INTO agent_webhooks (", kAgentWebhookColumns,
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                    "?16, ?17)"}),
            "create agent webhook"));
    st.BindText(1, w.id).BindText(2, w.workspace_id);
    BindAgentWebhookFields(st, w, secrets_);
    return st.Run();  // UNIQUE (agent_id, kind) or token_hash: kConflict
  });
}

Result<AgentWebhook> SqliteStore::GetAgentWebhook(std::string_view agent_id,
                                                  std::string_view kind) {
  return Read([&](Connection& db) -> Result<AgentWebhook> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare(Concat({"SELECT ", kAgentWebhookColumns,
                                         " FROM agent_webhooks WHERE agent_id = ?1 AND kind = ?2"}),
                                 "get agent webhook"));
    st.BindText(1, agent_id).BindText(2, kind);
    return OneRow<AgentWebhook>(
        st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); }, "webhook");
  });
}

Result<AgentWebhook> SqliteStore::FindAgentWebhookByTokenHash(std::string_view token_hash) {
  if (token_hash.empty()) return Status::NotFound("webhook not found");
  return Read([&](Connection& db) -> Result<AgentWebhook> {
    // The redundant `token_hash != ''` lets the planner use the partial index.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(Concat({"SELECT ", kAgentWebhookColumns,
                           " FROM agent_webhooks WHERE token_hash = ?1 AND token_hash != ''"}),
                   "find agent webhook by token"));
    st.BindText(1, token_hash);
    return OneRow<AgentWebhook>(
        st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); }, "webhook");
  });
}

Result<std::vector<AgentWebhook>> SqliteStore::ListAgentWebhooks(std::string_view workspace_id,
                                                                 std::string_view kind) {
  return Read([&](Connection& db) -> Result<std::vector<AgentWebhook>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(Concat({"SELECT ", kAgentWebhookColumns,
                           " FROM agent_webhooks WHERE workspace_id = ?1 AND kind = ?2 "
                           "ORDER BY created_at DESC, rowid DESC"}),
                   "list agent webhooks"));
    st.BindText(1, workspace_id).BindText(2, kind);
    return CollectRows<AgentWebhook>(
        st, [this](const Statement& row) { return ReadAgentWebhook(row, secrets_); });
  });
}

Status SqliteStore::UpdateAgentWebhook(const AgentWebhook& w) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "UPDATE agent_webhooks SET agent_id = ?3, kind = ?4, enabled = ?5, token_hash = ?6, "
            "token_prefix = ?7, event_source = ?8, allowed_ips = ?9, hmac_secret = ?10, "
            "description = ?11, metadata_json = ?12, created_by = ?13, created_at = ?14, "
            "updated_at = ?15, hmac_enforcement = ?16, hmac_created_at = ?17 "
            "WHERE id = ?1 AND workspace_id = ?2",
            "update agent webhook"));
    st.BindText(1, w.id).BindText(2, w.workspace_id);
    BindAgentWebhookFields(st, w, secrets_);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "webhook");
  });
}

Status SqliteStore::DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) {
  return Write([&](Connection& db) -> Status {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("DELETE FROM agent_webhooks WHERE id = ?1 AND workspace_id = ?2",
                                 "delete agent webhook"));
    st.BindText(1, id).BindText(2, workspace_id);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "webhook");
  });
}

// ---- Stack AI-style trigger extras (schema/006_stackai_triggers.sql) ----

Result<Trigger> SqliteStore::FindTrigger(std::string_view trigger_id) {
  return Read([&](Connection& db) -> Result<Trigger> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE id = ?1"}),
                   "find trigger"));
    st.BindText(1, trigger_id);
    return OneRow<Trigger>(st, ReadTrigger, "trigger");
  });
}

Result<TriggerExtras> SqliteStore::GetTriggerExtras(std::string_view workspace_id,
                                                    std::string_view trigger_id) {
  return Read([&](Connection& db) -> Result<TriggerExtras> {
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "SELECT trigger_id, workspace_id, connection_id, owns_source, updated_by, updated_at, "
            "trigger_config FROM trigger_extras WHERE trigger_id = ?1 AND workspace_id = ?2",
            "get trigger extras"));
    st.BindText(1, trigger_id).BindText(2, workspace_id);
    return OneRow<TriggerExtras>(
        st,
        [](const Statement& row) -> Result<TriggerExtras> {
          TriggerExtras e;
          e.trigger_id = row.ColumnText(0);
          e.workspace_id = row.ColumnText(1);
          e.connection_id = row.ColumnText(2);
          e.owns_source = row.ColumnInt64(3) != 0;
          e.updated_by = row.ColumnText(4);
          e.updated_at = row.ColumnInt64(5);
          e.trigger_config_json = row.ColumnText(6);
          return e;
        },
        "trigger extras");
  });
}

Status SqliteStore::PutTriggerExtras(const TriggerExtras& e) {
  return Write([&](Connection& db) -> Status {
    // Only for a trigger of that workspace (the foreign key alone knows only that it exists
    // somewhere); the upsert keeps one row per trigger.
    TRIGGERD_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare(
            "INSERT INTO trigger_extras (trigger_id, workspace_id, connection_id, owns_source, "
            "updated_by, updated_at, trigger_config) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
            "WHERE EXISTS (SELECT 1 FROM triggers WHERE id = ?1 AND workspace_id = ?2) "
            "ON CONFLICT (trigger_id) DO UPDATE SET connection_id = excluded.connection_id, "
            "owns_source = excluded.owns_source, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at, trigger_config = excluded.trigger_config",
            "put trigger extras"));
    st.BindText(1, e.trigger_id)
        .BindText(2, e.workspace_id)
        .BindText(3, e.connection_id)
        .BindInt64(4, e.owns_source ? 1 : 0)
        .BindText(5, e.updated_by)
        .BindInt64(6, e.updated_at)
        .BindText(7, e.trigger_config_json);
    TRIGGERD_RETURN_IF_ERROR(st.Run());
    return RequireChanged(db, "trigger");
  });
}

}  // namespace triggerd::store::sqlite
