#include "app/admin_commands.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "api/api.h"
#include "app/data_dir.h"
#include "common/clock.h"
#include "common/crypto_master_key.h"
#include "common/crypto_sealer.h"

namespace triggerd::app {
namespace {

constexpr int kFailed = 1;
constexpr int kUsage = 2;

Result<store::Workspace> FindWorkspace(store::Store* store, const std::string& id_or_name) {
  auto all = store->ListWorkspaces();
  if (!all) return all.error();
  const store::Workspace* found = nullptr;
  for (const store::Workspace& w : *all) {
    if (w.id == id_or_name) return w;
    if (w.name == id_or_name) {
      if (found != nullptr) {
        return Status::InvalidArgument("two workspaces are named \"" + id_or_name +
                                       "\": give the id");
      }
      found = &w;
    }
  }
  if (found == nullptr) {
    return Status::NotFound("no workspace \"" + id_or_name +
                            "\" (the first `triggerd serve` creates \"default\")");
  }
  return *found;
}

// The new key of a rotation, from its file or environment variable (removed once read).
Result<crypto::MasterKey> LoadNewKey(const RotateMasterKeyCommand& command) {
  if (!command.new_key_file.empty()) {
    Result<crypto::MasterKey> key = crypto::ReadMasterKeyFile(command.new_key_file);
    if (!key) {
      return Status(key.error().type(), key.error().code(), "new key: " + key.error().message());
    }
    return key;
  }
  const char* value = std::getenv(command.new_key_env.c_str());
  if (value == nullptr) {
    return Status::InvalidArgument("new key: " + command.new_key_env + " is not set");
  }
  std::string text = value;
  ::unsetenv(command.new_key_env.c_str());
  Result<std::string> bytes = crypto::ParseMasterKey(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!bytes) {
    return Status::InvalidArgument("new key: " + command.new_key_env + ": " +
                                   bytes.error().message());
  }
  crypto::MasterKey key;
  key.bytes = std::move(bytes).value();
  key.origin = command.new_key_env;
  return key;
}

// Opens the store with `key` and `previous`, closes it, and returns how many values the open
// sealed in place.
Result<uint64_t> ResealWith(const RotateMasterKeyCommand& command, const std::string& key,
                            std::vector<std::string> previous) {
  Result<std::unique_ptr<store::Store>> opened =
      OpenStoreWithKeys(command.data_dir, StorageChoice{command.storage, 2, ""}, key, previous);
  for (std::string& k : previous) OPENSSL_cleanse(k.data(), k.size());
  if (!opened) return opened.error();
  const uint64_t sealed = (*opened)->Stats().secrets_sealed_at_open;
  (*opened)->Close();
  return sealed;
}

// Removes <data dir>/master.key.previous (and makes the removal durable), if it exists.
Status RemovePreviousKeyFile(const std::filesystem::path& data_dir) {
  const std::filesystem::path path = data_dir / crypto::kPreviousMasterKeyFileName;
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Internal("cannot remove " + path.string() + ": " + std::strerror(errno));
  }
  const int fd = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced) return Status::Internal("cannot sync directory " + data_dir.string());
  return Status::Ok();
}

}  // namespace

int RunMigrate(const std::string& data_dir, const std::string& storage, std::ostream& out,
               std::ostream& err) {
  // A mistyped --data-dir must not become a new database with a new master key; an existing
  // directory (made for the purpose) may get its first one.
  std::error_code ec;
  if (!IsPostgresUrl(storage) && !std::filesystem::is_directory(data_dir, ec)) {
    err << "error: no data dir at " << data_dir
        << " (create it first; triggerd serve creates it at its first start)\n";
    return kFailed;
  }
  auto opened = OpenDataDir(data_dir, StorageChoice{storage, 2, ""});
  if (!opened) {
    err << "error: " << opened.error().message() << "\n";
    return kFailed;
  }
  opened->store->Close();
  out << "database " << DescribeStorage(data_dir, storage) << " is at schema version "
      << (opened->postgres ? store::LatestPostgresSchemaVersion()
                           : store::LatestSqliteSchemaVersion())
      << "\n";
  return 0;
}

