// Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, TIMESTAMP + BODY)), no
// separator, with the ISO-8601 `X-Zendesk-Webhook-Signature-Timestamp` signed as its text. The
// current docs' order; an older revision printed BODY+TIMESTAMP (vector zendesk-08 guards the
// order). The secret looks like base64 but is used as-is. Zendesk documents no window; ours
// is 300 s both ways by default (tolerance_seconds 0 turns it off).
#include <cstdio>
#include <ctime>

#include "common/clock.h"
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr std::string_view kSignatureHeader = "X-Zendesk-Webhook-Signature";
constexpr std::string_view kTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp";
constexpr size_t kMaxTimestampLength = 64;

class ZendeskVerifier final : public Verifier {
 public:
  ZendeskVerifier(std::vector<std::string> keys, int64_t tolerance)
      : keys_(std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view signature, timestamp;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kSignatureHeader, &signature));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kTimestampHeader, &timestamp));
    int64_t ts_micros = 0;
    if (timestamp.empty() || timestamp.size() > kMaxTimestampLength ||
        !ParseRfc3339(timestamp, &ts_micros)) {
      return Refuse(kMalformedSignature,
                    std::string(kTimestampHeader) + " is not an ISO-8601 time");
    }
    if (!SignatureWellFormed(signature, 32, SignatureEncoding::kBase64, Strictness::kCanonical)) {
      return Refuse(kMalformedSignature,
                    std::string(kSignatureHeader) + " is not 44 base64 characters");
    }
    bool matched = false;
    for (const auto& key : keys_) {
      const std::string mac =
          crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key, {timestamp, request.body});
      if (SignatureMatches(signature, mac, SignatureEncoding::kBase64, Strictness::kCanonical)) {
        matched = true;
        break;
      }
    }
    if (!matched) {
      return Refuse(kInvalidSignature, std::string(kSignatureHeader) + " does not match the body");
    }
    return CheckWindow(request.now_unix, ts_micros / 1'000'000, tolerance_, Window::kBothWays,
                       kTimestampHeader);
  }

 private:
  const std::vector<std::string> keys_;
  const int64_t tolerance_;
};

// "2021-07-25T10:00:00Z": the shape Zendesk sends (no fraction).
std::string FormatZendeskTime(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace

Result<std::unique_ptr<Verifier>> MakeZendeskVerifier(std::string_view kind,
                                                      const AuthSettings& settings,
                                                      const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<ZendeskVerifier>(secrets.signing, Tolerance(settings, *FindScheme(kind))));
}

Result<Headers> SignZendesk(std::string_view kind, const AuthSettings& settings,
                            std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const std::string ts = FormatZendeskTime(request.now_unix);
  const std::string mac =
      crypto::HmacParts(crypto::DigestAlgorithm::kSha256, secret, {ts, request.body});
  return Headers{{std::string(kSignatureHeader), crypto::Base64Encode(mac)},
                 {std::string(kTimestampHeader), ts}};
}

}  // namespace triggerd::verify::internal
