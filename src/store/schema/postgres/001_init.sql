-- Schema version 1 of the PostgreSQL store: the tables, columns and indexes of the SQLite schema
-- 001..006 (src/store/schema/*.sql) in PostgreSQL types, created at once. Applied by
-- store/postgres/migrations.cc in one transaction under an advisory lock, which also records the
-- version in triggerd_schema_migrations.
-- Never edit a released migration: add 002_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md and in the row mapping of store/postgres/pg_rows.cc; a
-- change of the SQLite schema needs its PostgreSQL migration too (and the other way round).
--
-- Conventions as in the SQLite schema, so the row mapping is the same: times are BIGINT Unix
-- microseconds (UTC); ids are TEXT with a type prefix; "absent" strings are '' rather than NULL;
-- raw bodies are BYTEA; JSON text is TEXT (exact bytes), except two columns that hold bytes from
-- outside that need not be UTF-8 (events.headers, run_messages.content): BYTEA. Booleans are
-- BOOLEAN. Where SQLite's listings break ties on created_at by rowid (insertion order), a
-- `seq` identity column does it here.

CREATE TABLE workspaces (
  seq         BIGINT  GENERATED ALWAYS AS IDENTITY,
  id          TEXT    NOT NULL PRIMARY KEY,
  name        TEXT    NOT NULL,
  created_at  BIGINT  NOT NULL
);

CREATE TABLE api_keys (
  seq           BIGINT  GENERATED ALWAYS AS IDENTITY,
  id            TEXT    NOT NULL PRIMARY KEY,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  name          TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('admin', 'builder', 'user')),
  prefix        TEXT    NOT NULL,
  hash          TEXT    NOT NULL UNIQUE,  -- every authenticated request looks a key up by hash
  created_by    TEXT    NOT NULL,
  created_at    BIGINT  NOT NULL,
  revoked_at    BIGINT                    -- NULL while the key is valid
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

CREATE TABLE sources (
  seq                 BIGINT  GENERATED ALWAYS AS IDENTITY,
  id                  TEXT    NOT NULL PRIMARY KEY,
  workspace_id        TEXT    NOT NULL REFERENCES workspaces (id),
  name                TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  url_secret          TEXT    NOT NULL,  -- sealed (store/secret_codec.h)
  enabled             BOOLEAN NOT NULL,
  auth_json           TEXT    NOT NULL,  -- opaque JSON object owned by ingest/verify
  signing_secret      TEXT    NOT NULL,  -- sealed
  token_hash          TEXT    NOT NULL,
  allowed_ips         TEXT    NOT NULL,  -- JSON array of strings
  allowed_origins     TEXT    NOT NULL,  -- JSON array of strings
  delivery_id_header  TEXT    NOT NULL,
  max_body_bytes      BIGINT  NOT NULL,
  created_by          TEXT    NOT NULL,
  created_at          BIGINT  NOT NULL,
  updated_at          BIGINT  NOT NULL,
  trigger_config      TEXT    NOT NULL DEFAULT '{}',  -- sealed; schedule/poll configuration
  managed_by          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sources_by_workspace ON sources (workspace_id, created_at);

-- The event log. `seq` is the insertion order and the paging cursor; a sequence never hands out
-- a value twice, even after the newest rows are deleted. No foreign key to sources: deleting a
-- source keeps its events.
CREATE TABLE events (
  seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id            TEXT    NOT NULL UNIQUE,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  source_id     TEXT    NOT NULL,
  received_at   BIGINT  NOT NULL,
  content_type  TEXT    NOT NULL,
  event_type    TEXT    NOT NULL,
  delivery_id   TEXT    NOT NULL,          -- '' when the source has none
  headers       BYTEA   NOT NULL,          -- JSON array of [name, value] pairs, in order
  body          BYTEA   NOT NULL,          -- the raw request bytes
  payload_json  TEXT    NOT NULL,          -- '' when the body itself is the JSON payload
  remote_addr   TEXT    NOT NULL,
  verification  TEXT    NOT NULL,
  status        TEXT    NOT NULL DEFAULT 'received'
);
-- De-duplication across nodes: at most one event per (source, delivery id). The group commit
-- inserts with ON CONFLICT (source_id, delivery_id) WHERE delivery_id <> '' DO NOTHING.
CREATE UNIQUE INDEX events_dedup ON events (source_id, delivery_id) WHERE delivery_id <> '';
CREATE INDEX events_by_workspace ON events (workspace_id, seq);
CREATE INDEX events_by_source ON events (workspace_id, source_id, seq);
-- Retention walks old events by time (Purge).
CREATE INDEX events_by_received_at ON events (received_at, seq);

CREATE TABLE agents (
  seq             BIGINT  GENERATED ALWAYS AS IDENTITY,
  id              TEXT    NOT NULL PRIMARY KEY,
  workspace_id    TEXT    NOT NULL REFERENCES workspaces (id),
  name            TEXT    NOT NULL,
  instructions    TEXT    NOT NULL,
  target_json     TEXT    NOT NULL,  -- sealed; opaque JSON object owned by dispatch
  signing_secret  TEXT    NOT NULL,  -- sealed
  max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
  concurrency     INTEGER NOT NULL CHECK (concurrency >= 1),
  created_by      TEXT    NOT NULL,
  created_at      BIGINT  NOT NULL,
  updated_at      BIGINT  NOT NULL,
  managed_by      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at);

CREATE TABLE triggers (
  seq              BIGINT  GENERATED ALWAYS AS IDENTITY,
  id               TEXT    NOT NULL PRIMARY KEY,
  workspace_id     TEXT    NOT NULL REFERENCES workspaces (id),
  source_id        TEXT    NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
  agent_id         TEXT    NOT NULL REFERENCES agents (id),
  name             TEXT    NOT NULL,
  filter           TEXT    NOT NULL,
  event_types      TEXT    NOT NULL,  -- JSON array of strings; [] = every type
  include_payload  BOOLEAN NOT NULL,
  enabled          BOOLEAN NOT NULL,
  created_by       TEXT    NOT NULL,
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL,
  managed_by       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX triggers_by_workspace ON triggers (workspace_id, created_at);
CREATE INDEX triggers_by_source ON triggers (source_id, created_at);
CREATE INDEX triggers_by_agent ON triggers (agent_id, created_at);

CREATE TABLE matches (
  seq           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  event_id      TEXT    NOT NULL,
  trigger_id    TEXT    NOT NULL,
  outcome       TEXT    NOT NULL
                CHECK (outcome IN ('matched', 'ignored', 'disabled', 'filter_error')),
  run_id        TEXT    NOT NULL,
  message       TEXT    NOT NULL,
  evaluated_at  BIGINT  NOT NULL,
  replay        BOOLEAN NOT NULL
);
CREATE INDEX matches_by_event ON matches (event_id, seq);
CREATE INDEX matches_by_trigger ON matches (trigger_id, seq);

CREATE TABLE runs (
  seq               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id                TEXT    NOT NULL UNIQUE,
  workspace_id      TEXT    NOT NULL REFERENCES workspaces (id),
  event_id          TEXT    NOT NULL,
  trigger_id        TEXT    NOT NULL,
  agent_id          TEXT    NOT NULL,
  owner             TEXT    NOT NULL,
  include_payload   BOOLEAN NOT NULL,
  max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),
  created_at        BIGINT  NOT NULL,
  status            TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded',
                                                       'failed', 'retrying', 'dead', 'cancelled')),
  attempts          INTEGER NOT NULL CHECK (attempts >= 0),
  next_attempt_at   BIGINT  NOT NULL,
  lease_owner       TEXT    NOT NULL,
  lease_expires_at  BIGINT  NOT NULL,
  started_at        BIGINT,
  finished_at       BIGINT,
  last_error        TEXT    NOT NULL
);
CREATE INDEX runs_by_workspace ON runs (workspace_id, seq);
CREATE INDEX runs_by_trigger ON runs (workspace_id, trigger_id, seq);
CREATE INDEX runs_by_agent ON runs (workspace_id, agent_id, seq);
CREATE INDEX runs_by_event ON runs (workspace_id, event_id, seq);
CREATE INDEX runs_by_owner ON runs (workspace_id, owner, seq);
-- Dispatch (partial: only live runs). The store's queries repeat these WHERE clauses verbatim.
CREATE INDEX runs_waiting ON runs (agent_id, next_attempt_at)
  WHERE status IN ('queued', 'retrying');
CREATE INDEX runs_running ON runs (agent_id, lease_expires_at) WHERE status = 'running';

CREATE TABLE run_messages (
  seq      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id   TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt  INTEGER NOT NULL,
  role     TEXT    NOT NULL CHECK (role IN ('agent', 'error')),
  content  BYTEA   NOT NULL,  -- an agent's reply: bytes, not necessarily UTF-8
  at       BIGINT  NOT NULL
);
CREATE INDEX run_messages_by_run ON run_messages (run_id, seq);

CREATE TABLE agent_webhooks (
  seq            BIGINT  GENERATED ALWAYS AS IDENTITY,
  id             TEXT    NOT NULL PRIMARY KEY,
  workspace_id   TEXT    NOT NULL REFERENCES workspaces (id),
  agent_id       TEXT    NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  kind           TEXT    NOT NULL CHECK (kind IN ('agent', 'dagu')),
  enabled        BOOLEAN NOT NULL,
  token_hash     TEXT    NOT NULL,
  token_prefix   TEXT    NOT NULL,
  event_source   TEXT    NOT NULL,
  allowed_ips    TEXT    NOT NULL,  -- JSON array of strings
  hmac_secret    TEXT    NOT NULL,  -- sealed
  description    TEXT    NOT NULL,
  metadata_json  TEXT    NOT NULL,
  created_by     TEXT    NOT NULL,
  created_at     BIGINT  NOT NULL,
  updated_at     BIGINT  NOT NULL,
  UNIQUE (agent_id, kind)
);
CREATE INDEX agent_webhooks_by_workspace ON agent_webhooks (workspace_id, kind, created_at);
CREATE UNIQUE INDEX agent_webhooks_by_token ON agent_webhooks (token_hash) WHERE token_hash <> '';

CREATE TABLE source_cursors (
  source_id     TEXT    NOT NULL PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
  cursor_data   TEXT    NOT NULL,
  last_tick_at  BIGINT,
  next_due_at   BIGINT,
  updated_at    BIGINT  NOT NULL
);

CREATE TABLE trigger_extras (
  trigger_id     TEXT    NOT NULL PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
  workspace_id   TEXT    NOT NULL REFERENCES workspaces (id),
  connection_id  TEXT    NOT NULL,
  owns_source    BOOLEAN NOT NULL,
  updated_by     TEXT    NOT NULL,
  updated_at     BIGINT  NOT NULL
);
