// Sign -> Verify round trips for every preset, with secrets and bodies made at test time, and
// the tamperings each preset must refuse.
#include <algorithm>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

enum class Window { kNone, kAgeOnly, kBothWays };

struct PresetCase {
  std::string kind;
  std::string signature_header;  // the header carrying the signature (or token)
  Window window = Window::kNone;
  int64_t tolerance = 0;
  bool body_authenticated = true;  // false for gitlab's plain token
};

// Written out here rather than read from the implementation, so the test states the contract.
const std::vector<PresetCase>& Presets() {
  static const std::vector<PresetCase> presets = {
      {"bitbucket", "X-Hub-Signature"},
      {"calendly", "Calendly-Webhook-Signature", Window::kAgeOnly, 180},
      {"discord", "X-Signature-Ed25519", Window::kBothWays, 300},
      {"github", "X-Hub-Signature-256"},
      {"gitlab", "X-Gitlab-Token", Window::kNone, 0, false},
      {"hubspot", "X-HubSpot-Signature-v3", Window::kAgeOnly, 300},
      {"intercom", "X-Hub-Signature"},
      {"jira", "X-Hub-Signature"},
      {"linear", "Linear-Signature", Window::kBothWays, 60},
      {"notion", "X-Notion-Signature"},
      {"pagerduty", "X-PagerDuty-Signature"},
      {"sentry", "Sentry-Hook-Signature"},
      {"shopify", "X-Shopify-Hmac-Sha256"},
      {"slack", "X-Slack-Signature", Window::kBothWays, 300},
      {"standard-webhooks", "webhook-signature", Window::kBothWays, 300},
      {"stripe", "Stripe-Signature", Window::kAgeOnly, 300},
      {"twilio", "X-Twilio-Signature"},
      {"typeform", "Typeform-Signature"},
      {"zendesk", "X-Zendesk-Webhook-Signature", Window::kBothWays, 300},
  };
  return presets;
}

constexpr int64_t kNow = 1767225600;
constexpr std::string_view kUrl = "https://hooks.example.com/api/v1/w/ws_1/triggers/hooks/src_1";

SignRequest Req(std::string_view body, int64_t now_unix = 0) {
  SignRequest r;
  r.body = body;
  r.now_unix = now_unix;
  return r;
}

// A signing secret and what the verifier holds for it (they differ only for Ed25519 kinds).
struct KeyPair {
  std::string sign;
  std::string verify;
};

KeyPair NewKey(const std::string& kind) {
  if (kind == "discord") {
    const std::string seed = crypto::RandomBytes(32);
    return {crypto::HexEncode(seed), crypto::HexEncode(crypto::Ed25519PublicKey(seed))};
  }
  if (kind == "standard-webhooks") {
    const std::string s = "whsec_" + crypto::Base64Encode(crypto::RandomBytes(32));
    return {s, s};
  }
  const std::string s = "test-" + crypto::RandomToken(32);
  return {s, s};
}

// A body as the provider would send it, signed at `signed_at`.
std::string BodyFor(const std::string& kind, int64_t signed_at, std::string_view marker = "1") {
  if (kind == "twilio") {
    return "To=%2B15005550001&Body=H%C3%A9llo+w%26rld+" + std::string(marker) +
           "&From=%2B15005550006&Body=again";
  }
  std::string body =
      R"({"id":"evt_)" + std::string(marker) + R"(","type":"thing.created","text":"héllo ✓ 😀")";
  if (kind == "linear") body += R"(,"webhookTimestamp":)" + std::to_string(signed_at * 1000);
  return body + "}\n";
}

class PresetRoundTripTest : public ::testing::TestWithParam<PresetCase> {
 protected:
  void SetUp() override { key_ = NewKey(GetParam().kind); }

  Headers SignAt(int64_t signed_at, const std::string& body, const KeyPair& key) {
    SignRequest req;
    req.body = body;
    req.now_unix = signed_at;
    req.url = kUrl;
    auto headers = Sign(GetParam().kind, AuthSettings{}, key.sign, req);
    EXPECT_OK(headers);
    return headers ? *headers : Headers{};
  }

