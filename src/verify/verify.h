// verify: authenticates an incoming webhook request for a source.
//
// A source has a `kind` ("custom" or a provider preset such as "github", "stripe") and auth
// settings (the REST API's `auth` object, stored as JSON text). MakeVerifier() turns kind +
// settings + secrets into an immutable Verifier that ingest builds once per source, caches and
// calls for every request, from any thread. Sign() is the inverse: the headers a provider
// would send, for tests, benchmarks and the `triggerd sign` CLI.
//
// Every provider's scheme follows ../shared/providers.md (the traps included: Stripe keys with
// the whole `whsec_` string, Standard Webhooks base64-decodes it, X-Hub-Signature is SHA-1 for
// GitHub/Intercom and SHA-256 for Jira/Bitbucket, ...). All comparisons of secret-derived bytes
// are constant-time; refusals never echo an expected signature or a secret.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
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

namespace triggerd::verify {

// ---------------------------------------------------------------------------------------------
// Providers: plain data for ingest (dedup, event typing) and api (kind validation).

// Where a value lives in a request. kBodyField names a JSON member of the body; a dotted name
// ("event.type") walks nested objects.
enum class FieldSource { kNone, kHeader, kBodyField };

struct FieldRef {
  FieldSource source = FieldSource::kNone;
  std::string_view name;      // header name (case-insensitive) or body field path
  std::string_view alt_name;  // a second header to try when `name` is absent (Svix branding)
};

struct ProviderInfo {
  std::string_view kind;          // the source `kind`, e.g. "github"
  std::string_view display_name;  // e.g. "GitHub"
  FieldRef event_type;            // what the provider calls the event ("pull_request", ...)
  FieldRef delivery_id;           // stable across the provider's retries: the dedup key
};

// Every kind MakeVerifier accepts, "custom" first, then the presets in alphabetical order.
// Mirror a new preset in schemes.cc (its verifier, signer and settings) when adding it here;
// ProviderInfoTest.EveryKindHasAVerifier checks that the two agree.
inline constexpr ProviderInfo kProviders[] = {
    {"custom", "Custom", {}, {}},
    {"bitbucket",
     "Bitbucket",
     {FieldSource::kHeader, "X-Event-Key", {}},
     {FieldSource::kHeader, "X-Request-UUID", {}}},
    {"calendly", "Calendly", {FieldSource::kBodyField, "event", {}}, {}},
    {"discord",
     "Discord",
     {FieldSource::kBodyField, "type", {}},
     {FieldSource::kBodyField, "id", {}}},
    {"github",
     "GitHub",
     {FieldSource::kHeader, "X-GitHub-Event", {}},
     {FieldSource::kHeader, "X-GitHub-Delivery", {}}},
    {"gitlab",
     "GitLab",
     {FieldSource::kHeader, "X-Gitlab-Event", {}},
     {FieldSource::kHeader, "Idempotency-Key", "X-Gitlab-Event-UUID"}},
    // HubSpot posts a JSON array of events, each with its own subscriptionType and eventId.
    {"hubspot", "HubSpot", {}, {}},
    {"intercom",
     "Intercom",
     {FieldSource::kBodyField, "topic", {}},
     {FieldSource::kBodyField, "id", {}}},
    {"jira",
     "Jira",
     {FieldSource::kBodyField, "webhookEvent", {}},
     {FieldSource::kHeader, "X-Atlassian-Webhook-Identifier", {}}},
    {"linear",
     "Linear",
     {FieldSource::kHeader, "Linear-Event", {}},
     {FieldSource::kHeader, "Linear-Delivery", {}}},
    {"notion",
     "Notion",
     {FieldSource::kBodyField, "type", {}},
     {FieldSource::kBodyField, "id", {}}},
    {"pagerduty",
     "PagerDuty",
     {FieldSource::kBodyField, "event.event_type", {}},
     {FieldSource::kBodyField, "event.id", {}}},
    {"sentry",
     "Sentry",
     {FieldSource::kHeader, "Sentry-Hook-Resource", {}},
     {FieldSource::kHeader, "Request-ID", {}}},
    {"shopify",
     "Shopify",
     {FieldSource::kHeader, "X-Shopify-Topic", {}},
     {FieldSource::kHeader, "X-Shopify-Webhook-Id", {}}},
    {"slack",
     "Slack",
     {FieldSource::kBodyField, "event.type", {}},
     {FieldSource::kBodyField, "event_id", {}}},
    {"standard-webhooks",
     "Standard Webhooks / Svix",
     {FieldSource::kBodyField, "type", {}},
     {FieldSource::kHeader, "webhook-id", "svix-id"}},
    {"stripe",
     "Stripe",
     {FieldSource::kBodyField, "type", {}},
     {FieldSource::kBodyField, "id", {}}},
    {"twilio", "Twilio", {}, {FieldSource::kHeader, "I-Twilio-Idempotency-Token", {}}},
    {"typeform",
     "Typeform",
     {FieldSource::kBodyField, "event_type", {}},
     {FieldSource::kBodyField, "event_id", {}}},
    {"zendesk",
     "Zendesk",
     {FieldSource::kBodyField, "type", {}},
     {FieldSource::kBodyField, "id", {}}},
};

// The entry for `kind` (exact, lower case), or nullptr when no such kind exists.
const ProviderInfo* FindProvider(std::string_view kind);

// ---------------------------------------------------------------------------------------------
// Auth settings: the `auth` object of a source.

enum class SignatureEncoding { kHex, kBase64 };

// kind "custom" only: a signature over the raw body, keyed with the source's signing secret.
struct HmacSettings {
  std::string header;  // required: the request header carrying the signature
  crypto::DigestAlgorithm algorithm = crypto::DigestAlgorithm::kSha256;  // default "sha256"
  // Default "hex". Hex is accepted in either case; base64 in the standard or URL-safe
  // alphabet, padded or not (senders of custom signatures differ on all of these).
  SignatureEncoding encoding = SignatureEncoding::kHex;
  std::string prefix;  // default "": text before the signature, e.g. "sha256="

