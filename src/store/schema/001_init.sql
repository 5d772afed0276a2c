-- Schema version 1 of the SQLite store. Applied once, in one transaction, by
-- store/sqlite/migrations.cc, which also sets PRAGMA user_version = 1.
-- Never edit a released migration: add 002_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md.
--
-- Conventions: STRICT tables (types are enforced); times are INTEGER Unix microseconds (UTC);
-- ids are TEXT with a type prefix; "absent" strings are '' rather than NULL so the C++ side never
-- has to tell the two apart.

PRAGMA application_id = 1414678340;  -- 0x54524744, "TRGD": marks the file as a triggerd database

CREATE TABLE workspaces (
  id          TEXT    NOT NULL PRIMARY KEY,
  name        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
  id            TEXT    NOT NULL PRIMARY KEY,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  name          TEXT    NOT NULL,
  role          TEXT    NOT NULL CHECK (role IN ('admin', 'builder', 'user')),
  prefix        TEXT    NOT NULL,
  hash          TEXT    NOT NULL UNIQUE,  -- every authenticated request looks a key up by hash
  created_by    TEXT    NOT NULL,
  created_at    INTEGER NOT NULL,
  revoked_at    INTEGER                   -- NULL while the key is valid
) STRICT;
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

CREATE TABLE sources (
  id                  TEXT    NOT NULL PRIMARY KEY,
  workspace_id        TEXT    NOT NULL REFERENCES workspaces (id),
  name                TEXT    NOT NULL,
  kind                TEXT    NOT NULL,
  url_secret          TEXT    NOT NULL,
  enabled             INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  auth_json           TEXT    NOT NULL,  -- opaque JSON object owned by ingest/verify
  signing_secret      TEXT    NOT NULL,
  token_hash          TEXT    NOT NULL,
  allowed_ips         TEXT    NOT NULL,  -- JSON array of strings
  allowed_origins     TEXT    NOT NULL,  -- JSON array of strings
  delivery_id_header  TEXT    NOT NULL,
  max_body_bytes      INTEGER NOT NULL,
  created_by          TEXT    NOT NULL,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX sources_by_workspace ON sources (workspace_id, created_at);

-- The event log. `seq` is the insertion order and the paging cursor; AUTOINCREMENT guarantees a
-- seq is never reused, even after the newest rows are deleted, so cursors stay meaningful.
-- No foreign key to sources: deleting a source keeps its events.
CREATE TABLE events (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT    NOT NULL UNIQUE,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  source_id     TEXT    NOT NULL,
  received_at   INTEGER NOT NULL,
  content_type  TEXT    NOT NULL,
  event_type    TEXT    NOT NULL,
  delivery_id   TEXT    NOT NULL,          -- '' when the source has none
  headers       TEXT    NOT NULL,          -- JSON array of [name, value] pairs, in order
  body          BLOB    NOT NULL,          -- the raw request bytes
  payload_json  TEXT    NOT NULL,          -- '' when the body itself is the JSON payload
  remote_addr   TEXT    NOT NULL,
  verification  TEXT    NOT NULL,
  status        TEXT    NOT NULL DEFAULT 'received'
) STRICT;
-- De-duplication: at most one event per (source, delivery id). The writer thread checks before
-- inserting; this index is the backstop that makes a violation impossible.
CREATE UNIQUE INDEX events_dedup ON events (source_id, delivery_id) WHERE delivery_id != '';
-- Listing, newest first, per workspace and per source.
CREATE INDEX events_by_workspace ON events (workspace_id, seq);
CREATE INDEX events_by_source ON events (workspace_id, source_id, seq);