  Status VerifyWith(const Headers& headers, const std::string& body,
                    std::vector<std::string> secrets, int64_t now = kNow,
                    const AuthSettings& settings = {}) {
    Secrets s;
    s.signing = std::move(secrets);
    auto verifier = MakeVerifier(GetParam().kind, settings, s);
    EXPECT_OK(verifier);
    if (!verifier) return verifier.error();
    return (*verifier)->Verify(Request{headers, body, "POST", kUrl, now});
  }

  // Headers the verifier reads: all that Sign produced, except GitHub's legacy SHA-1 header
  // (ignored unless allow_legacy_signature and the SHA-256 one is absent).
  bool IsRead(const Header& h) const {
    return !(GetParam().kind == "github" && h.name == "X-Hub-Signature");
  }

  KeyPair key_;
};

TEST_P(PresetRoundTripTest, AcceptsWhatSignProduces) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  EXPECT_OK(VerifyWith(SignAt(kNow, body, key_), body, {key_.verify}));
}

TEST_P(PresetRoundTripTest, AcceptsAnyOfSeveralSecretsDuringRotation) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const KeyPair old_key = NewKey(GetParam().kind);
  EXPECT_OK(VerifyWith(SignAt(kNow, body, key_), body, {old_key.verify, key_.verify}));
  EXPECT_OK(VerifyWith(SignAt(kNow, body, old_key), body, {key_.verify, old_key.verify}));
}

TEST_P(PresetRoundTripTest, RejectsChangedBody) {
  if (!GetParam().body_authenticated) GTEST_SKIP() << "the plain token does not cover the body";
  const Headers headers = SignAt(kNow, BodyFor(GetParam().kind, kNow), key_);
  const Status s = VerifyWith(headers, BodyFor(GetParam().kind, kNow, "2"), {key_.verify});
  EXPECT_EQ(s.code(), kInvalidSignature) << s.ToString();
  EXPECT_EQ(s.type(), ErrorType::kUnauthenticated);
}

TEST_P(PresetRoundTripTest, RejectsWrongSecretWithoutEchoingSecretOrSignature) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const Headers headers = SignAt(kNow, body, key_);
  const KeyPair other = NewKey(GetParam().kind);
  const Status s = VerifyWith(headers, body, {other.verify});
  EXPECT_EQ(s.code(), GetParam().kind == "gitlab" ? kInvalidToken : kInvalidSignature)
      << s.ToString();
  // What the verifier would have expected is the signature made with its own secret.
  for (const auto& h : SignAt(kNow, body, other)) {
    const bool is_signature = h.value.size() >= 8 && h.name != "webhook-id" &&
                              h.name.find("imestamp") == std::string::npos;
    if (is_signature) {
      EXPECT_EQ(s.message().find(h.value), std::string::npos) << s.message();
    }
  }
  EXPECT_EQ(s.message().find(other.verify), std::string::npos) << s.message();
}

TEST_P(PresetRoundTripTest, RejectsEachMissingHeader) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const Headers headers = SignAt(kNow, body, key_);
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!IsRead(headers[i])) continue;
    Headers without = headers;
    without.erase(without.begin() + static_cast<ptrdiff_t>(i));
    const Status s = VerifyWith(without, body, {key_.verify});
    EXPECT_EQ(s.code(), GetParam().kind == "gitlab" ? kMissingToken : kMissingSignature)
        << headers[i].name << ": " << s.ToString();
  }
}

TEST_P(PresetRoundTripTest, RejectsEachDuplicatedHeader) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const Headers headers = SignAt(kNow, body, key_);
  for (const auto& h : headers) {
    if (!IsRead(h)) continue;
    Headers twice = headers;
    twice.push_back({h.name, h.value});
    const Status s = VerifyWith(twice, body, {key_.verify});
    EXPECT_FALSE(s.ok()) << h.name << " sent twice was accepted";
    EXPECT_EQ(s.type(), ErrorType::kUnauthenticated) << s.ToString();
  }
}

