// Secrets at rest, shared by every Store backend (docs/storage.md, "Secrets at rest").
//
// The columns listed in kSealedColumns hold secrets. The row mapping of each store passes each of
// them through SecretCodec: Seal when binding a row, Open when reading one, so the rest of the
// program sees plaintext domain records and the database holds only crypto::Sealer text
// ("enc:v1:<key id>:…"). Each value is bound to "<table>.<column>:<row id>" (the Sealer's
// context), so a sealed value copied to another column or row does not open. '' (the "none" of
// these columns) is kept as '': that a source has no signing secret is not a secret (the API says
// so, has_secret), and '' must keep meaning "none" to every reader.
//
// Adding a secret column: add it to kSealedColumns (which drives the scan at open of every
// backend), and Seal/Open it in the row mapping of store/sqlite/sqlite_store.cc AND
// store/postgres/pg_rows.cc.
//
// Rotating the master key (README "Secrets at rest"): a codec may hold previous keys besides the
// master key. Values sealed under a previous key open, and the scan at open of every backend
// re-seals them under the master key in the same transaction as it seals plaintext, so a
// database is, after a crash, either all under the old key (which the ring still opens) or all
// under the new one.
//
// Internal to store/. Thread safety: SecretCodec is immutable.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto_sealer.h"
#include "common/result.h"
#include "common/status.h"

namespace triggerd::store {

// A column holding a secret. Every table listed has a TEXT primary key `id`.
struct SealedColumn {
  std::string_view table;
  std::string_view column;
};

inline constexpr SealedColumn kSourceUrlSecret{"sources", "url_secret"};
inline constexpr SealedColumn kSourceSigningSecret{"sources", "signing_secret"};
// A schedule's or poll's configuration (schema 004): a poll's headers may carry credentials.
inline constexpr SealedColumn kSourceTriggerConfig{"sources", "trigger_config"};
// The whole target object: an http target's headers may carry credentials (Authorization, API
// keys) and its URL userinfo or query may too; a command's argv may hold a token.
inline constexpr SealedColumn kAgentTargetJson{"agents", "target_json"};
inline constexpr SealedColumn kAgentSigningSecret{"agents", "signing_secret"};
inline constexpr SealedColumn kAgentWebhookHmacSecret{"agent_webhooks", "hmac_secret"};

// Every sealed column, grouped by table (the scans at open read one table at a time).
// Not sealed, on purpose: the *_hash columns (SHA-256 of high-entropy tokens: nothing to
// recover), sources.auth_json (settings only: header names, algorithms, tolerances),
// token_prefix / prefix (a few characters to recognise a token, shown by the API).
inline constexpr SealedColumn kSealedColumns[] = {kSourceUrlSecret,     kSourceSigningSecret,
                                                  kSourceTriggerConfig, kAgentTargetJson,
                                                  kAgentSigningSecret,  kAgentWebhookHmacSecret};

class SecretCodec {
 public:
  // `master_key`: 32 raw bytes, or "" for a store without sealing, which writes these columns in
  // plaintext: for tests of other modules only (triggerd serve always passes a key; see
  // SqliteOptions::master_key). kInvalidArgument for any other size.
  // `previous_keys` (32 raw bytes each; only with a master key): the keyring of a rotation. Values
  // sealed under one of them open too, and CheckStored asks for them to be re-sealed under
  // `master_key`. Seal always uses `master_key`. A previous key equal to `master_key` is ignored.
  static Result<SecretCodec> Create(std::string_view master_key,
                                    std::span<const std::string> previous_keys = {});

  bool sealing() const { return sealer_.has_value(); }
  // The key id of the master key ("" when not sealing), for messages.
  std::string key_id() const { return sealer_ ? sealer_->key_id() : ""; }

  // The text to store for `plaintext` in `column` of row `row_id`.
  std::string Seal(const SealedColumn& column, std::string_view row_id,
                   std::string_view plaintext) const;
  // The plaintext of a stored value, sealed under the master key or a previous one. kInternal
  // (naming the column and row, never the value) when it does not open: a key outside the ring
  // (code crypto::Sealer::kWrongKey), altered, moved, or a sealed value met by a store without a
  // key. Without sealing, a value is returned as stored.
  Result<std::string> Open(const SealedColumn& column, std::string_view row_id,
                           std::string_view stored) const;

  // The check every backend runs at open on each stored value of kSealedColumns, before it
  // serves anything (a store that cannot open its secrets cannot verify sources or sign for
  // agents, so it must not start). OK with *to_seal set to the plaintext when the value is to be
  // sealed in place under the master key, in the scan's transaction: a plaintext value (a
  // database written before secrets were sealed, or by a store without a key) or one sealed under
  // a previous key (a rotation). OK and nullopt for '' or a value sealed under the master key.
  // Errors (kInvalidArgument): code crypto::Sealer::kWrongKey for a value sealed under a key
  // outside the ring, saying which key id the database needs; crypto::Sealer::kCorrupt for one
  // that does not authenticate, or for a sealed value while this codec has no key.
  Status CheckStored(const SealedColumn& column, std::string_view row_id, std::string_view stored,
                     std::optional<std::string>* to_seal) const;

  // The check of the database's own record of its master key (its key id, written at the first
  // open with a key: the PostgreSQL store's store_settings), so a node with another key is
  // refused even before any secret is stored, and a running node learns that the database moved
  // to a key outside its ring. OK when `database_key_id` is the master key's or a previous key's
  // (a rotation), or when this codec does not seal; else kInvalidArgument, code
  // crypto::Sealer::kWrongKey, with CheckStored's message.
  Status CheckDatabaseKeyId(std::string_view database_key_id) const;

 private:
  SecretCodec(std::optional<crypto::Sealer> sealer, std::vector<crypto::Sealer> previous)
      : sealer_(std::move(sealer)), previous_(std::move(previous)) {}

  Status WrongKey(std::string_view needed) const;

  // The sealer whose key id `stored` names: the master key's or a previous key's; nullptr when
  // none (Open then reports kWrongKey through the master key's sealer).
  const crypto::Sealer* SealerFor(std::string_view stored) const;

  std::optional<crypto::Sealer> sealer_;
  std::vector<crypto::Sealer> previous_;
};

}  // namespace triggerd::store
