#include "store/secret_codec.h"

#include <string>
#include <utility>

namespace triggerd::store {
namespace {

std::string Where(const SealedColumn& column, std::string_view row_id) {
  std::string s;
  s.append(column.table).append(".").append(column.column).append(" of ").append(row_id);
  return s;
}

// The Sealer's context (additional authenticated data) of one value.
std::string Context(const SealedColumn& column, std::string_view row_id) {
  std::string s;
  s.append(column.table).append(".").append(column.column).append(":").append(row_id);
  return s;
}

}  // namespace

Result<SecretCodec> SecretCodec::Create(std::string_view master_key,
                                        std::span<const std::string> previous_keys) {
  if (master_key.empty()) {
    if (!previous_keys.empty()) {
      return Status::InvalidArgument("previous master keys need a master key to re-seal under");
    }
    return SecretCodec(std::nullopt, {});
  }
  Result<crypto::Sealer> sealer = crypto::Sealer::Create(master_key);
  if (!sealer) return sealer.error();
  std::vector<crypto::Sealer> previous;
  for (const std::string& key : previous_keys) {
    Result<crypto::Sealer> old = crypto::Sealer::Create(key);
    if (!old) return Status::InvalidArgument("previous master key: " + old.error().message());
    // SealerFor picks by key id: the master key named again as previous (an operator's slip
    // while rotating), or a key named twice, adds nothing.
    if (old->key_id() == sealer->key_id()) continue;
    bool seen = false;
    for (const crypto::Sealer& p : previous) seen = seen || p.key_id() == old->key_id();
    if (!seen) previous.push_back(std::move(old).value());
  }
  return SecretCodec(std::move(sealer).value(), std::move(previous));
}

const crypto::Sealer* SecretCodec::SealerFor(std::string_view stored) const {
  if (!sealer_) return nullptr;
  std::optional<std::string> id = crypto::Sealer::KeyIdOf(stored);
  if (!id || *id == sealer_->key_id()) return &*sealer_;
  for (const crypto::Sealer& p : previous_) {
    if (p.key_id() == *id) return &p;
  }
  return &*sealer_;  // its Open answers kWrongKey, naming the id the value needs
}

std::string SecretCodec::Seal(const SealedColumn& column, std::string_view row_id,
                              std::string_view plaintext) const {
  if (!sealer_ || plaintext.empty()) return std::string(plaintext);
  return sealer_->Seal(plaintext, Context(column, row_id));
}

Result<std::string> SecretCodec::Open(const SealedColumn& column, std::string_view row_id,
                                      std::string_view stored) const {
  if (!sealer_ || stored.empty()) return std::string(stored);
  if (!crypto::Sealer::IsSealed(stored)) {
    // Every write seals and the scan at open sealed what was there: plaintext here means the
    // database was changed behind the store's back. Refused, not served: it could be a secret an
    // attacker with write access to the database chose.
    return Status::Internal(Where(column, row_id) + ": stored in plaintext, expected sealed",
                            std::string(crypto::Sealer::kCorrupt));
  }
  Result<std::string> opened = SealerFor(stored)->Open(stored, Context(column, row_id));
  if (!opened) {
    return Status::Internal(Where(column, row_id) + ": " + opened.error().message(),
                            opened.error().code());
  }
  return opened;
}

Status SecretCodec::WrongKey(std::string_view needed) const {
  std::string in_use = key_id();
  for (const crypto::Sealer& p : previous_) in_use += ", previous " + p.key_id();
  return Status::InvalidArgument(
      "the secrets in this database were sealed with master key " + std::string(needed) +
          ", but the master key in use is " + in_use +
          ": start with that key (TRIGGERD_MASTER_KEY, or a copy of the database's "
          "master.key; during a rotation, with the other key as TRIGGERD_MASTER_KEY_PREVIOUS "
          "or master.key.previous); secrets sealed with a lost key cannot be recovered",
      std::string(crypto::Sealer::kWrongKey));
}

Status SecretCodec::CheckDatabaseKeyId(std::string_view database_key_id) const {
  if (!sealer_ || database_key_id == sealer_->key_id()) return Status::Ok();
  for (const crypto::Sealer& p : previous_) {
    if (p.key_id() == database_key_id) return Status::Ok();
  }
  return WrongKey(database_key_id);
}

Status SecretCodec::CheckStored(const SealedColumn& column, std::string_view row_id,
                                std::string_view stored,
                                std::optional<std::string>* to_seal) const {
  to_seal->reset();
  if (stored.empty()) return Status::Ok();
  if (!crypto::Sealer::IsSealed(stored)) {
    if (sealing()) *to_seal = std::string(stored);
    return Status::Ok();
  }
  if (!sealing()) {
    return Status::InvalidArgument("the database holds sealed secrets (" + Where(column, row_id) +
                                       ") but the store was opened without a master key",
                                   std::string(crypto::Sealer::kCorrupt));
  }
  Result<std::string> opened = Open(column, row_id, stored);
  if (opened) {
    if (SealerFor(stored) != &*sealer_) *to_seal = std::move(opened).value();
    return Status::Ok();
  }
  if (opened.error().code() == crypto::Sealer::kWrongKey) {
    return WrongKey(crypto::Sealer::KeyIdOf(stored).value_or("?"));
  }
  return Status::InvalidArgument(
      opened.error().message() + " (the database was altered or is damaged)",
      std::string(crypto::Sealer::kCorrupt));
}

}  // namespace triggerd::store
