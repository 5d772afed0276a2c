-- Schema version 4: sources whose events triggerd makes itself (src/schedule): schedules (cron in
-- a time zone, or a fixed interval) and polled JSON feeds.
-- Never edit a released migration: add a later NNN_*.sql instead (and list it in
-- src/store/CMakeLists.txt). Mirror every change in docs/storage.md and in the row mapping of
-- store/sqlite/sqlite_store.cc.
--
-- Conventions as in 001_init.sql.

-- The configuration of a 'schedule' or 'poll' source, a JSON object owned and validated by
-- src/schedule (e.g. {"cron":"*/5 * * * *","timezone":"Europe/Paris","missed":"catch_up"} or
-- {"url":…,"interval_seconds":30,"headers":{…},"items_path":"data.items","id_field":"id"});
-- '{}' for webhook sources. A poll's headers may carry credentials.
ALTER TABLE sources ADD COLUMN trigger_config TEXT NOT NULL DEFAULT '{}';

-- Where a schedule or poll source has got to. Written only after the events it covers are
-- durable (so a lost write repeats work, never skips it); the events' (source_id, delivery_id)
-- uniqueness — 'tick:<scheduled time>' and 'item:<item id>' — makes the repeated work a
-- duplicate that starts no run. Deleting the source deletes its cursor.
CREATE TABLE source_cursors (
  source_id     TEXT    NOT NULL PRIMARY KEY REFERENCES sources (id) ON DELETE CASCADE,
  cursor_data   TEXT    NOT NULL,  -- JSON object owned by src/schedule (a poll's last id / seen ids)
  last_tick_at  INTEGER,           -- schedule: the latest tick handled; poll: the latest poll
  next_due_at   INTEGER,           -- when the producer means to act next (informational)
  updated_at    INTEGER NOT NULL
) STRICT;