int RunKey(const KeyCommand& command, std::ostream& out, std::ostream& err) {
  if (command.action != "create" && command.action != "list" && command.action != "revoke") {
    err << "error: key takes create, list or revoke\n";
    return kUsage;
  }
  std::optional<store::Role> role = store::ParseRole(command.role);
  if (command.action == "create" && !role) {
    err << "error: --role must be admin, builder or user\n";
    return kUsage;
  }
  if (command.action == "create" && (command.name.empty() || command.name.size() > 200)) {
    err << "error: --name must be 1 to 200 characters\n";
    return kUsage;
  }
  if (command.action == "revoke" && command.key_id.empty()) {
    err << "error: key revoke needs a KEY_ID (see key list)\n";
    return kUsage;
  }
  // Keys live in a database the server made: a mistyped --data-dir must not get a new empty
  // database and a new master key of its own.
  std::error_code ec;
  if (!IsPostgresUrl(command.storage) &&
      !std::filesystem::exists(std::filesystem::path(command.data_dir) / "triggerd.db", ec)) {
    err << "error: no database at " << DescribeStorage(command.data_dir, command.storage)
        << " (triggerd serve creates it at its first start)\n";
    return kFailed;
  }
  auto opened = OpenDataDir(command.data_dir, StorageChoice{command.storage, 2, ""});
  if (!opened) {
    err << "error: " << opened.error().message() << "\n";
    return kFailed;
  }
  store::Store* store = opened->store.get();
  const Clock& clock = SystemClock::Instance();
  auto fail = [&](const Status& s) {
    err << "error: " << s.message() << "\n";
    store->Close();
    return kFailed;
  };

  if (command.action == "create") {
    auto workspace = FindWorkspace(store, command.workspace);
    if (!workspace) return fail(workspace.error());
    auto issued = api::IssueApiKey(store, clock, workspace->id, command.name, *role, "cli");
    if (!issued) return fail(issued.error());
    store->Close();
    err << "created " << store::RoleName(issued->record.role) << " key " << issued->record.id
        << " in workspace " << workspace->name << " (" << workspace->id
        << "); it is shown only now:\n";
    out << issued->secret << "\n";
    return 0;
  }

  auto workspaces = store->ListWorkspaces();
  if (!workspaces) return fail(workspaces.error());
  if (command.action == "list") {
    out << "id\tworkspace\trole\tname\tprefix\tcreated_at\trevoked_at\n";
    for (const store::Workspace& w : *workspaces) {
      auto keys = store->ListApiKeys(w.id);
      if (!keys) return fail(keys.error());
      for (const store::ApiKey& k : *keys) {
        out << k.id << "\t" << w.name << "\t" << store::RoleName(k.role) << "\t" << k.name << "\t"
            << k.prefix << "\t" << FormatRfc3339(k.created_at) << "\t"
            << (k.revoked_at ? FormatRfc3339(*k.revoked_at) : "-") << "\n";
      }
    }
    store->Close();
    return 0;
  }

  // revoke
  for (const store::Workspace& w : *workspaces) {
    auto keys = store->ListApiKeys(w.id);
    if (!keys) return fail(keys.error());
    for (const store::ApiKey& k : *keys) {
      if (k.id != command.key_id) continue;
      if (k.revoked_at) {
        store->Close();
        err << "key " << k.id << " was already revoked\n";
        return 0;
      }
      if (Status s = store->RevokeApiKey(w.id, k.id, clock.NowMicros()); !s.ok()) return fail(s);
      store->Close();
      err << "revoked key " << k.id << " (" << k.name << ", workspace " << w.name << ")\n";
      return 0;
    }
  }
  return fail(Status::NotFound("no key " + command.key_id));
}

