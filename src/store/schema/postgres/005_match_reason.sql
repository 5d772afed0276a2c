-- Version 5 of the PostgreSQL schema (its versions must be contiguous: migrations.cc).
-- As schema/008_match_reason.sql: a match record's reason ('' = none; 'event_type').
ALTER TABLE matches ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE matches SET reason = 'event_type'
  WHERE outcome = 'ignored' AND message LIKE 'not subscribed: %';
