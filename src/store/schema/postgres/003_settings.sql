-- Facts about the database itself, one row per name. 'master_key_id': the key id
-- (crypto::Sealer::key_id) of the master key the secrets are sealed under, written by the first
-- node that opens the database with a key and moved by a rotation's re-seal, in the same
-- transaction (store/postgres/pg_store.cc). A node whose key ring does not hold it refuses to
-- start, and a running one stops (app/cluster.cc), instead of serving what it cannot open.
CREATE TABLE store_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
