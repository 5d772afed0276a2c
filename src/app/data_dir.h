// Opening a data directory's store, the same way for every command that needs it (`serve`,
// `migrate`, `key`): the directory (created 0700 when missing), the master key that seals
// secrets at rest (TRIGGERD_MASTER_KEY, else <data_dir>/master.key, created on first use; see
// common/crypto_master_key.h), and the database with its pending migrations applied: the SQLite
// file <data_dir>/triggerd.db by default, or a PostgreSQL database when `storage` is a
// postgres:// or postgresql:// URL (several nodes sharing one database; docs/SCALING.md). Every
// node of such a cluster must use the same master key (TRIGGERD_MASTER_KEY, or copies of one
// master.key). During a master key rotation the previous key (TRIGGERD_MASTER_KEY_PREVIOUS, else
// <data_dir>/master.key.previous when it exists) joins the ring: values under it open and are
// re-sealed under the current key at open (README "Secrets at rest").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto_master_key.h"
#include "common/result.h"
#include "store/store.h"

namespace triggerd::app {

// Where the data lives: "sqlite" (or "") for <data_dir>/triggerd.db, else a PostgreSQL URL.
struct StorageChoice {
  std::string storage;
  int pool_size = 8;           // PostgreSQL connections per node
  std::string node_name;       // PostgreSQL application_name; "" = "triggerd"
};

// True for a postgres:// or postgresql:// URL.
bool IsPostgresUrl(const std::string& storage);
// What to print about a storage choice: the path, or the URL with its password masked.
std::string DescribeStorage(const std::string& data_dir, const std::string& storage);
// The storage value given neither by flag nor by config: TRIGGERD_DATABASE_URL when set (a
// password is better kept in the environment than in a config file), else "sqlite".
std::string DefaultStorage();

struct OpenedDataDir {
  std::unique_ptr<store::Store> store;
  bool postgres = false;     // several processes may share the database
  std::string key_origin;    // where the master key came from (an env name or a path)
  std::string key_id;        // its public id, as sealed values name it
  bool key_created = false;  // this call created <data_dir>/master.key
  std::string previous_key_origin;  // "" when there is no previous key
  std::string previous_key_id;
  uint64_t secrets_sealed_at_open = 0;  // plaintext or previous-key values sealed at this open
};

// The keys a data dir's store opens with.
struct DataDirKeys {
  crypto::MasterKey current;
  std::optional<crypto::MasterKey> previous;
};

// Reads TRIGGERD_MASTER_KEY and TRIGGERD_MASTER_KEY_PREVIOUS and removes them from the
// environment (before any thread may exist, as unsetenv requires), so that children — command
// agents — never inherit them; then loads the keys (crypto::LoadMasterKey,
// crypto::LoadPreviousMasterKey). `create_key`: whether a missing <data_dir>/master.key is created
// (false: it is an error, kNotFound). REQUIRES: data_dir exists.
Result<DataDirKeys> LoadDataDirKeys(const std::string& data_dir, bool create_key);

// Opens the store of `data_dir` / `storage` sealing under `key` (32 raw bytes), with `previous`
// keys in its ring (store::SqliteOptions::previous_master_keys). The caller wipes the keys.
Result<std::unique_ptr<store::Store>> OpenStoreWithKeys(const std::string& data_dir,
                                                        const StorageChoice& storage,
                                                        const std::string& key,
                                                        const std::vector<std::string>& previous);

// The keys come from LoadDataDirKeys (creating master.key on first use). Errors carry a message
// for the operator (e.g. the wrong key's origin, or "chmod 600 …").
Result<OpenedDataDir> OpenDataDir(const std::string& data_dir, const StorageChoice& storage = {});

}  // namespace triggerd::app
