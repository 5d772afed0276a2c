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

Result<SecretCodec> SecretCodec::Create(std::string_view master_key) {
  if (master_key.empty()) return SecretCodec(std::nullopt);
  Result<crypto::Sealer> sealer = crypto::Sealer::Create(master_key);
  if (!sealer) return sealer.error();
  return SecretCodec(std::move(sealer).value());
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
  Result<std::string> opened = sealer_->Open(stored, Context(column, row_id));
  if (!opened) {
    return Status::Internal(Where(column, row_id) + ": " + opened.error().message(),
                            opened.error().code());
  }
  return opened;
}

Status SecretCodec::CheckStored(const SealedColumn& column, std::string_view row_id,
                                std::string_view stored, bool* needs_sealing) const {
  *needs_sealing = false;
  if (stored.empty()) return Status::Ok();
  if (!crypto::Sealer::IsSealed(stored)) {
    *needs_sealing = sealing();
    return Status::Ok();
  }
  if (!sealing()) {
    return Status::InvalidArgument("the database holds sealed secrets (" + Where(column, row_id) +
                                       ") but the store was opened without a master key",
                                   std::string(crypto::Sealer::kCorrupt));
  }
  Result<std::string> opened = Open(column, row_id, stored);
  if (opened) return Status::Ok();
  if (opened.error().code() == crypto::Sealer::kWrongKey) {
    std::string needed = crypto::Sealer::KeyIdOf(stored).value_or("?");
    return Status::InvalidArgument(
        "the secrets in this database were sealed with master key " + needed +
            ", but the master key in use is " + key_id() +
            ": start with the key this database was created with (a copy of its "
            "master.key, or TRIGGERD_MASTER_KEY); secrets sealed with a lost key cannot be "
            "recovered",
        std::string(crypto::Sealer::kWrongKey));
  }
  return Status::InvalidArgument(
      opened.error().message() + " (the database was altered or is damaged)",
      std::string(crypto::Sealer::kCorrupt));
}

}  // namespace triggerd::store
