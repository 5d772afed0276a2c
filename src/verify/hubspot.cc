// HubSpot v3: `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URI + body
// + timestamp)) with `X-HubSpot-Request-Timestamp` in ms, age-only window (300 s). Legacy, only
// with allow_legacy_signature and only when no v3 header is present: `X-HubSpot-Signature` =
// hex SHA-256 (a plain hash, not an HMAC) of secret + body (v1) or secret + method + URI + body
// (v2), per `X-HubSpot-Signature-Version`; neither carries a timestamp.
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr std::string_view kV3Header = "X-HubSpot-Signature-v3";
constexpr std::string_view kTimestampHeader = "X-HubSpot-Request-Timestamp";
constexpr std::string_view kLegacyHeader = "X-HubSpot-Signature";
constexpr std::string_view kVersionHeader = "X-HubSpot-Signature-Version";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// HubSpot's docs say to decode exactly these escapes in the URI before signing
// (%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B); its SDKs decode nothing. Both forms are
// tried (providers.md marks this [verify]); either is an HMAC only HubSpot can make.
std::string DecodeHubspotUri(std::string_view uri) {
  constexpr std::string_view kDecoded = ":/?@!$'()*,;";
  std::string out;
  out.reserve(uri.size());
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && HexDigit(uri[i + 1]) >= 0 &&
        HexDigit(uri[i + 2]) >= 0) {
      const char c = static_cast<char>(HexDigit(uri[i + 1]) * 16 + HexDigit(uri[i + 2]));
      if (kDecoded.find(c) != std::string_view::npos) {
        out += c;
        i += 2;
        continue;
      }
    }
    out += uri[i];
  }
  return out;
}

class HubspotVerifier final : public Verifier {
 public:
  HubspotVerifier(std::vector<std::string> keys, int64_t tolerance, bool allow_legacy)
      : keys_(std::move(keys)), tolerance_(tolerance), allow_legacy_(allow_legacy) {}

  // Verifier
  Status Verify(const Request& request) const override {
    if (allow_legacy_ && !FindHeader(request.headers, kV3Header) &&
        FindHeader(request.headers, kLegacyHeader)) {
      return VerifyLegacy(request);
    }
    std::string_view signature, timestamp;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kV3Header, &signature));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kTimestampHeader, &timestamp));
    auto ts_ms = ParseDecimal(timestamp, 15);
    if (!ts_ms) {
      return Refuse(kMalformedSignature, "X-HubSpot-Request-Timestamp is not a time in ms");
    }
    if (!SignatureWellFormed(signature, 32, SignatureEncoding::kBase64, Strictness::kCanonical)) {
      return Refuse(kMalformedSignature, "X-HubSpot-Signature-v3 is not 44 base64 characters");
    }
    const std::string decoded_uri = DecodeHubspotUri(request.url);
    bool matched = false;
    for (const auto& key : keys_) {
      matched = Matches(key, request.method, request.url, request.body, timestamp, signature) ||
                (decoded_uri != request.url &&
                 Matches(key, request.method, decoded_uri, request.body, timestamp, signature));
      if (matched) break;
    }
    if (!matched) {
      return Refuse(kInvalidSignature, "X-HubSpot-Signature-v3 does not match the request");
    }
    int64_t now_ms = 0;
    if (__builtin_mul_overflow(request.now_unix, 1000, &now_ms)) now_ms = INT64_MAX;
    return CheckWindow(now_ms, *ts_ms, tolerance_ * 1000, Window::kAgeOnly, kTimestampHeader);
  }

 private:
  static bool Matches(std::string_view key, std::string_view method, std::string_view uri,
                      std::string_view body, std::string_view ts, std::string_view signature) {
    const std::string mac =
        crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key, {method, uri, body, ts});
    return SignatureMatches(signature, mac, SignatureEncoding::kBase64, Strictness::kCanonical);
  }

  Status VerifyLegacy(const Request& request) const {
    std::string_view signature, version;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kLegacyHeader, &signature));
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kVersionHeader, &version));
    if (version != "v1" && version != "v2") {
      return Refuse(kMalformedSignature, "X-HubSpot-Signature-Version must be v1 or v2");
    }
    if (!SignatureWellFormed(signature, 32, SignatureEncoding::kHex, Strictness::kCanonical)) {
      return Refuse(kMalformedSignature, "X-HubSpot-Signature is not 64 lowercase hex digits");
    }
    for (const auto& key : keys_) {
      const std::string digest =
          version == "v1"
              ? crypto::DigestParts(crypto::DigestAlgorithm::kSha256, {key, request.body})
              : crypto::DigestParts(crypto::DigestAlgorithm::kSha256,
                                    {key, request.method, request.url, request.body});
      if (SignatureMatches(signature, digest, SignatureEncoding::kHex, Strictness::kCanonical)) {
        return Status::Ok();
      }
    }
    return Refuse(kInvalidSignature, "X-HubSpot-Signature does not match the request");
  }

  const std::vector<std::string> keys_;
  const int64_t tolerance_;
  const bool allow_legacy_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeHubspotVerifier(std::string_view kind,
                                                      const AuthSettings& settings,
                                                      const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(std::make_unique<HubspotVerifier>(
      secrets.signing, Tolerance(settings, *FindScheme(kind)), settings.allow_legacy_signature));
}

// Signs v3, over the URI as given.
Result<Headers> SignHubspot(std::string_view kind, const AuthSettings& settings,
                            std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const std::string ts = FormatDecimal(request.now_unix * 1000);
  const std::string mac = crypto::HmacParts(crypto::DigestAlgorithm::kSha256, secret,
                                            {request.method, request.url, request.body, ts});
  return Headers{{std::string(kV3Header), crypto::Base64Encode(mac)},
                 {std::string(kTimestampHeader), ts}};
}

}  // namespace triggerd::verify::internal
