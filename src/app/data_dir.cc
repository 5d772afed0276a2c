#include "app/data_dir.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>
#include <utility>

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

namespace {

// The variable's value, removed from the environment either way.
std::optional<std::string> TakeEnv(std::string_view name) {
  std::optional<std::string> value;
  if (const char* v = std::getenv(std::string(name).c_str())) value = v;
  ::unsetenv(std::string(name).c_str());
  return value;
}

void Wipe(std::optional<std::string>& value) {
  if (value) OPENSSL_cleanse(value->data(), value->size());
}

Status CheckStorage(const std::string& data_dir, const StorageChoice& storage) {
  if (!IsPostgresUrl(storage.storage) && !storage.storage.empty() && storage.storage != "sqlite") {
    return Status::InvalidArgument("storage must be \"sqlite\" or a postgres:// URL, not \"" +
                                   DescribeStorage(data_dir, storage.storage) + "\"");
  }
  return Status::Ok();
}

}  // namespace

Result<DataDirKeys> LoadDataDirKeys(const std::string& data_dir_text, bool create_key) {
  const std::filesystem::path data_dir(data_dir_text);
  std::optional<std::string> env_key = TakeEnv(crypto::kMasterKeyEnv);
  std::optional<std::string> env_previous = TakeEnv(crypto::kPreviousMasterKeyEnv);
  Result<DataDirKeys> keys = [&]() -> Result<DataDirKeys> {
    DataDirKeys out;
    const std::filesystem::path key_file = data_dir / crypto::kMasterKeyFileName;
    std::error_code ec;
    if (!env_key && !create_key && !std::filesystem::exists(key_file, ec)) {
      return Status::NotFound("no master key: " + std::string(crypto::kMasterKeyEnv) +
                              " is not set and " + key_file.string() + " does not exist");
    }
    Result<crypto::MasterKey> current = crypto::LoadMasterKey(data_dir, env_key);
    if (!current) return current.error();
    out.current = std::move(current).value();
    Result<std::optional<crypto::MasterKey>> previous =
        crypto::LoadPreviousMasterKey(data_dir, env_previous);
    if (!previous) return previous.error();
    out.previous = std::move(previous).value();
    return out;
  }();
  Wipe(env_key);
  Wipe(env_previous);
  return keys;
}

Result<std::unique_ptr<store::Store>> OpenStoreWithKeys(const std::string& data_dir,
                                                        const StorageChoice& storage,
                                                        const std::string& key,
                                                        const std::vector<std::string>& previous) {
  TRIGGERD_RETURN_IF_ERROR(CheckStorage(data_dir, storage));
  Result<std::unique_ptr<store::Store>> store = Status::Internal("no store");
  if (IsPostgresUrl(storage.storage)) {
    store::PostgresOptions store_options;
    store_options.url = storage.storage;
    store_options.pool_size = storage.pool_size;
    if (!storage.node_name.empty()) store_options.application_name = storage.node_name;
    store_options.master_key = key;
    store_options.previous_master_keys = previous;
    store = store::OpenPostgresStore(store_options);
    OPENSSL_cleanse(store_options.master_key.data(), store_options.master_key.size());
    for (std::string& k : store_options.previous_master_keys) OPENSSL_cleanse(k.data(), k.size());
  } else {
    store::SqliteOptions store_options;
    store_options.path = (std::filesystem::path(data_dir) / "triggerd.db").string();
    store_options.master_key = key;
    store_options.previous_master_keys = previous;
    store = store::OpenSqliteStore(store_options);
    OPENSSL_cleanse(store_options.master_key.data(), store_options.master_key.size());
    for (std::string& k : store_options.previous_master_keys) OPENSSL_cleanse(k.data(), k.size());
  }
  return store;
}

Result<OpenedDataDir> OpenDataDir(const std::string& data_dir_text, const StorageChoice& storage) {
  TRIGGERD_RETURN_IF_ERROR(CheckStorage(data_dir_text, storage));
  std::error_code ec;
  std::filesystem::path data_dir(data_dir_text);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status::Internal("cannot create data dir " + data_dir_text + ": " + ec.message());
  }
  ::chmod(data_dir.c_str(), 0700);

  Result<DataDirKeys> keys = LoadDataDirKeys(data_dir_text, /*create_key=*/true);
  if (!keys) return keys.error();

  OpenedDataDir opened;
  opened.key_origin = keys->current.origin;
  opened.key_id = crypto::Sealer::KeyIdFor(keys->current.bytes);
  opened.key_created = keys->current.created;
  opened.postgres = IsPostgresUrl(storage.storage);
  std::vector<std::string> previous;
  if (keys->previous) {
    opened.previous_key_origin = keys->previous->origin;
    opened.previous_key_id = crypto::Sealer::KeyIdFor(keys->previous->bytes);
    previous.push_back(keys->previous->bytes);
  }
  Result<std::unique_ptr<store::Store>> store =
      OpenStoreWithKeys(data_dir_text, storage, keys->current.bytes, previous);
  for (std::string& k : previous) OPENSSL_cleanse(k.data(), k.size());
  if (!store) {
    if (store.error().code() == crypto::Sealer::kWrongKey) {
      std::string origins = keys->current.origin;
      if (keys->previous) origins += "; the previous key from " + keys->previous->origin;
      return Status(store.error().type(), store.error().code(),
                    store.error().message() + " (the master key in use came from " + origins + ")");
    }
    return store.error();
  }
  opened.store = std::move(store).value();
  opened.secrets_sealed_at_open = opened.store->Stats().secrets_sealed_at_open;
  return opened;
}

}  // namespace triggerd::app
