-- Schema version 6: what the Stack AI-style triggers API (docs/COMPATIBILITY.md, section 4) records
-- about a trigger that the domain model has no place for. The trigger itself, its source and its
-- filter stay in `triggers` and `sources` (no second copy): this row only adds the caller's
-- connection id, who changed the trigger last, and whether the surface made the source (so that
-- deleting the trigger also deletes that source once no other trigger uses it).
-- Never edit a released migration: add 007_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md and in the row mapping of store/sqlite/sqlite_store.cc.
--
-- Conventions as in 001_init.sql.

-- At most one row per trigger; deleting the trigger (or its source, which deletes the trigger)
-- deletes it (ON DELETE CASCADE; the store runs with foreign_keys = ON).
CREATE TABLE trigger_extras (
  trigger_id     TEXT    NOT NULL PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
  workspace_id   TEXT    NOT NULL REFERENCES workspaces (id),
  connection_id  TEXT    NOT NULL,  -- the caller's connection (credentials) id, opaque; '' = none
  owns_source    INTEGER NOT NULL CHECK (owns_source IN (0, 1)),  -- 1: made with the trigger
  updated_by     TEXT    NOT NULL,  -- API key id of the last change through the surface
  updated_at     INTEGER NOT NULL
) STRICT;
