#include "app/data_dir.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "common/crypto_master_key.h"
#include "common/crypto_sealer.h"

namespace triggerd::app {

bool IsPostgresUrl(const std::string& storage) {
  return storage.rfind("postgres://", 0) == 0 || storage.rfind("postgresql://", 0) == 0;
}

std::string DescribeStorage(const std::string& data_dir, const std::string& storage) {
  if (!IsPostgresUrl(storage)) return (std::filesystem::path(data_dir) / "triggerd.db").string();
  // postgres://user:password@host/db: the password never reaches a log or a terminal.
  const size_t scheme_end = storage.find("://") + 3;
  const size_t at = storage.find('@', scheme_end);
  const size_t colon = storage.find(':', scheme_end);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return storage;
  return storage.substr(0, colon + 1) + "***" + storage.substr(at);
}

std::string DefaultStorage() {
  const char* url = std::getenv("TRIGGERD_DATABASE_URL");
  return url != nullptr && *url != '\0' ? std::string(url) : std::string("sqlite");
}

Result<OpenedDataDir> OpenDataDir(const std::string& data_dir_text, const StorageChoice& storage) {
  const bool postgres = IsPostgresUrl(storage.storage);
  if (!postgres && !storage.storage.empty() && storage.storage != "sqlite") {
    return Status::InvalidArgument("storage must be \"sqlite\" or a postgres:// URL, not \"" +
                                   DescribeStorage(data_dir_text, storage.storage) + "\"");
  }
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
  opened.postgres = postgres;
  Result<std::unique_ptr<store::Store>> store = Status::Internal("no store");
  if (postgres) {
    store::PostgresOptions store_options;
    store_options.url = storage.storage;
    store_options.pool_size = storage.pool_size;
    if (!storage.node_name.empty()) store_options.application_name = storage.node_name;
    store_options.master_key = master_key->bytes;
    store = store::OpenPostgresStore(store_options);
    OPENSSL_cleanse(store_options.master_key.data(), store_options.master_key.size());
  } else {
    store::SqliteOptions store_options;
    store_options.path = (data_dir / "triggerd.db").string();
    store_options.master_key = master_key->bytes;
    store = store::OpenSqliteStore(store_options);
    OPENSSL_cleanse(store_options.master_key.data(), store_options.master_key.size());
  }
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