TEST_P(PresetRoundTripTest, RejectsEachEmptyHeader) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const Headers headers = SignAt(kNow, body, key_);
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!IsRead(headers[i])) continue;
    Headers emptied = headers;
    emptied[i].value.clear();
    const Status s = VerifyWith(emptied, body, {key_.verify});
    EXPECT_FALSE(s.ok()) << headers[i].name << " empty was accepted";
    EXPECT_EQ(s.type(), ErrorType::kUnauthenticated) << s.ToString();
  }
}

TEST_P(PresetRoundTripTest, RejectsGarbageSignature) {
  const std::string body = BodyFor(GetParam().kind, kNow);
  const std::string garbages[] = {
      "%%%not-hex-nor-base64%%%",  "zz", "sha256=", "v1=,v1a,", std::string(200, 'A'),
      std::string("\0\xff\x80", 3)};
  for (const std::string& garbage : garbages) {
    Headers headers = SignAt(kNow, body, key_);
    for (auto& h : headers) {
      if (HeaderNameEquals(h.name, GetParam().signature_header)) h.value = garbage;
    }
    const Status s = VerifyWith(headers, body, {key_.verify});
    EXPECT_EQ(s.code(), GetParam().kind == "gitlab" ? kInvalidToken : kMalformedSignature)
        << "garbage " << garbage << ": " << s.ToString();
  }
}

TEST_P(PresetRoundTripTest, RejectsStaleTimestamp) {
  const PresetCase& p = GetParam();
  if (p.window == Window::kNone) GTEST_SKIP() << "no signed timestamp";
  for (int64_t age : {p.tolerance + 1, int64_t{86400 * 365}}) {
    const std::string body = BodyFor(p.kind, kNow - age);
    const Status s = VerifyWith(SignAt(kNow - age, body, key_), body, {key_.verify});
    EXPECT_EQ(s.code(), kTimestampOutOfTolerance) << "age " << age << ": " << s.ToString();
  }
  // At the edge of the window it still passes.
  const std::string body = BodyFor(p.kind, kNow - p.tolerance);
  EXPECT_OK(VerifyWith(SignAt(kNow - p.tolerance, body, key_), body, {key_.verify}));
}

TEST_P(PresetRoundTripTest, HandlesFutureTimestampPerProviderWindow) {
  const PresetCase& p = GetParam();
  if (p.window == Window::kNone) GTEST_SKIP() << "no signed timestamp";
  const int64_t ahead = p.tolerance + 1;
  const std::string body = BodyFor(p.kind, kNow + ahead);
  const Status s = VerifyWith(SignAt(kNow + ahead, body, key_), body, {key_.verify});
  if (p.window == Window::kBothWays) {
    EXPECT_EQ(s.code(), kTimestampOutOfTolerance) << s.ToString();
  } else {
    // Stripe, Calendly and HubSpot check only the age, as their libraries do.
    EXPECT_OK(s);
  }
}

TEST_P(PresetRoundTripTest, ConfiguredToleranceReplacesDefault) {
  const PresetCase& p = GetParam();
  if (p.window == Window::kNone) GTEST_SKIP() << "no signed timestamp";
  AuthSettings settings;
  settings.tolerance_seconds = p.tolerance + 100;
  const std::string body = BodyFor(p.kind, kNow - p.tolerance - 50);
  EXPECT_OK(
      VerifyWith(SignAt(kNow - p.tolerance - 50, body, key_), body, {key_.verify}, kNow, settings));
}

