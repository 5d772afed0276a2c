-- Schema version 3: per-agent webhooks of the compatibility surfaces (docs/COMPATIBILITY.md):
-- the durable-agents style public endpoint (kind 'agent') and the Dagu-style per-workflow
-- webhook (kind 'dagu'). Configuration only: what such a webhook receives becomes an ordinary
-- event with one match record and one run (the events / matches / runs tables of 001 and 002).
-- Never edit a released migration: add 004_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md and in the row mapping of store/sqlite/sqlite_store.cc.
--
-- Conventions as in 001_init.sql and 002_agents_triggers_runs.sql.

-- At most one webhook of each kind per agent (UNIQUE (agent_id, kind)). Deleting the agent
-- deletes its webhooks (ON DELETE CASCADE; the store runs with foreign_keys = ON), so a webhook
-- never blocks DeleteAgent the way a trigger does.
CREATE TABLE agent_webhooks (
  id             TEXT    NOT NULL PRIMARY KEY,
  workspace_id   TEXT    NOT NULL REFERENCES workspaces (id),
  agent_id       TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  kind           TEXT    NOT NULL CHECK (kind IN ('agent', 'dagu')),
  enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  token_hash     TEXT    NOT NULL,  -- hex SHA-256 of the bearer token ('dagu'); '' when none
  token_prefix   TEXT    NOT NULL,  -- first characters of the token, to recognise it
  event_source   TEXT    NOT NULL,  -- allowed origin URL or hostname ('agent'); '' = any
  allowed_ips    TEXT    NOT NULL,  -- JSON array of strings (IPs or CIDRs)
  hmac_secret    TEXT    NOT NULL,  -- '' when no signature is required
  description    TEXT    NOT NULL,
  metadata_json  TEXT    NOT NULL,  -- a JSON object, opaque here
  created_by     TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (agent_id, kind)
) STRICT;
CREATE INDEX agent_webhooks_by_workspace ON agent_webhooks (workspace_id, kind, created_at);
-- Every Dagu trigger request looks its token up by hash.
CREATE UNIQUE INDEX agent_webhooks_by_token ON agent_webhooks (token_hash) WHERE token_hash != '';
