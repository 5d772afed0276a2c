// Secrets at rest in the SQLite store (docs/storage.md, "Secrets at rest").
//
// The columns listed in kSealedColumns hold secrets. The row mapping of sqlite_store.cc passes
// each of them through SecretCodec: Seal when binding a row, Open when reading one, so the rest of
// the program sees plaintext domain records and the database file holds only
// crypto::Sealer text ("enc:v1:<key id>:…"). Each value is bound to "<table>.<column>:<row id>"
// (the Sealer's context), so a sealed value copied to another column or row does not open.
// '' (the "none" of these columns) is kept as '': that a source has no signing secret is not a
// secret (the API says so, has_secret), and '' must keep meaning "none" to every reader.
//
// Adding a secret column: see store/secret_codec.h (kSealedColumns, and every backend's row
// mapping).
//
// Internal to store/sqlite. Thread safety: SecretCodec is immutable; SealSecretsAtRest uses only
// the connection it is given.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/crypto_sealer.h"
#include "common/result.h"
#include "common/status.h"
#include "store/secret_codec.h"

namespace triggerd::store::sqlite {

class Connection;

// SealedColumn, kSealedColumns and SecretCodec are shared with the PostgreSQL store:
// store/secret_codec.h.

// Run once at open, on the writer connection before the store serves anything, after the
// migrations. Reads every value of kSealedColumns in one IMMEDIATE transaction:
//  * a sealed value must open under `codec` (else the store must not start: it would serve
//    sources that cannot verify and agents that cannot sign). A value sealed under a key outside
//    its ring: kInvalidArgument, code crypto::Sealer::kWrongKey, saying which key id the
//    database needs;
//    one that does not authenticate, or a sealed value while `codec` has no key:
//    kInvalidArgument, code crypto::Sealer::kCorrupt.
//  * a plaintext value (a database written before secrets were sealed, or by a store without a
//    key), or one sealed under a previous key of `codec` (a master key rotation), is sealed in
//    place under the master key, in the same transaction: a crash leaves every value as it was
//    or every value re-sealed. Idempotent: a second run finds nothing to do.
// When it sealed anything, the old text must not survive anywhere in the files: the update
// runs with secure_delete on, then VACUUM rewrites the database (freed pages and cells that held
// earlier plaintext, e.g. a secret rotated before the upgrade, or values sealed under a retired
// master key, which whoever holds that key could open, are gone), then a TRUNCATE checkpoint
// empties the WAL. VACUUM takes time and free disk space in proportion to the file, once, at the
// first start of a sealing version on an old database and at the first start after a rotation.
// `sealed` (optional) receives how many values were sealed or re-sealed in place.
Status SealSecretsAtRest(Connection& db, const SecretCodec& codec, int* sealed = nullptr);

}  // namespace triggerd::store::sqlite
