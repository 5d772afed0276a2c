-- The nodes sharing this database (docs/SCALING.md): each heartbeats its row every few seconds
-- (Store::HeartbeatNode); rows not seen within the node TTL are deleted by the next heartbeat.
-- The count of live rows is each node's share of the ingest rate limits.
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  last_seen BIGINT NOT NULL
);
