// GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body). The legacy SHA-1
// X-Hub-Signature is accepted only when configured and only when the SHA-256 header is absent:
// GitHub sends both, so a request carrying a bad SHA-256 signature must not get a second try.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

BodyHmacScheme Sha256Scheme() {
  return {"X-Hub-Signature-256",   crypto::DigestAlgorithm::kSha256,
          SignatureEncoding::kHex, "sha256=",
          Strictness::kCanonical,  0};
}
BodyHmacScheme Sha1Scheme() {
  return {"X-Hub-Signature", crypto::DigestAlgorithm::kSha1, SignatureEncoding::kHex,
          "sha1=",           Strictness::kCanonical,         0};
}

class GithubVerifier final : public Verifier {
 public:
  GithubVerifier(const std::vector<std::string>& keys, bool allow_legacy)
      : sha256_(Sha256Scheme(), keys),
        sha1_(allow_legacy ? std::make_unique<HmacVerifier>(Sha1Scheme(), keys) : nullptr) {}

  // Verifier
  Status Verify(const Request& request) const override {
    if (sha1_ != nullptr && !FindHeader(request.headers, sha256_.scheme().header)) {
      return sha1_->Verify(request);
    }
    return sha256_.Verify(request);
  }

 private:
  const HmacVerifier sha256_;
  const std::unique_ptr<const HmacVerifier> sha1_;  // null unless allow_legacy_signature
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeGithubVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<GithubVerifier>(secrets.signing, settings.allow_legacy_signature));
}

Result<Headers> SignGithub(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  return Headers{{"X-Hub-Signature-256", SignBodyValue(Sha256Scheme(), secret, request.body)},
                 {"X-Hub-Signature", SignBodyValue(Sha1Scheme(), secret, request.body)}};
}

}  // namespace triggerd::verify::internal
