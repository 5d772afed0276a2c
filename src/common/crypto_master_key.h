// Where the master key that seals secrets at rest (common/crypto_sealer.h) comes from: the
// TRIGGERD_MASTER_KEY environment variable when set, else the key file <data dir>/master.key,
// created on first start. README.md ("Secrets at rest") tells operators how to supply and back up
// the key: without it the sealed secrets cannot be recovered.
//
// Rotation (README "Secrets at rest") adds a previous key, from TRIGGERD_MASTER_KEY_PREVIOUS or
// <data dir>/master.key.previous, and `triggerd key rotate-master` replaces key files atomically.
//
// Thread safety: the loaders and WriteMasterKeyFile touch the file system and are meant for
// start-up and the CLI; ParseMasterKey is pure.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triggerd::crypto {

inline constexpr std::string_view kMasterKeyEnv = "TRIGGERD_MASTER_KEY";
inline constexpr std::string_view kMasterKeyFileName = "master.key";
// The previous master key during a rotation: values still sealed under it open, and the store
// re-seals them under the current key at open (SqliteOptions::previous_master_keys).
inline constexpr std::string_view kPreviousMasterKeyEnv = "TRIGGERD_MASTER_KEY_PREVIOUS";
inline constexpr std::string_view kPreviousMasterKeyFileName = "master.key.previous";

struct MasterKey {
  MasterKey() = default;
  MasterKey(const MasterKey&) = default;
  MasterKey& operator=(const MasterKey&) = default;
  MasterKey(MasterKey&&) = default;
  MasterKey& operator=(MasterKey&&) = default;
  ~MasterKey();  // wipes `bytes`

  std::string bytes;     // 32 raw bytes
  std::string origin;    // "TRIGGERD_MASTER_KEY" or the key file's path: for messages, not secret
  bool created = false;  // the key file did not exist and this call created it
};

// 32 bytes written as 64 hex characters (either case) or in base64 (standard or URL-safe
// alphabet, padding optional), with surrounding whitespace ignored. kInvalidArgument otherwise;
// the message says what is expected and never repeats the text.
Result<std::string> ParseMasterKey(std::string_view text);

// `env_value`: TRIGGERD_MASTER_KEY's value when the variable is set (even to ""), else nullopt.
//  * Set: it is the key; a malformed value is an error (never a fallback to the file, which
//    would silently seal with a key the operator did not choose).
//  * Not set: <data_dir>/master.key (data_dir must exist). A missing file is created with a
//    fresh random key, mode 0600 from the first byte: written and fsync'd under a temporary name
//    opened O_EXCL, then hard-linked into place (link never replaces an existing file, so two
//    starts racing end up with the same key) and the directory fsync'd, so a crash leaves either
//    no key file or a complete one. An existing file is refused, as ssh refuses a private key,
//    when group or others have any permission on it (the message says to chmod 600), when it is
//    not a regular file, or when its text is not a key (ParseMasterKey).
// Errors: kInvalidArgument for a bad key or mode, kInternal for I/O; messages name the origin.
Result<MasterKey> LoadMasterKey(const std::filesystem::path& data_dir,
                                std::optional<std::string_view> env_value);

// The previous master key of a rotation, never created. `env_value`: TRIGGERD_MASTER_KEY_PREVIOUS's
// value when the variable is set: the key, or none when it is empty or blank (so a deployment can
// clear it without unsetting it); the file is then not read. Not set:
// <data_dir>/master.key.previous when it exists, with master.key's checks (regular file, no
// group or other access, a key); nullopt when it does not. Errors as LoadMasterKey.
Result<std::optional<MasterKey>> LoadPreviousMasterKey(const std::filesystem::path& data_dir,
                                                       std::optional<std::string_view> env_value);

// A key file at `path` (e.g. a new key for a rotation, made with `openssl rand -base64 32`), with
// master.key's checks. Never creates it.
Result<MasterKey> ReadMasterKeyFile(const std::filesystem::path& path);

// Replaces (or creates) the key file `path` with `key` (32 raw bytes), atomically: the text is
// written to a temporary file beside it, mode 0600 from the first byte, fsync'd, renamed over
// `path`, and the directory fsync'd. After a crash `path` holds the old key or the new one, never
// a mix (a stray temporary file may remain). kInternal for I/O errors.
Status WriteMasterKeyFile(const std::filesystem::path& path, std::string_view key);

}  // namespace triggerd::crypto
