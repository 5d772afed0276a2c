-- Schema version 8.
-- A match record's reason, beyond its outcome ('' = none). 'event_type': the trigger did not
-- take the event's type (its event_types), so it was not evaluated (api.md, "Events").
-- A Dagu-style webhook's HMAC enforcement ('strict' | 'observe'; '' when it has no hmac_secret)
-- and when its secret was made (unix micros; 0 = none), as Dagu's webhook record shows them.
-- Mirror every change in docs/storage.md and in the row mappings of store/sqlite/rows.cc.
ALTER TABLE matches ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_webhooks ADD COLUMN hmac_enforcement TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_webhooks ADD COLUMN hmac_created_at INTEGER NOT NULL DEFAULT 0;
