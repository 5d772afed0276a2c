// Opening a data directory's store, the same way for every command that needs it (`serve`,
// `migrate`, `key`): the directory (created 0700 when missing), the master key that seals
// secrets at rest (TRIGGERD_MASTER_KEY, else <data_dir>/master.key, created on first use; see
// common/crypto_master_key.h), and triggerd.db with its pending migrations applied.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "store/store.h"

namespace triggerd::app {

struct OpenedDataDir {
  std::unique_ptr<store::Store> store;
  std::string key_origin;    // where the master key came from (an env name or a path)
  std::string key_id;        // its public id, as sealed values name it
  bool key_created = false;  // this call created <data_dir>/master.key
};

// TRIGGERD_MASTER_KEY is removed from the environment (before any thread may exist, as unsetenv
// requires), so that children — command agents — never inherit it. Errors carry a message for
// the operator (e.g. the wrong key's origin, or "chmod 600 …").
Result<OpenedDataDir> OpenDataDir(const std::string& data_dir);

}  // namespace triggerd::app
