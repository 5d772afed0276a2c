-- Schema version 2: agents, triggers, match records, runs and their messages. Applied by
-- store/sqlite/migrations.cc in the same transaction as any earlier pending migration.
-- Never edit a released migration: add 003_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md and in the row mapping of store/sqlite/sqlite_store.cc.
--
-- Conventions as in 001_init.sql: STRICT tables; times are INTEGER Unix microseconds (UTC); ids
-- are TEXT with a type prefix; absent strings are '' (NULL only where the C++ side has an
-- optional); booleans are INTEGER 0/1 with a CHECK.

CREATE TABLE agents (
  id              TEXT    NOT NULL PRIMARY KEY,
  workspace_id    TEXT    NOT NULL REFERENCES workspaces (id),
  name            TEXT    NOT NULL,
  instructions    TEXT    NOT NULL,
  target_json     TEXT    NOT NULL,  -- opaque JSON object owned by dispatch (dispatch/target.h)
  signing_secret  TEXT    NOT NULL,
  max_attempts    INTEGER NOT NULL CHECK (max_attempts >= 1),
  concurrency     INTEGER NOT NULL CHECK (concurrency >= 1),
  created_by      TEXT    NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at);

-- A trigger binds a source to an agent. Deleting its source deletes it (ON DELETE CASCADE; the
-- store runs with foreign_keys = ON). Deleting its agent is refused while it exists (the store
-- answers kConflict before the foreign key would). The store checks that the source and the
-- agent belong to the trigger's workspace; the foreign keys are the backstop for existence.
CREATE TABLE triggers (
  id               TEXT    NOT NULL PRIMARY KEY,
  workspace_id     TEXT    NOT NULL REFERENCES workspaces (id),
  source_id        TEXT    NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
  agent_id         TEXT    NOT NULL REFERENCES agents (id),
  name             TEXT    NOT NULL,
  filter           TEXT    NOT NULL,  -- filter-language source text; '' matches every event
  event_types      TEXT    NOT NULL,  -- JSON array of strings; [] = every type
  include_payload  INTEGER NOT NULL CHECK (include_payload IN (0, 1)),
  enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_by       TEXT    NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX triggers_by_workspace ON triggers (workspace_id, created_at);
-- Also what the foreign keys need: deleting a source finds its triggers (the cascade), deleting
-- an agent finds the triggers that still refer to it, without scanning the table.
CREATE INDEX triggers_by_source ON triggers (source_id, created_at);
CREATE INDEX triggers_by_agent ON triggers (agent_id, created_at);

-- Match records: one per (event, trigger) evaluation, at ingest or by a replay. `seq` is the
-- paging cursor (AUTOINCREMENT: never reused). No foreign keys to events or triggers: deleting a
-- trigger keeps its records, and the event row is written in the same savepoint (ingest) or
-- checked first (replay).
CREATE TABLE matches (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id  TEXT    NOT NULL REFERENCES workspaces (id),
  event_id      TEXT    NOT NULL,
  trigger_id    TEXT    NOT NULL,
  outcome       TEXT    NOT NULL
                CHECK (outcome IN ('matched', 'ignored', 'disabled', 'filter_error')),
  run_id        TEXT    NOT NULL,  -- '' unless matched
  message       TEXT    NOT NULL,
  evaluated_at  INTEGER NOT NULL,
  replay        INTEGER NOT NULL CHECK (replay IN (0, 1))
) STRICT;
CREATE INDEX matches_by_event ON matches (event_id, seq);
CREATE INDEX matches_by_trigger ON matches (trigger_id, seq);

-- Runs: one event delivered to one trigger's agent, with its dispatch state. `seq` is the paging
-- cursor. No foreign keys to events, triggers or agents: a run outlives its trigger and agent.
-- Lease columns mean something only while status = 'running' ('' and 0 otherwise).
CREATE TABLE runs (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  id                TEXT    NOT NULL UNIQUE,
  workspace_id      TEXT    NOT NULL REFERENCES workspaces (id),
  event_id          TEXT    NOT NULL,
  trigger_id        TEXT    NOT NULL,
  agent_id          TEXT    NOT NULL,
  owner             TEXT    NOT NULL,  -- the trigger's created_by at creation (visibility)
  include_payload   INTEGER NOT NULL CHECK (include_payload IN (0, 1)),
  max_attempts      INTEGER NOT NULL CHECK (max_attempts >= 1),
  created_at        INTEGER NOT NULL,
  status            TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded',
                                                       'failed', 'retrying', 'dead', 'cancelled')),
  attempts          INTEGER NOT NULL CHECK (attempts >= 0),
  next_attempt_at   INTEGER NOT NULL,
  lease_owner       TEXT    NOT NULL,
  lease_expires_at  INTEGER NOT NULL,
  started_at        INTEGER,           -- NULL until the first claim
  finished_at       INTEGER,           -- NULL until succeeded, failed, dead or cancelled
  last_error        TEXT    NOT NULL
) STRICT;
-- Listing, newest first, per workspace and per filter of RunQuery.
CREATE INDEX runs_by_workspace ON runs (workspace_id, seq);
CREATE INDEX runs_by_trigger ON runs (workspace_id, trigger_id, seq);
CREATE INDEX runs_by_agent ON runs (workspace_id, agent_id, seq);
CREATE INDEX runs_by_event ON runs (workspace_id, event_id, seq);
CREATE INDEX runs_by_owner ON runs (workspace_id, owner, seq);
-- Dispatch. Both are partial, so they hold only live runs and stay small however long the run
-- history grows. Waiting runs per agent by due time: ClaimRuns visits each agent that has
-- waiting runs (a skip-scan over agent_id) and takes its oldest due ones, so a saturated agent's
-- backlog is never walked; one global due-time index would have to step over all of it.
-- The store's queries repeat these WHERE clauses verbatim so the planner can use the indexes.
CREATE INDEX runs_waiting ON runs (agent_id, next_attempt_at)
  WHERE status IN ('queued', 'retrying');
-- Running runs per agent by lease expiry: the concurrency count (unexpired leases) and the
-- expired leases to reclaim.
CREATE INDEX runs_running ON runs (agent_id, lease_expires_at) WHERE status = 'running';

-- What a run said: one row per finished attempt (the agent's reply, or the attempt's error), and
-- one for an attempt cut short by a lost lease. The message sent to the agent is not stored: it
-- is rebuilt from the event.
CREATE TABLE run_messages (
  seq      INTEGER PRIMARY KEY,
  run_id   TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt  INTEGER NOT NULL,
  role     TEXT    NOT NULL CHECK (role IN ('agent', 'error')),
  content  TEXT    NOT NULL,
  at       INTEGER NOT NULL
) STRICT;
CREATE INDEX run_messages_by_run ON run_messages (run_id, seq);
