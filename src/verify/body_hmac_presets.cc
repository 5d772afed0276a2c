// Presets whose whole scheme is one HMAC of the raw body in one header (providers.md table).
// Note X-Hub-Signature: SHA-256 for Jira and Bitbucket, SHA-1 for Intercom (and GitHub's
// legacy header, github.cc): the algorithm comes from the kind, never from the prefix.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

using crypto::DigestAlgorithm;

struct Preset {
  std::string_view kind;
  std::string_view header;
  DigestAlgorithm algorithm;
  SignatureEncoding encoding;
  std::string_view prefix;
  char list_separator;
};

constexpr Preset kPresets[] = {
    {"bitbucket", "X-Hub-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kHex,
     "sha256=", 0},
    {"intercom", "X-Hub-Signature", DigestAlgorithm::kSha1, SignatureEncoding::kHex, "sha1=", 0},
    {"jira", "X-Hub-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kHex, "sha256=", 0},
    {"notion", "X-Notion-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kHex,
     "sha256=", 0},
    // One v1 per signing secret while PagerDuty rotates, comma-separated.
    {"pagerduty", "X-PagerDuty-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kHex,
     "v1=", ','},
    // Sentry-Hook-Timestamp is not signed, so it gives no replay protection and is ignored.
    {"sentry", "Sentry-Hook-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kHex, "", 0},
    {"shopify", "X-Shopify-Hmac-Sha256", DigestAlgorithm::kSha256, SignatureEncoding::kBase64, "",
     0},
    {"typeform", "Typeform-Signature", DigestAlgorithm::kSha256, SignatureEncoding::kBase64,
     "sha256=", 0},
};

const Preset* FindPreset(std::string_view kind) {
  for (const auto& p : kPresets) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

BodyHmacScheme ToScheme(const Preset& p) {
  BodyHmacScheme scheme;
  scheme.header = std::string(p.header);
  scheme.algorithm = p.algorithm;
  scheme.encoding = p.encoding;
  scheme.prefix = std::string(p.prefix);
  scheme.strictness = Strictness::kCanonical;
  scheme.list_separator = p.list_separator;
  return scheme;
}

}  // namespace

Result<std::unique_ptr<Verifier>> MakeBodyHmacVerifier(std::string_view kind,
                                                       const AuthSettings& settings,
                                                       const Secrets& secrets) {
  const Preset* preset = FindPreset(kind);
  assert(preset != nullptr && "schemes.cc routes only kinds listed in kPresets here");
  if (preset == nullptr) return Status::Internal("no body-HMAC preset for this kind");
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<HmacVerifier>(ToScheme(*preset), secrets.signing));
}

Result<Headers> SignBodyHmac(std::string_view kind, const AuthSettings& settings,
                             std::string_view secret, const SignRequest& request) {
  const Preset* preset = FindPreset(kind);
  if (preset == nullptr) return Status::Internal("no body-HMAC preset for this kind");
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  return Headers{
      {std::string(preset->header), SignBodyValue(ToScheme(*preset), secret, request.body)}};
}

}  // namespace triggerd::verify::internal
