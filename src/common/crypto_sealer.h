// Sealer: encrypts short secrets for storage (webhook signing secrets, URL secrets, agent target
// configuration) under a 32-byte master key, so a copy of the database file alone reveals none of
// them. docs/storage.md, "Secrets at rest", describes how the store uses it.
//
// Scheme. AES-256-GCM (crypto::AesGcmSeal) under a sub-key derived from the master key
// (HMAC-SHA256(master, label): HKDF-Expand with one block, RFC 5869, the master key being already
// uniformly random), with a fresh random 96-bit nonce per value and a 128-bit tag. The caller's
// `context` is the additional authenticated data: the store passes "<table>.<column>:<row id>",
// so a sealed value copied into another column or row does not open there. Random nonces bound
// a key to about 2^32 seals (NIST SP 800-38D, 8.3); the store seals only on configuration writes,
// many orders of magnitude below that.
//
// Stored text: "enc:v1:<key id>:<base64(nonce | ciphertext | tag)>". "v1" is the format (the
// scheme above); the key id is 8 hex characters of HMAC-SHA256(master, "triggerd key id"), a
// fingerprint that names the key without revealing it. It tells "sealed under another key" apart
// from "altered", which makes a wrong key a clear start-up error, and it is what a future key
// rotation needs to pick the old key for values not yet re-sealed.
//
// Thread safety: immutable after Create; Seal and Open may be called from any thread.
// The key material is wiped (OPENSSL_cleanse) when a Sealer is destroyed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triggerd::crypto {

class Sealer {
 public:
  static constexpr size_t kMasterKeyBytes = 32;
  // Every sealed value starts with this; nothing else the store writes into a sealed column does
  // (IsSealed tells a value of an older, plaintext database apart from a sealed one).
  static constexpr std::string_view kPrefix = "enc:";
  // Error codes of Open (Status::code()).
  static constexpr std::string_view kWrongKey = "wrong_master_key";
  static constexpr std::string_view kCorrupt = "sealed_value_corrupt";

  // kInvalidArgument unless `master_key` is kMasterKeyBytes raw bytes.
  static Result<Sealer> Create(std::string_view master_key);

  Sealer(const Sealer&) = default;
  Sealer& operator=(const Sealer&) = default;
  Sealer(Sealer&&) = default;
  Sealer& operator=(Sealer&&) = default;
  ~Sealer();

  // The stored text of `plaintext` bound to `context`. Two seals of the same plaintext differ
  // (fresh nonce). Never fails (aborts if the CSPRNG or OpenSSL does, as RandomBytes).
  std::string Seal(std::string_view plaintext, std::string_view context) const;
  // The plaintext of a value that Seal made with the same master key and `context`. Errors
  // (kInternal; the message never holds the value): code kWrongKey when the value names another
  // key id; kCorrupt when it is malformed, of an unknown format version, or does not
  // authenticate (altered bytes, or a value moved from another context).
  Result<std::string> Open(std::string_view sealed, std::string_view context) const;

  // This master key's id (8 lower-case hex characters).
  const std::string& key_id() const { return key_id_; }

  // Whether a stored text is in the sealed format (starts with kPrefix). Says nothing of
  // whether it opens.
  static bool IsSealed(std::string_view stored) { return stored.substr(0, 4) == kPrefix; }
  // The key id a sealed value names, or nullopt when it is not "enc:v1:<id>:…".
  static std::optional<std::string> KeyIdOf(std::string_view stored);
  // The id Sealer::Create(master_key).key_id() would have. REQUIRES: a 32-byte key.
  static std::string KeyIdFor(std::string_view master_key);

 private:
  Sealer(std::string key, std::string key_id) : key_(std::move(key)), key_id_(std::move(key_id)) {}

  std::string key_;  // the AES-256 sub-key, never the master key itself
  std::string key_id_;
};

}  // namespace triggerd::crypto
