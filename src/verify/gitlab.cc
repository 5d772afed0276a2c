// GitLab: X-Gitlab-Token carries the configured secret in plain text. Nothing about the body is
// authenticated (vector gitlab-02): that is GitLab's design, so sources should use TLS. GitLab's
// newer signing token follows Standard Webhooks; such sources use kind standard-webhooks.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

class GitlabVerifier final : public Verifier {
 public:
  explicit GitlabVerifier(const std::vector<std::string>& tokens) {
    for (const auto& t : tokens) hashes_.push_back(Hash(t));
  }

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view value;
    TRIGGERD_RETURN_IF_ERROR(
        SingleHeader(request.headers, "X-Gitlab-Token", &value, kMissingToken));
    const std::string hash = Hash(value);
    bool match = false;
    for (const auto& h : hashes_) match |= crypto::ConstantTimeEqual(hash, h);
    if (!match) return Refuse(kInvalidToken, "X-Gitlab-Token is not the token of this source");
    return Status::Ok();
  }

 private:
  static std::string Hash(std::string_view s) {
    return crypto::Digest(crypto::DigestAlgorithm::kSha256, s);
  }
  std::vector<std::string> hashes_;  // set in the constructor only
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeGitlabVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(std::make_unique<GitlabVerifier>(secrets.signing));
}

Result<Headers> SignGitlab(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  return Headers{{"X-Gitlab-Token", std::string(secret)}};
}

}  // namespace triggerd::verify::internal
