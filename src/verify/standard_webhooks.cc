// Standard Webhooks (and Svix, which sends the same headers as svix-*): content
// "id.ts.body"; `webhook-signature` is a space-delimited list of "v1,<base64 HMAC-SHA256>" and
// "v1a,<base64 Ed25519>"; any match passes and unknown versions are skipped. The HMAC key is the
// base64-decoded part after `whsec_` (the prefix is optional; Stripe's whsec_ means something
// else, see stripe.cc). `whpk_`+base64 secrets are Ed25519 public keys for v1a. Key length is
// not enforced: Svix's own example key is 18 bytes. Window |now - ts| <= 300 s.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr size_t kMaxSignatures = 8;
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::string_view kPublicKeyPrefix = "whpk_";
constexpr std::string_view kPrivateKeyPrefix = "whsk_";

struct Keys {
  std::vector<std::string> hmac;     // raw HMAC keys
  std::vector<std::string> ed25519;  // raw 32-byte public keys
};

Status DecodeSecret(std::string_view secret, Keys* keys) {
  if (secret.starts_with(kPublicKeyPrefix)) {
    auto key = crypto::Base64Decode(secret.substr(kPublicKeyPrefix.size()));
    if (!key || key->size() != 32) {
      return Status::InvalidArgument(
          "a standard-webhooks whpk_ key must be base64 of a 32-byte Ed25519 public key");
    }
    keys->ed25519.push_back(std::move(*key));
    return Status::Ok();
  }
  if (secret.starts_with(kPrivateKeyPrefix)) {
    return Status::InvalidArgument(
        "a standard-webhooks whsk_ key is a private signing key; give the verifier its whpk_ "
        "public key");
  }
  if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
  auto key = crypto::Base64Decode(secret);
  if (!key || key->empty()) {
    return Status::InvalidArgument(
        "a standard-webhooks signing secret must be whsec_ followed by base64");
  }
  keys->hmac.push_back(std::move(*key));
  return Status::Ok();
}

