// PostgresStore: the CompatStore — agent webhooks and the Stack AI-style trigger extras
// (docs/COMPATIBILITY.md).
#include <string>

#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_store.h"

namespace triggerd::store::postgres {

// ---- Agent webhooks ----

Status PostgresStore::CreateAgentWebhook(const AgentWebhook& w) {
  return Write("create agent webhook", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    TRIGGERD_ASSIGN_OR_RETURN(bool agent,
                              Exists(db, "SELECT 1 FROM agents WHERE id = $1 AND workspace_id = $2",
                                     "check webhook agent", w.agent_id, w.workspace_id));
    if (!agent) return Status::NotFound("agent not found");
    Params p;
    AddAgentWebhookParams(p, w, secrets_);
    return ExecOnly(db,
                    Concat({"INSERT INTO agent_webhooks (", kAgentWebhookColumns,
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                            "$14, $15, $16, $17)"}),
                    p, "create agent webhook");  // UNIQUE (agent_id, kind) or token: kConflict
  });
}

Result<AgentWebhook> PostgresStore::GetAgentWebhook(std::string_view agent_id,
                                                    std::string_view kind) {
  return Read([&](PgConnection& db) -> Result<AgentWebhook> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kAgentWebhookColumns,
                                    " FROM agent_webhooks WHERE agent_id = $1 AND kind = $2"}),
                            Params().Text(agent_id).Text(kind), "get agent webhook"));
    return OneRow<AgentWebhook>(
        r, [this](const PgResult& rr, int i) { return ReadAgentWebhook(rr, i, secrets_); },
        "webhook");
  });
}

Result<AgentWebhook> PostgresStore::FindAgentWebhookByTokenHash(std::string_view token_hash) {
  if (token_hash.empty()) return Status::NotFound("webhook not found");
  return Read([&](PgConnection& db) -> Result<AgentWebhook> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(Concat({"SELECT ", kAgentWebhookColumns,
                        " FROM agent_webhooks WHERE token_hash = $1 AND token_hash <> ''"}),
                Params().Text(token_hash), "find agent webhook by token"));
    return OneRow<AgentWebhook>(
        r, [this](const PgResult& rr, int i) { return ReadAgentWebhook(rr, i, secrets_); },
        "webhook");
  });
}

Result<std::vector<AgentWebhook>> PostgresStore::ListAgentWebhooks(std::string_view workspace_id,
                                                                   std::string_view kind) {
  return Read([&](PgConnection& db) -> Result<std::vector<AgentWebhook>> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kAgentWebhookColumns,
                                    " FROM agent_webhooks WHERE workspace_id = $1 AND kind = $2 "
                                    "ORDER BY created_at DESC, seq DESC"}),
                            Params().Text(workspace_id).Text(kind), "list agent webhooks"));
    return CollectRows<AgentWebhook>(
        r, [this](const PgResult& rr, int i) { return ReadAgentWebhook(rr, i, secrets_); });
  });
}

Status PostgresStore::UpdateAgentWebhook(const AgentWebhook& w) {
  return Write("update agent webhook", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    Params p;
    AddAgentWebhookParams(p, w, secrets_);
    return ExecChanged(
        db,
        "UPDATE agent_webhooks SET agent_id = $3, kind = $4, enabled = $5, token_hash = $6, "
        "token_prefix = $7, event_source = $8, allowed_ips = $9, hmac_secret = $10, "
        "description = $11, metadata_json = $12, created_by = $13, created_at = $14, "
        "updated_at = $15, hmac_enforcement = $16, hmac_created_at = $17 "
        "WHERE id = $1 AND workspace_id = $2",
        p, "update agent webhook", "webhook");
  });
}

Status PostgresStore::DeleteAgentWebhook(std::string_view workspace_id, std::string_view id) {
  return Write("delete agent webhook", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    return ExecChanged(db, "DELETE FROM agent_webhooks WHERE id = $1 AND workspace_id = $2",
                       Params().Text(id).Text(workspace_id), "delete agent webhook", "webhook");
  });
}

// ---- Trigger extras ----

Result<Trigger> PostgresStore::FindTrigger(std::string_view trigger_id) {
  return Read([&](PgConnection& db) -> Result<Trigger> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r, db.Exec(Concat({"SELECT ", kTriggerColumns, " FROM triggers WHERE id = $1"}),
                            Params().Text(trigger_id), "find trigger"));
    return OneRow<Trigger>(r, ReadTrigger, "trigger");
  });
}

Result<TriggerExtras> PostgresStore::GetTriggerExtras(std::string_view workspace_id,
                                                      std::string_view trigger_id) {
  return Read([&](PgConnection& db) -> Result<TriggerExtras> {
    TRIGGERD_ASSIGN_OR_RETURN(
        PgResult r,
        db.Exec(
            "SELECT trigger_id, workspace_id, connection_id, owns_source, updated_by, updated_at, "
            "trigger_config FROM trigger_extras WHERE trigger_id = $1 AND workspace_id = $2",
            Params().Text(trigger_id).Text(workspace_id), "get trigger extras"));
    return OneRow<TriggerExtras>(
        r,
        [](const PgResult& rr, int i) -> Result<TriggerExtras> {
          TriggerExtras e;
          e.trigger_id = rr.Text(i, 0);
          e.workspace_id = rr.Text(i, 1);
          e.connection_id = rr.Text(i, 2);
          e.owns_source = rr.Bool(i, 3);
          e.updated_by = rr.Text(i, 4);
          e.updated_at = rr.Int64(i, 5);
          e.trigger_config_json = rr.Text(i, 6);
          return e;
        },
        "trigger extras");
  });
}

Status PostgresStore::PutTriggerExtras(const TriggerExtras& e) {
  return Write("put trigger extras", [&](PgConnection& db, TxnEffects& fx) -> Status {
    fx.config_changed = true;
    return ExecChanged(
        db,
        "INSERT INTO trigger_extras (trigger_id, workspace_id, connection_id, owns_source, "
        "updated_by, updated_at, trigger_config) SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS "
        "(SELECT 1 FROM triggers WHERE id = $1 AND workspace_id = $2) "
        "ON CONFLICT (trigger_id) DO UPDATE SET connection_id = excluded.connection_id, "
        "owns_source = excluded.owns_source, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at, trigger_config = excluded.trigger_config",
        Params()
            .Text(e.trigger_id)
            .Text(e.workspace_id)
            .Text(e.connection_id)
            .Bool(e.owns_source)
            .Text(e.updated_by)
            .Int64(e.updated_at)
            .Text(e.trigger_config_json),
        "put trigger extras", "trigger");
  });
}

}  // namespace triggerd::store::postgres
