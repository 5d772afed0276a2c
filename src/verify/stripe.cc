// Stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...][,v0=...]`, each v1 a hex
// HMAC-SHA256 of "t.body" keyed with the whole `whsec_...` string (not base64-decoded). One v1
// per active secret during a roll; anything but t and v1 is ignored (v0 is a test-mode
// decoy), and element order carries no meaning. Age-only window, 300 s by default.
// Calendly copies the format under `Calendly-Webhook-Signature` with a 180 s window.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr size_t kMaxSignatures = 8;
constexpr size_t kMaxTimestampDigits = 12;

std::string_view HeaderFor(std::string_view kind) {
  return kind == "calendly" ? "Calendly-Webhook-Signature" : "Stripe-Signature";
}

class StripeVerifier final : public Verifier {
 public:
  StripeVerifier(std::string_view header, std::vector<std::string> keys, int64_t tolerance)
      : header_(header), keys_(std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view value;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, header_, &value));
    std::string_view t;
    bool duplicate_t = false;
    std::string_view v1[kMaxSignatures];
    size_t count = 0;
    bool too_many = false;
    ForEachPiece(value, ',', [&](std::string_view piece) {
      const size_t eq = piece.find('=');
      if (eq == std::string_view::npos) return true;
      const std::string_view key = piece.substr(0, eq);
      const std::string_view val = piece.substr(eq + 1);
      if (key == "t") {
        duplicate_t |= !t.empty();
        t = val;
      } else if (key == "v1") {
        if (count == kMaxSignatures) {
          too_many = true;
          return false;
        }
        v1[count++] = val;
      }
      return true;
    });
    if (too_many) return Refuse(kMalformedSignature, header_ + " carries too many signatures");
    if (duplicate_t) return Refuse(kMalformedSignature, header_ + " carries t= twice");
    auto ts = ParseDecimal(t, kMaxTimestampDigits);
    if (!ts) return Refuse(kMalformedSignature, header_ + " has no valid t= timestamp");
    if (count == 0) return Refuse(kMalformedSignature, header_ + " has no v1= signature");
    bool matched = false;
    for (const auto& key : keys_) {
      const std::string mac =
          crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key, {t, ".", request.body});
      for (size_t i = 0; i < count && !matched; ++i) {
        matched = SignatureWellFormed(v1[i], mac.size(), SignatureEncoding::kHex,
                                      Strictness::kCanonical) &&
                  SignatureMatches(v1[i], mac, SignatureEncoding::kHex, Strictness::kCanonical);
      }
      if (matched) break;
    }
    if (!matched) return Refuse(kInvalidSignature, header_ + " does not match the body");
    return CheckWindow(request.now_unix, *ts, tolerance_, Window::kAgeOnly,
                       "the " + header_ + " timestamp");
  }

 private:
  const std::string header_;
  const std::vector<std::string> keys_;  // the secrets exactly as given, whsec_ included
  const int64_t tolerance_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeStripeVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(std::make_unique<StripeVerifier>(
      HeaderFor(kind), secrets.signing, Tolerance(settings, *FindScheme(kind))));
}

Result<Headers> SignStripe(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const std::string t = FormatDecimal(request.now_unix);
  const std::string mac =
      crypto::HmacParts(crypto::DigestAlgorithm::kSha256, secret, {t, ".", request.body});
  return Headers{{std::string(HeaderFor(kind)), "t=" + t + ",v1=" + crypto::HexEncode(mac)}};
}

}  // namespace triggerd::verify::internal
