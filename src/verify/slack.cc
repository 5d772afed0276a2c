// Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + ts + ":" + body)>` with
// `X-Slack-Request-Timestamp` (unix s), window |now - ts| <= 300 s. The body is often a form;
// it is signed raw, never decoded first.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr std::string_view kSignatureHeader = "X-Slack-Signature";
constexpr std::string_view kTimestampHeader = "X-Slack-Request-Timestamp";

class SlackVerifier final : public Verifier {
 public:
  SlackVerifier(std::vector<std::string> keys, int64_t tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view signature, timestamp;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kSignatureHeader, &signature));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kTimestampHeader, &timestamp));
    auto ts = ParseDecimal(timestamp, 12);
    if (!ts) return Refuse(kMalformedSignature, "X-Slack-Request-Timestamp is not a unix time");
    if (signature.substr(0, 3) != "v0=" ||
        !SignatureWellFormed(signature.substr(3), 32, SignatureEncoding::kHex,
                             Strictness::kCanonical)) {
      return Refuse(kMalformedSignature, "X-Slack-Signature is not v0= and 64 hex digits");
    }
    signature.remove_prefix(3);
    bool matched = false;
    for (const auto& key : keys_) {
      const std::string mac = crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key,
                                                {"v0:", timestamp, ":", request.body});
      if (SignatureMatches(signature, mac, SignatureEncoding::kHex, Strictness::kCanonical)) {
        matched = true;
        break;
      }
    }
    if (!matched) return Refuse(kInvalidSignature, "X-Slack-Signature does not match the body");
    return CheckWindow(request.now_unix, *ts, tolerance_, Window::kBothWays,
                       "X-Slack-Request-Timestamp");
  }

 private:
  const std::vector<std::string> keys_;
  const int64_t tolerance_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeSlackVerifier(std::string_view kind,
                                                    const AuthSettings& settings,
                                                    const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<SlackVerifier>(secrets.signing, Tolerance(settings, *FindScheme(kind))));
}

Result<Headers> SignSlack(std::string_view kind, const AuthSettings& settings,
                          std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const std::string ts = FormatDecimal(request.now_unix);
  const std::string mac =
      crypto::HmacParts(crypto::DigestAlgorithm::kSha256, secret, {"v0:", ts, ":", request.body});
  return Headers{{std::string(kTimestampHeader), ts},
                 {std::string(kSignatureHeader), "v0=" + crypto::HexEncode(mac)}};
}

}  // namespace triggerd::verify::internal
