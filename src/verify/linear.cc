// Linear: `Linear-Signature` = lowercase hex HMAC-SHA256(secret, raw body), no prefix (the SDK
// compares the hex text, so upper case fails). Freshness comes from `webhookTimestamp` (ms), a
// member of the signed body, |now - ts| <= 60 s. The newer `Linear-Timestamp` header is not
// signed, so it is deliberately not used (vector linear-04 is that policy).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/json_parse.h"
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

BodyHmacScheme LinearScheme() {
  return {"Linear-Signature",      crypto::DigestAlgorithm::kSha256,
          SignatureEncoding::kHex, "",
          Strictness::kCanonical,  0};
}

// webhookTimestamp of a JSON body, in ms, or nullopt. Runs only on a body whose signature has
// been checked, so the parse (allocation proportional to the body) is not open to anyone.
std::optional<int64_t> BodyTimestampMillis(std::string_view body) {
  boost::system::error_code ec;
  const boost::json::value doc = ParseJson(body, ec);
  if (ec) return std::nullopt;
  const boost::json::object* obj = doc.if_object();
  if (obj == nullptr) return std::nullopt;
  const boost::json::value* ts = obj->if_contains("webhookTimestamp");
  if (ts == nullptr) return std::nullopt;
  // Bound to ~year 2286 in ms so that later arithmetic cannot overflow.
  constexpr int64_t kMax = 9'999'999'999'999;
  if (ts->is_int64() && ts->get_int64() >= 0 && ts->get_int64() <= kMax) return ts->get_int64();
  if (ts->is_uint64() && ts->get_uint64() <= static_cast<uint64_t>(kMax)) {
    return static_cast<int64_t>(ts->get_uint64());
  }
  if (ts->is_double() && ts->get_double() >= 0 && ts->get_double() <= static_cast<double>(kMax)) {
    return static_cast<int64_t>(ts->get_double());
  }
  return std::nullopt;
}

class LinearVerifier final : public Verifier {
 public:
  LinearVerifier(std::vector<std::string> keys, int64_t tolerance)
      : hmac_(LinearScheme(), std::move(keys)), tolerance_(tolerance) {}

  // Verifier
  Status Verify(const Request& request) const override {
    TRIGGERD_RETURN_IF_ERROR(hmac_.Verify(request));
    auto ts = BodyTimestampMillis(request.body);
    if (!ts) {
      return Refuse(kMalformedSignature,
                    "the signed body has no numeric webhookTimestamp, so its age is unknown");
    }
    int64_t now_ms = 0;
    if (__builtin_mul_overflow(request.now_unix, 1000, &now_ms)) now_ms = INT64_MAX;
    return CheckWindow(now_ms, *ts, tolerance_ * 1000, Window::kBothWays, "webhookTimestamp");
  }

 private:
  const HmacVerifier hmac_;
  const int64_t tolerance_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeLinearVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<LinearVerifier>(secrets.signing, Tolerance(settings, *FindScheme(kind))));
}

// The body must already carry webhookTimestamp: Linear puts it inside the signed JSON.
Result<Headers> SignLinear(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  return Headers{{"Linear-Signature", SignBodyValue(LinearScheme(), secret, request.body)}};
}

}  // namespace triggerd::verify::internal
