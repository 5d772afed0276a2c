// The scheme registry: one row per kind, naming its verifier and signer and the settings it
// takes. Mirror every row in verify.h kProviders (checked by a test).
#include "verify/internal.h"

namespace triggerd::verify {
namespace internal {
namespace {

constexpr Scheme kSchemes[] = {
    // kind, make, sign, default tolerance (s), tolerance can be off, has legacy
    {"custom", MakeCustomVerifier, SignCustom, 0, false, false},
    {"bitbucket", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"calendly", MakeStripeVerifier, SignStripe, 180, false, false},
    {"discord", MakeDiscordVerifier, SignDiscord, 300, true, false},
    {"github", MakeGithubVerifier, SignGithub, 0, false, true},
    {"gitlab", MakeGitlabVerifier, SignGitlab, 0, false, false},
    {"hubspot", MakeHubspotVerifier, SignHubspot, 300, false, true},
    {"intercom", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"jira", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"linear", MakeLinearVerifier, SignLinear, 60, false, false},
    {"notion", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"pagerduty", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"sentry", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"shopify", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"slack", MakeSlackVerifier, SignSlack, 300, false, false},
    {"standard-webhooks", MakeStandardWebhooksVerifier, SignStandardWebhooks, 300, false, false},
    {"stripe", MakeStripeVerifier, SignStripe, 300, false, false},
    {"twilio", MakeTwilioVerifier, SignTwilio, 0, false, false},
    {"typeform", MakeBodyHmacVerifier, SignBodyHmac, 0, false, false},
    {"zendesk", MakeZendeskVerifier, SignZendesk, 300, true, false},
};

}  // namespace

const Scheme* FindScheme(std::string_view kind) {
  for (const auto& s : kSchemes) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

}  // namespace internal

const ProviderInfo* FindProvider(std::string_view kind) {
  for (const auto& p : kProviders) {
    if (p.kind == kind) return &p;
  }
  return nullptr;
}

}  // namespace triggerd::verify