class StandardWebhooksVerifier final : public Verifier {
 public:
  StandardWebhooksVerifier(Keys keys, int64_t tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    // One family of headers for all three: a webhook-id must not pair with a svix-signature.
    const bool svix = !FindHeader(request.headers, "webhook-signature") &&
                      FindHeader(request.headers, "svix-signature");
    const std::string_view id_name = svix ? "svix-id" : "webhook-id";
    const std::string_view ts_name = svix ? "svix-timestamp" : "webhook-timestamp";
    const std::string_view sig_name = svix ? "svix-signature" : "webhook-signature";
    std::string_view id, timestamp, signatures;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, sig_name, &signatures));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, id_name, &id));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, ts_name, &timestamp));
    if (id.empty()) return Refuse(kMalformedSignature, std::string(id_name) + " is empty");
    auto ts = ParseDecimal(timestamp, 12);
    if (!ts) return Refuse(kMalformedSignature, std::string(ts_name) + " is not a unix time");

    std::string_view v1[kMaxSignatures], v1a[kMaxSignatures];
    size_t v1_count = 0, v1a_count = 0;
    bool too_many = false;
    // Only the versions we hold keys for count; the rest are skipped, as the spec says.
    ForEachPiece(signatures, ' ', [&](std::string_view piece) {
      const bool is_v1 = piece.starts_with("v1,") && !keys_.hmac.empty();
      const bool is_v1a = piece.starts_with("v1a,") && !keys_.ed25519.empty();
      if (!is_v1 && !is_v1a) return true;
      if (v1_count + v1a_count == kMaxSignatures) {
        too_many = true;
        return false;
      }
      if (is_v1) {
        v1[v1_count++] = piece.substr(3);
      } else {
        v1a[v1a_count++] = piece.substr(4);
      }
      return true;
    });
    if (too_many) {
      return Refuse(kMalformedSignature, std::string(sig_name) + " carries too many signatures");
    }
    if (v1_count + v1a_count == 0) {
      return Refuse(kMalformedSignature, std::string(sig_name) + " has no " +
                                             (keys_.hmac.empty() ? "v1a," : "v1,") + " signature");
    }
    if (!Matches(id, timestamp, request.body, v1, v1_count, v1a, v1a_count)) {
      return Refuse(kInvalidSignature, std::string(sig_name) + " does not match the body");
    }
    return CheckWindow(request.now_unix, *ts, tolerance_, Window::kBothWays, ts_name);
  }

 private:
  bool Matches(std::string_view id, std::string_view ts, std::string_view body,
               const std::string_view* v1, size_t v1_count, const std::string_view* v1a,
               size_t v1a_count) const {
    for (const auto& key : keys_.hmac) {
      const std::string mac =
          crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key, {id, ".", ts, ".", body});
      for (size_t i = 0; i < v1_count; ++i) {
        if (SignatureWellFormed(v1[i], mac.size(), SignatureEncoding::kBase64,
                                Strictness::kCanonical) &&
            SignatureMatches(v1[i], mac, SignatureEncoding::kBase64, Strictness::kCanonical)) {
          return true;
        }
      }
    }
    if (v1a_count == 0) return false;
    // Ed25519 signs one contiguous message, so this copy of the body is unavoidable.
    std::string message;
    message.reserve(id.size() + ts.size() + body.size() + 2);
    message.append(id).append(".").append(ts).append(".").append(body);
    for (size_t i = 0; i < v1a_count; ++i) {
      if (v1a[i].size() != 88) continue;  // base64 of 64 bytes, padded
      auto sig = crypto::Base64Decode(v1a[i]);
      if (!sig || sig->size() != 64) continue;
      for (const auto& key : keys_.ed25519) {
        if (crypto::Ed25519Verify(key, message, *sig)) return true;
      }
    }
    return false;
  }

  const Keys keys_;
  const int64_t tolerance_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeStandardWebhooksVerifier(std::string_view kind,
                                                               const AuthSettings& settings,
                                                               const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  Keys keys;
  for (const auto& s : secrets.signing) TRIGGERD_RETURN_IF_ERROR(DecodeSecret(s, &keys));
  return std::unique_ptr<Verifier>(std::make_unique<StandardWebhooksVerifier>(
      std::move(keys), Tolerance(settings, *FindScheme(kind))));
}

Result<Headers> SignStandardWebhooks(std::string_view kind, const AuthSettings& settings,
                                     std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const std::string id = request.message_id.empty() ? "msg_" + crypto::RandomToken(24)
                                                    : std::string(request.message_id);
  const std::string ts = FormatDecimal(request.now_unix);
  std::string signature;
  if (secret.starts_with(kPrivateKeyPrefix)) {
    auto seed = crypto::Base64Decode(secret.substr(kPrivateKeyPrefix.size()));
    if (!seed || seed->size() != 32) {
      return Status::InvalidArgument("a whsk_ key must be base64 of a 32-byte Ed25519 seed");
    }
    signature = "v1a," + crypto::Base64Encode(crypto::Ed25519Sign(
                             *seed, id + "." + ts + "." + std::string(request.body)));
  } else {
    Keys keys;
    TRIGGERD_RETURN_IF_ERROR(DecodeSecret(secret, &keys));
    if (keys.hmac.empty()) {
      return Status::InvalidArgument("signing needs a whsec_ secret or a whsk_ private key");
    }
    signature = "v1," + crypto::Base64Encode(crypto::HmacParts(crypto::DigestAlgorithm::kSha256,
                                                               keys.hmac.front(),
                                                               {id, ".", ts, ".", request.body}));
  }
  return Headers{{"webhook-id", id}, {"webhook-timestamp", ts}, {"webhook-signature", signature}};
}

}  // namespace triggerd::verify::internal
