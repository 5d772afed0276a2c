// Discord: `X-Signature-Ed25519` = hex Ed25519 signature of timestamp + body, checked with the
// application's public key (hex, 32 bytes) held as the source's "secret". Discord probes
// endpoints with bad signatures and drops URLs that accept them. Discord documents no window;
// ours is 300 s both ways by default (tolerance_seconds 0 turns it off).
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr std::string_view kSignatureHeader = "X-Signature-Ed25519";
constexpr std::string_view kTimestampHeader = "X-Signature-Timestamp";

class DiscordVerifier final : public Verifier {
 public:
  DiscordVerifier(std::vector<std::string> keys, int64_t tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view signature, timestamp;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kSignatureHeader, &signature));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kTimestampHeader, &timestamp));
    auto ts = ParseDecimal(timestamp, 12);
    if (!ts) return Refuse(kMalformedSignature, "X-Signature-Timestamp is not a unix time");
    std::optional<std::string> sig;
    if (signature.size() == 128) sig = crypto::HexDecode(signature);
    if (!sig) return Refuse(kMalformedSignature, "X-Signature-Ed25519 is not 128 hex digits");
    // Ed25519 signs one contiguous message, so this copy of the body is unavoidable.
    std::string message;
    message.reserve(timestamp.size() + request.body.size());
    message.append(timestamp).append(request.body);
    bool matched = false;
    for (const auto& key : keys_) {
      if (crypto::Ed25519Verify(key, message, *sig)) {
        matched = true;
        break;
      }
    }
    if (!matched) return Refuse(kInvalidSignature, "X-Signature-Ed25519 does not match the body");
    return CheckWindow(request.now_unix, *ts, tolerance_, Window::kBothWays, kTimestampHeader);
  }

 private:
  const std::vector<std::string> keys_;  // raw 32-byte public keys
  const int64_t tolerance_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeDiscordVerifier(std::string_view kind,
                                                      const AuthSettings& settings,
                                                      const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  std::vector<std::string> keys;
  for (const auto& hex : secrets.signing) {
    auto key = crypto::HexDecode(hex);
    if (!key || key->size() != 32) {
      return Status::InvalidArgument(
          "a discord source needs the application public key: 64 hex characters");
    }
    keys.push_back(std::move(*key));
  }
  return std::unique_ptr<Verifier>(
      std::make_unique<DiscordVerifier>(std::move(keys), Tolerance(settings, *FindScheme(kind))));
}

// `secret` is the 32-byte private seed in hex (the counterpart of the public key).
Result<Headers> SignDiscord(std::string_view kind, const AuthSettings& settings,
                            std::string_view secret, const SignRequest& request) {
  auto seed = crypto::HexDecode(secret);
  if (!seed || seed->size() != 32) {
    return Status::InvalidArgument("signing for discord needs a 64-hex-character Ed25519 seed");
  }
  const std::string ts = FormatDecimal(request.now_unix);
  const std::string sig = crypto::Ed25519Sign(*seed, ts + std::string(request.body));
  return Headers{{std::string(kSignatureHeader), crypto::HexEncode(sig)},
                 {std::string(kTimestampHeader), ts}};
}

}  // namespace triggerd::verify::internal