  bool operator==(const HmacSettings&) const = default;
};

// JSON shape (every member optional):
//   {"bearer": bool, "hmac": {header, algorithm, encoding, prefix},
//    "tolerance_seconds": int, "allow_legacy_signature": bool}
struct AuthSettings {
  // Any kind: also require `Authorization: Bearer <token>` with a token the service generated
  // (only its SHA-256 is stored). Default false.
  bool bearer = false;
  // kind "custom" only; absent: no signature required.
  std::optional<HmacSettings> hmac;
  // Presets that sign a timestamp (stripe, calendly, slack, standard-webhooks, hubspot, linear,
  // zendesk, discord): the replay window, 1..86400. Absent: the provider's default (stripe,
  // slack, standard-webhooks, hubspot 300; calendly 180; linear 60; zendesk and discord 300 as
  // our policy, since they document none). 0 turns the check off, only for zendesk and discord.
  // A wider window tolerates clock skew and slow queues; a narrower one shortens replays.
  std::optional<int64_t> tolerance_seconds;
  // github: also accept the SHA-1 `X-Hub-Signature` when `X-Hub-Signature-256` is absent.
  // hubspot: also accept the v1/v2 signatures (plain SHA-256, no timestamp, so replayable)
  // when `X-HubSpot-Signature-v3` is absent. Default false: both are weaker than the default.
  bool allow_legacy_signature = false;
  // Any kind: also accept, as the request's `Authorization: Bearer`, a workspace API key of the
  // source's workspace with the builder or admin role (Dust's OpenAPI declares BearerAuth on its
  // hooks route). With `bearer` too, either the source's token or such a key is accepted; alone,
  // such a key is required. Checked by ingest, which looks the key up in the store for every
  // request (a revoked key is refused from the next request on); MakeVerifier ignores it.
  // Default false: an API key is a broader credential than a source's token.
  bool api_key = false;

