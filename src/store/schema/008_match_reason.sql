-- Schema version 8: a match record's reason, beyond its outcome ('' = none). 'event_type': the
-- trigger did not take the event's type (its event_types), so it was not evaluated (api.md,
-- "Events"). Records written before carry that reason only in their message: moved over here.
-- Mirror every change in docs/storage.md and in ReadMatch (store/sqlite/rows.cc).
ALTER TABLE matches ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE matches SET reason = 'event_type'
  WHERE outcome = 'ignored' AND message LIKE 'not subscribed: %';
