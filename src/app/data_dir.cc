#include "app/data_dir.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/crypto_master_key.h"
#include "common/crypto_sealer.h"

namespace triggerd::app {

Result<OpenedDataDir> OpenDataDir(const std::string& data_dir_text) {
  std::error_code ec;
  std::filesystem::path data_dir(data_dir_text);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status::Internal("cannot create data dir " + data_dir_text + ": " + ec.message());
  }
  ::chmod(data_dir.c_str(), 0700);

  std::optional<std::string> env_key;
  if (const char* value = std::getenv(crypto::kMasterKeyEnv.data())) env_key = value;
  ::unsetenv(crypto::kMasterKeyEnv.data());
  auto master_key = crypto::LoadMasterKey(data_dir, env_key);
  if (env_key) OPENSSL_cleanse(env_key->data(), env_key->size());
  if (!master_key) return master_key.error();

  OpenedDataDir opened;
  opened.key_origin = master_key->origin;
  opened.key_id = crypto::Sealer::KeyIdFor(master_key->bytes);
  opened.key_created = master_key->created;
  store::SqliteOptions store_options;
  store_options.path = (data_dir / "triggerd.db").string();
  store_options.master_key = master_key->bytes;
  auto store = store::OpenSqliteStore(store_options);
  OPENSSL_cleanse(store_options.master_key.data(), store_options.master_key.size());
  if (!store) {
    if (store.error().code() == crypto::Sealer::kWrongKey) {
      return Status(store.error().type(), store.error().code(),
                    store.error().message() + " (the master key in use came from " +
                        master_key->origin + ")");
    }
    return store.error();
  }
  opened.store = std::move(store).value();
  return opened;
}

}  // namespace triggerd::app