  bool operator==(const AuthSettings&) const = default;
};

// Validates `auth` (an object; null means all defaults) for a source of `kind`. Errors are
// kInvalidArgument, code "invalid_request", with a message naming the field, e.g.
// "auth.hmac.algorithm must be one of sha1, sha256, sha512". Unknown members are refused, so a
// misspelt setting never silently weakens verification.
Result<AuthSettings> ParseAuthSettings(std::string_view kind, const boost::json::value& auth);
// The same from stored JSON text; malformed JSON is kInvalidArgument too.
Result<AuthSettings> ParseAuthSettingsJson(std::string_view kind, std::string_view json);
// The canonical JSON object (defaults omitted, except `bearer`); ParseAuthSettings(kind,
// AuthSettingsToJson(s)) == s for every s that ParseAuthSettings can produce.
boost::json::object AuthSettingsToJson(const AuthSettings& settings);
std::string SerializeAuthSettings(const AuthSettings& settings);

// ---------------------------------------------------------------------------------------------
// Verification.

// Secret material of a source. MakeVerifier copies what it needs; the caller keeps ownership.
struct Secrets {
  // Signing secrets, current first, then previous ones still accepted during a rotation; a
  // request matching any one is accepted. Their format depends on the kind: as-is bytes for
  // most; `whsec_`+base64 (or bare base64) HMAC key or `whpk_`+base64 Ed25519 public key for
  // standard-webhooks; a hex Ed25519 public key for discord; the token itself for gitlab.
  std::vector<std::string> signing;
  // Hex SHA-256 of each accepted bearer token (current first), when settings.bearer.
  std::vector<std::string> bearer_token_sha256;
};

// One incoming request. Views only: valid for the duration of Verify().
struct Request {
  const Headers& headers;
  std::string_view body;    // the raw bytes as received, before any decoding
  std::string_view method;  // "POST"
  // The full public URL the provider called, scheme and query included (twilio, hubspot sign
  // it): behind a TLS-terminating proxy this must be the outside URL.
  std::string_view url;
  int64_t now_unix;  // the verifier's clock (Clock::NowUnixSeconds() in production)
};

// Refusal codes (ErrorType kUnauthenticated; ingest answers 401).
inline constexpr std::string_view kMissingToken = "missing_token";
inline constexpr std::string_view kInvalidToken = "invalid_token";
inline constexpr std::string_view kMissingSignature = "missing_signature";
inline constexpr std::string_view kMalformedSignature = "malformed_signature";
inline constexpr std::string_view kInvalidSignature = "invalid_signature";
inline constexpr std::string_view kTimestampOutOfTolerance = "timestamp_out_of_tolerance";

// Checks one request. Implementations are immutable after construction; Verify() is
// thread-safe. It allocates only in proportion to the body (and a few digest-sized strings).
class Verifier {
 public:
  virtual ~Verifier() = default;
  // OK, or kUnauthenticated with one of the codes above and a message for a person (it names
  // the header at fault, never the expected value).
  virtual Status Verify(const Request& request) const = 0;
};

// Builds the verifier of a source. kInvalidArgument when `kind` is unknown, the settings do not
// suit the kind, or a secret the scheme needs is absent or malformed (e.g. a discord key that
// is not 64 hex characters). kind "custom" with neither bearer nor hmac accepts every request.
Result<std::unique_ptr<Verifier>> MakeVerifier(std::string_view kind, const AuthSettings& settings,
                                               const Secrets& secrets);

// ---------------------------------------------------------------------------------------------
// Signing: what the provider would send.

struct SignRequest {
  std::string_view body;
  int64_t now_unix = 0;
  std::string_view method = "POST";  // hubspot
  std::string_view url;              // twilio, hubspot: the full URL the provider calls
  std::string_view message_id;       // standard-webhooks `webhook-id`; empty: a random msg_ id
  std::string_view bearer_token;     // settings.bearer: sent as `Authorization: Bearer ...`
};

// The authentication headers for `request` signed with `secret` (in the format Secrets::signing
// holds, except for the Ed25519 kinds, which take the private key: discord a 64-hex-character
// seed, standard-webhooks `whsk_`+base64(32-byte seed) for v1a). Every kind is supported;
// hubspot signs v3 and github sends both the SHA-256 and the legacy SHA-1 header, as they do.
// kInvalidArgument when the kind is unknown or the secret unusable.
Result<Headers> Sign(std::string_view kind, const AuthSettings& settings, std::string_view secret,
                     const SignRequest& request);

}  // namespace triggerd::verify
