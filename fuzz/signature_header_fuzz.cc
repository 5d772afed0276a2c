// Fuzzes every verify scheme's header parsing and checks: arbitrary bytes become header values,
// URL, method, clock and body, and every preset's Verify must return (OK or a refusal) without
// crashing, hanging or tripping a sanitizer. A refusal must always be kUnauthenticated.
//
// Input format (so seeds are readable and mutations stay meaningful): lines `Name: value`
// become headers (any name, repeats kept); pseudo-headers `:now`, `:url` and `:method` set the
// request; everything after a line `:body` is the raw body. Seeds in corpus/signature_header/
// are valid requests for the secrets below (taken from ../shared/vectors/signatures.json).
//
// Every kind in verify::kProviders must have a target here (checked at start-up: a new scheme
// without one aborts the first run), plus the variants that take other parsing paths: legacy
// signatures (github, hubspot), a bearer token in front of a preset, replay windows turned off,
// custom HMAC in each encoding and algorithm, bearer only, and an open custom source.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "verify/verify.h"

namespace {

using triggerd::ErrorType;
using triggerd::Headers;
using triggerd::Status;
namespace verify = triggerd::verify;

struct Target {
  std::string kind;
  std::unique_ptr<verify::Verifier> verifier;
};

std::unique_ptr<verify::Verifier> Make(std::string_view kind, verify::AuthSettings settings,
                                       std::vector<std::string> signing) {
  verify::Secrets secrets;
  secrets.signing = std::move(signing);
  secrets.bearer_token_sha256 = {triggerd::crypto::HexEncode(
      triggerd::crypto::Digest(triggerd::crypto::DigestAlgorithm::kSha256, "fuzz-token"))};
  auto made = verify::MakeVerifier(kind, settings, secrets);
  if (!made) std::abort();  // a broken fixture, not a finding
  return std::move(made).value();
}

std::vector<Target> BuildTargets() {
  std::vector<Target> targets;
  verify::AuthSettings none;
  verify::AuthSettings legacy;
  legacy.allow_legacy_signature = true;
  verify::AuthSettings custom;
  custom.bearer = true;
  custom.hmac = verify::HmacSettings{"X-Custom-Sig", triggerd::crypto::DigestAlgorithm::kSha256,
                                     verify::SignatureEncoding::kHex, "sha256="};
  verify::AuthSettings custom_b64 = custom;
  custom_b64.bearer = false;
  custom_b64.hmac->encoding = verify::SignatureEncoding::kBase64;
  custom_b64.hmac->prefix = "";
  const std::pair<std::string_view, std::vector<std::string>> presets[] = {
      {"bitbucket", {"synthetic-bitbucket-secret-DO-NOT-USE"}},
      {"calendly", {"synthetic-calendly-webhook-signing-key"}},
      {"discord", {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"}},
      {"gitlab", {"synthetic-gitlab-token-DO-NOT-USE"}},
      {"intercom", {"synthetic-intercom-client-secret"}},
      {"jira", {"synthetic-jira-secret-DO-NOT-USE"}},
      {"linear", {"lin_wh_synthetic_secret_DO_NOT_USE"}},
      {"notion", {"secret_synthetic_notion_verification_token"}},
      {"pagerduty", {"synthetic-pagerduty-secret-0001"}},
      {"sentry", {"synthetic-sentry-client-secret-0001"}},
      {"shopify", {"synthetic_shopify_client_secret_DO_NOT_USE"}},
      {"slack", {"8f742231b10e8888abcd99yyyzzz85a5"}},
      {"standard-webhooks",
       {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}},
      {"stripe", {"whsec_synthetic_stripe_secret_DO_NOT_USE"}},
      {"twilio", {"12345"}},
      {"typeform", {"synthetic-typeform-secret-0001"}},
      {"zendesk", {"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="}},
  };
  for (const auto& [kind, secrets] : presets) {
    targets.push_back({std::string(kind), Make(kind, none, secrets)});
  }
  targets.push_back({"github", Make("github", none, {"It's a Secret to Everybody"})});
  targets.push_back({"github+legacy", Make("github", legacy, {"It's a Secret to Everybody"})});
  verify::AuthSettings bearer;
  bearer.bearer = true;
  targets.push_back({"github+bearer", Make("github", bearer, {"It's a Secret to Everybody"})});
  targets.push_back({"hubspot", Make("hubspot", none, {"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"})});
  targets.push_back(
      {"hubspot+legacy", Make("hubspot", legacy, {"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"})});
  verify::AuthSettings no_window;
  no_window.tolerance_seconds = 0;
  targets.push_back({"discord+no-window",
                     Make("discord", no_window,
                          {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"})});
  targets.push_back({"zendesk+no-window",
                     Make("zendesk", no_window, {"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="})});
  targets.push_back({"custom", Make("custom", custom, {"fuzz-secret"})});
  targets.push_back({"custom-base64", Make("custom", custom_b64, {"fuzz-secret"})});
  verify::AuthSettings custom_sha1 = custom_b64;
  custom_sha1.hmac->algorithm = triggerd::crypto::DigestAlgorithm::kSha1;
  custom_sha1.hmac->prefix = "sha1=";
  targets.push_back({"custom-sha1", Make("custom", custom_sha1, {"fuzz-secret"})});
  verify::AuthSettings custom_sha512 = custom;
  custom_sha512.bearer = false;
  custom_sha512.hmac->algorithm = triggerd::crypto::DigestAlgorithm::kSha512;
  targets.push_back({"custom-sha512", Make("custom", custom_sha512, {"fuzz-secret"})});
  targets.push_back({"custom-bearer", Make("custom", bearer, {})});
  targets.push_back({"custom-open", Make("custom", none, {})});

  for (const auto& provider : verify::kProviders) {
    bool covered = false;
    for (const auto& target : targets) {
      covered = covered || target.kind == provider.kind ||
                target.kind.starts_with(std::string(provider.kind) + "+") ||
                target.kind.starts_with(std::string(provider.kind) + "-");
    }
    if (!covered) {
      std::fprintf(stderr, "signature_header_fuzz: no target for kind \"%.*s\"\n",
                   static_cast<int>(provider.kind.size()), provider.kind.data());
      std::abort();
    }
  }
  return targets;
}

int64_t ParseNow(std::string_view text) {
  // Any int64, negative and extreme included: the window checks must not overflow.
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Target> targets = BuildTargets();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Headers headers;
  std::string_view body, url = "https://mycompany.com/myapp.php?foo=1&bar=2", method = "POST";
  int64_t now = 1767225600;
  while (!input.empty()) {
    const size_t eol = input.find('\n');
    std::string_view line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    if (line == ":body") {
      body = input;
      break;
    }
    const size_t colon = line.find(':', 1);
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == ":now") {
      now = ParseNow(value);
    } else if (name == ":url") {
      url = value;
    } else if (name == ":method") {
      method = value;
    } else {
      headers.push_back({std::string(name), std::string(value)});
    }
  }
  const verify::Request request{headers, body, method, url, now};
  for (const auto& target : targets) {
    const Status s = target.verifier->Verify(request);
    if (!s.ok() && (s.type() != ErrorType::kUnauthenticated || s.code().empty())) std::abort();
  }
  return 0;
}
