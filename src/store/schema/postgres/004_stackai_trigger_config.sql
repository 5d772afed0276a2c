-- Version 4 of the PostgreSQL schema (its versions must be contiguous: migrations.cc).
-- As schema/007_stackai_trigger_config.sql: the opaque members of a Stack AI trigger's
-- trigger_config (docs/COMPATIBILITY.md, section 4), a JSON object.
ALTER TABLE trigger_extras ADD COLUMN trigger_config TEXT NOT NULL DEFAULT '{}';