int RunRotateMasterKey(const RotateMasterKeyCommand& command, std::ostream& out,
                       std::ostream& err) {
  if (command.new_key_file.empty() == command.new_key_env.empty()) {
    err << "error: key rotate-master takes exactly one of --new-key-file PATH and "
           "--new-key-env NAME\n";
    return kUsage;
  }
  if (command.new_key_env == crypto::kMasterKeyEnv ||
      command.new_key_env == crypto::kPreviousMasterKeyEnv) {
    err << "error: --new-key-env cannot be " << command.new_key_env
        << ", which holds the current (or previous) key; put the new key in another variable\n";
    return kUsage;
  }
  const bool postgres = IsPostgresUrl(command.storage);
  const std::filesystem::path data_dir(command.data_dir);
  std::error_code ec;
  if (!postgres && !std::filesystem::exists(data_dir / "triggerd.db", ec)) {
    err << "error: no database at " << DescribeStorage(command.data_dir, command.storage) << "\n";
    return kFailed;
  }
  Result<crypto::MasterKey> new_key = LoadNewKey(command);
  if (!new_key) {
    err << "error: " << new_key.error().message() << "\n";
    return kFailed;
  }
  Result<DataDirKeys> keys = LoadDataDirKeys(command.data_dir, /*create_key=*/false);
  if (!keys) {
    err << "error: " << keys.error().message() << "\n";
    return kFailed;
  }
  // The key file case: this command moves the keys between master.key and master.key.previous.
  // With TRIGGERD_MASTER_KEY, the keys live in the operator's deployment, not here.
  const bool key_file = keys->current.origin != crypto::kMasterKeyEnv;
  const std::string old_id = crypto::Sealer::KeyIdFor(keys->current.bytes);
  const std::string new_id = crypto::Sealer::KeyIdFor(new_key->bytes);
  auto fail = [&](const Status& s, const std::string& state) {
    err << "error: " << s.message() << "\n" << state << "\n";
    return kFailed;
  };
  std::vector<std::string> ring;  // the previous key of the current ring, if any
  if (keys->previous) ring.push_back(keys->previous->bytes);

  uint64_t resealed = 0;
  if (new_id == old_id) {
    // Already current: a rotation that stopped after step 2, or a repeated run. Step 3 with the
    // ring as it is, then step 4.
    Result<uint64_t> sealed = ResealWith(command, keys->current.bytes, std::move(ring));
    if (!sealed) return fail(sealed.error(), "nothing was changed");
    resealed = *sealed;
  } else {
    // Step 1: the current ring opens the database, and nothing is left under an older key.
    Result<uint64_t> settled = ResealWith(command, keys->current.bytes, std::move(ring));
    if (!settled) {
      return fail(settled.error(), "nothing was changed: the current master key " + old_id +
                                       " (from " + keys->current.origin +
                                       ") must open the database before it can be rotated");
    }
    // Step 2. After the first write any start still opens with {old, previous = old}; after the
    // second, with {new, previous = old}.
    if (key_file) {
      for (const auto& [name, key] :
           {std::pair{crypto::kPreviousMasterKeyFileName, &keys->current.bytes},
            std::pair{crypto::kMasterKeyFileName, &new_key->bytes}}) {
        if (Status s = crypto::WriteMasterKeyFile(data_dir / name, *key); !s.ok()) {
          return fail(s, "the database was not changed; " + (data_dir / name).string() +
                             " holds the key it held before, or the current one");
        }
      }
    }
    // Step 3.
    Result<uint64_t> sealed = ResealWith(command, new_key->bytes, {keys->current.bytes});
    if (!sealed) {
      // The re-sealing is one transaction, but an error may come after its commit (SQLite's
      // VACUUM or checkpoint, e.g. busy beside a running server): the database is then under the
      // new key. Both keys together open either state.
      return fail(sealed.error(),
                  key_file
                      ? "master.key now holds the new key " + new_id +
                            " and master.key.previous the old one " + old_id +
                            ": a start opens the database with both, whether or not the "
                            "re-sealing committed, and finishes it; or run this command "
                            "again"
                      : "the re-sealing is one transaction: every secret is still under " + old_id +
                            ", or (an error after the commit) every one is under " + new_id +
                            "; run again, or start with " + std::string(crypto::kMasterKeyEnv) +
                            " = the new key and " + std::string(crypto::kPreviousMasterKeyEnv) +
                            " = the old one, which opens both and finishes it");
    }
    resealed = *sealed;
  }
  // Step 4.
  if (key_file) {
    if (Status s = RemovePreviousKeyFile(data_dir); !s.ok()) {
      return fail(s, "every secret is sealed under the new key " + new_id +
                         "; master.key.previous is no longer needed: remove it");
    }
  }
  out << "old_key_id\t" << old_id << "\n"
      << "new_key_id\t" << new_id << "\n"
      << "resealed\t" << resealed << "\n";
  err << "every secret in " << DescribeStorage(command.data_dir, command.storage)
      << " is now sealed under master key " << new_id << " (" << resealed << " values re-sealed"
      << (new_id == old_id ? "; the key was already current" : " from " + old_id) << ")\n";
  if (key_file) {
    err << (data_dir / crypto::kMasterKeyFileName).string()
        << " holds the new key: back it up, and restart the server if one is running\n";
  } else {
    err << "now start every node with " << crypto::kMasterKeyEnv << " set to the new key (id "
        << new_id << "); the old key " << old_id << " alone no longer opens this database\n";
  }
  return 0;
}

}  // namespace triggerd::app
