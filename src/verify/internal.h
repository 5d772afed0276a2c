// Internal to verify/: helpers shared by the per-scheme files, and the scheme registry that
// MakeVerifier, Sign and the settings parser dispatch through. Not part of the module API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/headers.h"
#include "common/result.h"
#include "common/status.h"
#include "verify/verify.h"

namespace triggerd::verify::internal {

// ---- Scheme registry (schemes.cc). --------------------------------------------------------

using MakeFn = Result<std::unique_ptr<Verifier>> (*)(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets);
using SignFn = Result<Headers> (*)(std::string_view kind, const AuthSettings& settings,
                                   std::string_view secret, const SignRequest& request);

struct Scheme {
  std::string_view kind;
  MakeFn make;  // the signature part only; bearer is layered on by MakeVerifier
  SignFn sign;
  // Default replay window in seconds; 0 when the scheme signs no timestamp (then
  // tolerance_seconds is refused in the settings).
  int64_t default_tolerance = 0;
  bool tolerance_can_be_off = false;  // the provider documents no window (zendesk, discord)
  bool has_legacy = false;            // allow_legacy_signature applies
};

// nullptr when `kind` is unknown. Every kProviders entry has a Scheme and vice versa.
const Scheme* FindScheme(std::string_view kind);

// The settings' window, or the scheme default.
inline int64_t Tolerance(const AuthSettings& settings, const Scheme& scheme) {
  return settings.tolerance_seconds.value_or(scheme.default_tolerance);
}

// Checks that `settings` suit `kind` (also used for settings built in code, not parsed).
Status ValidateAuthSettings(std::string_view kind, const AuthSettings& settings);

// Per-scheme entry points (one file each).
Result<std::unique_ptr<Verifier>> MakeCustomVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignCustom(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeBodyHmacVerifier(std::string_view, const AuthSettings&,
                                                       const Secrets&);
Result<Headers> SignBodyHmac(std::string_view, const AuthSettings&, std::string_view,
                             const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeGithubVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignGithub(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeGitlabVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignGitlab(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeStripeVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignStripe(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeSlackVerifier(std::string_view, const AuthSettings&,
                                                    const Secrets&);
Result<Headers> SignSlack(std::string_view, const AuthSettings&, std::string_view,
                          const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeStandardWebhooksVerifier(std::string_view,
                                                               const AuthSettings&, const Secrets&);
Result<Headers> SignStandardWebhooks(std::string_view, const AuthSettings&, std::string_view,
                                     const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeZendeskVerifier(std::string_view, const AuthSettings&,
                                                      const Secrets&);
Result<Headers> SignZendesk(std::string_view, const AuthSettings&, std::string_view,
                            const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeLinearVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignLinear(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeTwilioVerifier(std::string_view, const AuthSettings&,
                                                     const Secrets&);
Result<Headers> SignTwilio(std::string_view, const AuthSettings&, std::string_view,
                           const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeHubspotVerifier(std::string_view, const AuthSettings&,
                                                      const Secrets&);
Result<Headers> SignHubspot(std::string_view, const AuthSettings&, std::string_view,
                            const SignRequest&);
Result<std::unique_ptr<Verifier>> MakeDiscordVerifier(std::string_view, const AuthSettings&,
                                                      const Secrets&);
Result<Headers> SignDiscord(std::string_view, const AuthSettings&, std::string_view,
                            const SignRequest&);
// settings.bearer, any kind (bearer.cc).
Result<std::unique_ptr<Verifier>> MakeBearerVerifier(const Secrets& secrets);

// ---- Refusals and lookups (util.cc). ------------------------------------------------------

inline Status Refuse(std::string_view code, std::string message) {
  return Status::Unauthenticated(std::move(message), std::string(code));
}

// The single value of header `name`. A missing header refuses with `missing_code`; a header
// sent twice refuses with malformed_signature, because two proxies (or an attacker and a
// proxy) could each pick a different one.
Status SingleHeader(const Headers& headers, std::string_view name, std::string_view* value,
                    std::string_view missing_code = kMissingSignature);

// Optional whitespace (SP / HTAB) trimmed at both ends.
std::string_view TrimOws(std::string_view text);

// Calls fn(piece) for each `sep`-separated piece of `text`, trimmed; stops early and returns
// false when fn returns false.
template <typename Fn>
bool ForEachPiece(std::string_view text, char sep, Fn&& fn) {
  while (true) {
    size_t pos = text.find(sep);
    if (!fn(TrimOws(text.substr(0, pos)))) return false;
    if (pos == std::string_view::npos) return true;
    text.remove_prefix(pos + 1);
  }
}

// A non-negative decimal integer of 1..max_digits ASCII digits (no sign, no spaces), so it
// cannot overflow; nullopt otherwise.
std::optional<int64_t> ParseDecimal(std::string_view text, size_t max_digits);
std::string FormatDecimal(int64_t value);

enum class Window {
  kAgeOnly,   // reject now - ts > tolerance (Stripe, Calendly, HubSpot libraries)
  kBothWays,  // reject |now - ts| > tolerance (Slack, Standard Webhooks, Linear, policy ones)
};
// OK when `ts` is inside the window around `now` (same unit as `tolerance`). tolerance 0
// turns the check off. `what` names the timestamp in the refusal.
Status CheckWindow(int64_t now, int64_t ts, int64_t tolerance, Window window,
                   std::string_view what);

// How a presented signature is compared with the computed MAC.
enum class Strictness {
  // Providers: exactly the text the provider sends (lowercase hex; padded standard base64).
  kCanonical,
  // Custom senders: hex in any case; base64 standard or URL-safe, padded or not.
  kLenient,
};
// Whether `presented` has the shape of a `mac_size`-byte MAC in `encoding`; a refusal for a
// presented value of the wrong shape is malformed_signature, not invalid_signature.
bool SignatureWellFormed(std::string_view presented, size_t mac_size, SignatureEncoding encoding,
                         Strictness strictness);
// Constant-time comparison of a well-formed `presented` with `mac` (raw bytes).
bool SignatureMatches(std::string_view presented, std::string_view mac, SignatureEncoding encoding,
                      Strictness strictness);
size_t DigestSize(crypto::DigestAlgorithm algorithm);
std::string EncodeSignature(std::string_view mac, SignatureEncoding encoding);

// Refuses when there is no signing secret at all.
Status RequireSecrets(std::string_view kind, const Secrets& secrets);
Status RequireSecret(std::string_view kind, std::string_view secret);

// ---- A signature over the raw body in one header (hmac.cc). -------------------------------

struct BodyHmacScheme {
  std::string header;
  crypto::DigestAlgorithm algorithm = crypto::DigestAlgorithm::kSha256;
  SignatureEncoding encoding = SignatureEncoding::kHex;
  std::string prefix;  // every accepted signature starts with it
  Strictness strictness = Strictness::kCanonical;
  // 0: the header holds one signature. Otherwise a list (PagerDuty: "v1=a,v1=b"); pieces
  // without `prefix` are other versions and are skipped.
  char list_separator = 0;
  // Custom sources with no prefix configured: also accept the value prefixed with its
  // algorithm's name ("sha256=<hex>", as Dust tells senders to sign; "sha1=", "sha512="). A
  // prefix naming another algorithm is refused (malformed_signature), never ignored: a sender
  // signing with SHA-1 is not let in by a source configured for SHA-256. A hex or base64 MAC
  // holds no '=' before its end, so a bare signature is never mistaken for a prefixed one.
  bool accept_algorithm_prefix = false;
};

// Used directly by custom and the simple presets, and inside github and linear.
class HmacVerifier final : public Verifier {
 public:
  HmacVerifier(BodyHmacScheme scheme, const std::vector<std::string>& keys)
      : scheme_(std::move(scheme)) {
    for (const auto& key : keys) keys_.emplace_back(scheme_.algorithm, key);
  }
  const BodyHmacScheme& scheme() const { return scheme_; }
  // Verifier
  Status Verify(const Request& request) const override;
  // Checks an already looked-up header value against `body`.
  Status VerifyValue(std::string_view value, std::string_view body) const;

 private:
  const BodyHmacScheme scheme_;
  // HMAC keys, current first, prepared once: the verifier is cached per source and checks every
  // request with them.
  std::vector<crypto::HmacKey> keys_;
};

// "prefix" + encoded HMAC of body: the header value a body-HMAC sender sends.
std::string SignBodyValue(const BodyHmacScheme& scheme, std::string_view key,
                          std::string_view body);

}  // namespace triggerd::verify::internal
