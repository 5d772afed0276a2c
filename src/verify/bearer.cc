// `Authorization: Bearer <token>` checked against stored SHA-256 hashes of the source's tokens.
// Comparing fixed-size hashes (not the tokens) keeps the comparison constant-time without
// leaking the token length, and the store never holds a usable token.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

bool StartsWithBearerScheme(std::string_view value) {
  // The auth-scheme is case-insensitive (RFC 9110 11.1).
  constexpr std::string_view kScheme = "bearer ";
  return value.size() > kScheme.size() && HeaderNameEquals(value.substr(0, 7), kScheme);
}

class BearerVerifier final : public Verifier {
 public:
  explicit BearerVerifier(std::vector<std::string> hashes) : hashes_(std::move(hashes)) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view value;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, "Authorization", &value, kMissingToken));
    if (!StartsWithBearerScheme(value)) {
      return Refuse(kMissingToken, "Authorization header does not carry a Bearer token");
    }
    std::string_view token = TrimOws(value.substr(7));
    if (token.empty()) return Refuse(kMissingToken, "the Bearer token is empty");
    const std::string hash = crypto::Digest(crypto::DigestAlgorithm::kSha256, token);
    bool match = false;
    for (const auto& h : hashes_) match |= crypto::ConstantTimeEqual(hash, h);
    if (!match) return Refuse(kInvalidToken, "the Bearer token is not valid for this source");
    return Status::Ok();
  }

 private:
  const std::vector<std::string> hashes_;  // raw 32-byte SHA-256 of each accepted token
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeBearerVerifier(const Secrets& secrets) {
  if (secrets.bearer_token_sha256.empty()) {
    return Status::InvalidArgument("auth.bearer is set but the source has no bearer token");
  }
  std::vector<std::string> hashes;
  for (const auto& hex : secrets.bearer_token_sha256) {
    auto raw = crypto::HexDecode(hex);
    if (!raw || raw->size() != 32) {
      return Status::InvalidArgument("a stored bearer token hash is not 64 hex characters");
    }
    hashes.push_back(std::move(*raw));
  }
  return std::unique_ptr<Verifier>(std::make_unique<BearerVerifier>(std::move(hashes)));
}

}  // namespace triggerd::verify::internal
