#include "common/crypto_sealer.h"

#include <openssl/crypto.h>

#include <utility>

#include "common/crypto.h"

namespace triggerd::crypto {
namespace {

// Changing either label changes every derived key: existing databases would no longer open.
// A new scheme gets a new format version ("v2") and new labels instead.
constexpr std::string_view kSubKeyLabel = "triggerd secrets at rest: aes-256-gcm v1";
constexpr std::string_view kKeyIdLabel = "triggerd key id";
constexpr std::string_view kFormat = "enc:v1:";
constexpr size_t kKeyIdChars = 8;

Status Corrupt(std::string message) {
  return Status::Internal(std::move(message), std::string(Sealer::kCorrupt));
}

}  // namespace

Result<Sealer> Sealer::Create(std::string_view master_key) {
  if (master_key.size() != kMasterKeyBytes) {
    return Status::InvalidArgument("a master key must be " + std::to_string(kMasterKeyBytes) +
                                   " bytes, not " + std::to_string(master_key.size()));
  }
  return Sealer(Hmac(DigestAlgorithm::kSha256, master_key, kSubKeyLabel), KeyIdFor(master_key));
}

Sealer::~Sealer() { OPENSSL_cleanse(key_.data(), key_.size()); }

std::string Sealer::KeyIdFor(std::string_view master_key) {
  return HexEncode(Hmac(DigestAlgorithm::kSha256, master_key, kKeyIdLabel)).substr(0, kKeyIdChars);
}

std::string Sealer::Seal(std::string_view plaintext, std::string_view context) const {
  std::string nonce = RandomBytes(kAesGcmNonceBytes);
  std::string blob = nonce + AesGcmSeal(key_, nonce, plaintext, context);
  std::string out;
  out.reserve(kFormat.size() + kKeyIdChars + 1 + (blob.size() + 2) / 3 * 4);
  out.append(kFormat).append(key_id_).append(":").append(Base64Encode(blob));
  return out;
}

std::optional<std::string> Sealer::KeyIdOf(std::string_view stored) {
  if (stored.substr(0, kFormat.size()) != kFormat) return std::nullopt;
  std::string_view rest = stored.substr(kFormat.size());
  if (rest.size() <= kKeyIdChars || rest[kKeyIdChars] != ':') return std::nullopt;
  return std::string(rest.substr(0, kKeyIdChars));
}

Result<std::string> Sealer::Open(std::string_view sealed, std::string_view context) const {
  if (!IsSealed(sealed)) return Corrupt("not a sealed value");
  if (sealed.substr(0, kFormat.size()) != kFormat) {
    // Only the version, never more of the value: it is not secret, but it is not useful either.
    std::string_view version = sealed.substr(kPrefix.size(), 8);
    return Corrupt("sealed in a format this version does not know (\"" +
                   std::string(version.substr(0, version.find(':'))) + "\")");
  }
  std::optional<std::string> key_id = KeyIdOf(sealed);
  if (!key_id) return Corrupt("malformed sealed value (no key id)");
  if (*key_id != key_id_) {
    return Status::Internal(
        "sealed under master key " + *key_id + ", not the key in use (" + key_id_ + ")",
        std::string(kWrongKey));
  }
  std::optional<std::string> blob = Base64Decode(sealed.substr(kFormat.size() + kKeyIdChars + 1));
  if (!blob || blob->size() < kAesGcmNonceBytes + kAesGcmTagBytes) {
    return Corrupt("malformed sealed value (bad base64 or too short)");
  }
  std::string_view bytes = *blob;
  std::optional<std::string> plaintext = AesGcmOpen(key_, bytes.substr(0, kAesGcmNonceBytes),
                                                    bytes.substr(kAesGcmNonceBytes), context);
  if (!plaintext) {
    return Corrupt("sealed value does not authenticate (altered, or moved from another place)");
  }
  return std::move(*plaintext);
}

}  // namespace triggerd::crypto
