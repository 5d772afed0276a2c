-- Schema version 7: the Stack AI-style triggers API keeps the members of a trigger's
-- trigger_config that configure nothing of triggerd's (Stack AI's provider parameters such as
-- "inbox_id" or "polling_frequency"), so a client reads back what it sent
-- (docs/COMPATIBILITY.md, section 4). A JSON object, opaque to the store.
-- Mirror every change in docs/storage.md and in the row mapping of store/sqlite/compat.cc.
ALTER TABLE trigger_extras ADD COLUMN trigger_config TEXT NOT NULL DEFAULT '{}';
