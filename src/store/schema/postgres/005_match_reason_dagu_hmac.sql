-- Version 5 of the PostgreSQL schema (its versions must be contiguous: migrations.cc).
-- As schema/008_match_reason_dagu_hmac.sql: a match record's reason ('' = none; 'event_type'),
-- a Dagu-style webhook's HMAC enforcement and its secret's creation time.
ALTER TABLE matches ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_webhooks ADD COLUMN hmac_enforcement TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_webhooks ADD COLUMN hmac_created_at BIGINT NOT NULL DEFAULT 0;