INSTANTIATE_TEST_SUITE_P(Presets, PresetRoundTripTest, ::testing::ValuesIn(Presets()),
                         [](const ::testing::TestParamInfo<PresetCase>& info) {
                           std::string name = info.param.kind;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(PresetListTest, CoversEveryProviderButCustom) {
  std::vector<std::string> covered;
  for (const auto& p : Presets()) covered.push_back(p.kind);
  for (const auto& info : kProviders) {
    if (info.kind == "custom") continue;
    EXPECT_NE(std::find(covered.begin(), covered.end(), info.kind), covered.end()) << info.kind;
  }
}

TEST(SignTest, GithubSendsBothHeadersAsGithubDoes) {
  auto headers = Sign("github", {}, "It's a Secret to Everybody", Req("Hello, World!"));
  ASSERT_OK(headers);
  ASSERT_EQ(headers->size(), 2u);
  EXPECT_EQ(FindHeader(*headers, "X-Hub-Signature-256").value(),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_TRUE(FindHeader(*headers, "X-Hub-Signature").value().starts_with("sha1="));
}

TEST(SignTest, StripeKeysWithTheWholeWhsecString) {
  const std::string secret = "whsec_" + crypto::RandomToken(24);
  auto headers = Sign("stripe", {}, secret, Req("{}", 1700000000));
  ASSERT_OK(headers);
  const std::string expected =
      "t=1700000000,v1=" +
      crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, "1700000000.{}"));
  EXPECT_EQ(FindHeader(*headers, "Stripe-Signature").value(), expected);
}

TEST(SignTest, StandardWebhooksKeysWithTheDecodedSecretAndKeepsMessageId) {
  const std::string key = crypto::RandomBytes(32);
  SignRequest req = Req("{}", 1700000000);
  req.message_id = "msg_1";
  auto headers = Sign("standard-webhooks", {}, "whsec_" + crypto::Base64Encode(key), req);
  ASSERT_OK(headers);
  EXPECT_EQ(FindHeader(*headers, "webhook-id").value(), "msg_1");
  EXPECT_EQ(FindHeader(*headers, "webhook-signature").value(),
            "v1," + crypto::Base64Encode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, key,
                                                      "msg_1.1700000000.{}")));
}

TEST(SignTest, StandardWebhooksV1aRoundTripsWithWhpkKey) {
  const std::string seed = crypto::RandomBytes(32);
  auto headers =
      Sign("standard-webhooks", {}, "whsk_" + crypto::Base64Encode(seed), Req("{\"a\":1}", kNow));
  ASSERT_OK(headers);
  EXPECT_TRUE(FindHeader(*headers, "webhook-signature").value().starts_with("v1a,"));
  Secrets secrets;
  secrets.signing = {"whpk_" + crypto::Base64Encode(crypto::Ed25519PublicKey(seed))};
  auto verifier = MakeVerifier("standard-webhooks", {}, secrets);
  ASSERT_OK(verifier);
  EXPECT_OK((*verifier)->Verify(Request{*headers, "{\"a\":1}", "POST", kUrl, kNow}));
  EXPECT_EQ((*verifier)->Verify(Request{*headers, "{\"a\":2}", "POST", kUrl, kNow}).code(),
            kInvalidSignature);
}

TEST(SignTest, TwilioSignsJsonBodyThroughBodySha256InUrl) {
  const std::string body = R"({"property": "value"})";
  const std::string url = "https://hooks.example.com/t?bodySHA256=" +
                          crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, body));
  SignRequest req = Req(body);
  req.url = url;
  auto headers = Sign("twilio", {}, "token", req);
  ASSERT_OK(headers);
  Secrets secrets;
  secrets.signing = {"token"};
  auto verifier = MakeVerifier("twilio", {}, secrets);
  ASSERT_OK(verifier);
  EXPECT_OK((*verifier)->Verify(Request{*headers, body, "POST", url, 0}));
  EXPECT_EQ((*verifier)->Verify(Request{*headers, body + " ", "POST", url, 0}).code(),
            kInvalidSignature);
}

TEST(SignTest, AddsBearerTokenWhenConfigured) {
  AuthSettings settings;
  settings.bearer = true;
  EXPECT_FALSE(Sign("custom", settings, "", Req("{}")).has_value());
  SignRequest req = Req("{}");
  req.bearer_token = "tok";
  auto headers = Sign("custom", settings, "", req);
  ASSERT_OK(headers);
  EXPECT_EQ(FindHeader(*headers, "Authorization").value(), "Bearer tok");
}

TEST(SignTest, RefusesUnknownKindAndUnusableSecrets) {
  EXPECT_EQ(Sign("nope", {}, "s", {}).error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(Sign("github", {}, "", {}).error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(Sign("discord", {}, "not-hex", {}).error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(Sign("twilio", {}, "s", Req("a=1")).error().type(), ErrorType::kInvalidArgument);
}

}  // namespace
}  // namespace triggerd::verify
