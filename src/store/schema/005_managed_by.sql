-- Schema version 5: which sources, agents and triggers the declarative config owns.
-- `managed_by` is '' for objects made through the REST API and 'config' for those declared in the
-- config file's `workspaces:` section (src/app/declared.h). The config applier creates, updates
-- and deletes only rows marked 'config' (matching them by workspace and name) and never touches
-- the others; the REST API answers 409 to changes of a marked row.
-- Never edit a released migration: add 006_*.sql instead (and list it in src/store/CMakeLists.txt).
-- Mirror every change in docs/storage.md and in the row mapping of store/sqlite/sqlite_store.cc.

ALTER TABLE sources ADD COLUMN managed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN managed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE triggers ADD COLUMN managed_by TEXT NOT NULL DEFAULT '';
