// MakeVerifier and Sign: dispatch on the kind through the scheme registry, and layer the
// bearer check on top of the scheme's signature check.
#include "verify/internal.h"

namespace triggerd::verify {
namespace {

// Accepts when every part accepts; the first refusal wins. Bearer runs first: it is cheaper
// than hashing the body, and its refusal is the more useful one to a caller without a token.
class AllOfVerifier final : public Verifier {
 public:
  explicit AllOfVerifier(std::vector<std::unique_ptr<Verifier>> parts) : parts_(std::move(parts)) {}
  // Verifier
  Status Verify(const Request& request) const override {
    for (const auto& part : parts_) {
      Status s = part->Verify(request);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  const std::vector<std::unique_ptr<Verifier>> parts_;
};

// kind "custom" with no bearer and no hmac: the source is open (the URL secret, IP and origin
// checks in ingest are all that guards it).
class AcceptAllVerifier final : public Verifier {
 public:
  // Verifier
  Status Verify(const Request&) const override { return Status::Ok(); }
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeVerifier(std::string_view kind, const AuthSettings& settings,
                                               const Secrets& secrets) {
  const internal::Scheme* scheme = internal::FindScheme(kind);
  if (scheme == nullptr) {
    return Status::InvalidArgument("unknown source kind \"" + std::string(kind) + "\"");
  }
  TRIGGERD_RETURN_IF_ERROR(internal::ValidateAuthSettings(kind, settings));
  std::vector<std::unique_ptr<Verifier>> parts;
  if (settings.bearer) {
    auto bearer = internal::MakeBearerVerifier(secrets);
    if (!bearer) return bearer.error();
    parts.push_back(std::move(bearer).value());
  }
  auto signature = scheme->make(kind, settings, secrets);
  if (!signature) return signature.error();
  if (*signature != nullptr) parts.push_back(std::move(signature).value());
  if (parts.empty()) return std::unique_ptr<Verifier>(std::make_unique<AcceptAllVerifier>());
  if (parts.size() == 1) return std::move(parts.front());
  return std::unique_ptr<Verifier>(std::make_unique<AllOfVerifier>(std::move(parts)));
}

Result<Headers> Sign(std::string_view kind, const AuthSettings& settings, std::string_view secret,
                     const SignRequest& request) {
  const internal::Scheme* scheme = internal::FindScheme(kind);
  if (scheme == nullptr) {
    return Status::InvalidArgument("unknown source kind \"" + std::string(kind) + "\"");
  }
  TRIGGERD_RETURN_IF_ERROR(internal::ValidateAuthSettings(kind, settings));
  auto headers = scheme->sign(kind, settings, secret, request);
  if (!headers) return headers;
  if (settings.bearer) {
    if (request.bearer_token.empty()) {
      return Status::InvalidArgument("auth.bearer is set: signing needs the bearer token");
    }
    headers->push_back({"Authorization", "Bearer " + std::string(request.bearer_token)});
  }
  return headers;
}

}  // namespace triggerd::verify
