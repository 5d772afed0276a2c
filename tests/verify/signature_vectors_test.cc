// ../shared/vectors/signatures.json, one test case per vector: valid ones must be accepted,
// invalid ones refused. The vector's `scheme` picks a kind and settings below.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

struct Vector {
  std::string id;
  std::string scheme;
  std::vector<std::string> secrets;
  Headers headers;
  std::string body;
  std::string method = "POST";
  std::string url = "https://hooks.example.com/hook";
  int64_t now_unix = 0;
  std::optional<int64_t> tolerance_s;
  bool valid = false;
  std::string why;
};

std::string Str(const boost::json::value& v) {
  const auto& s = v.as_string();
  return std::string(s.data(), s.size());
}

std::vector<Vector> LoadVectors() {
  std::vector<Vector> out;
  const std::string text = testing::ReadFileOrDie(testing::SharedPath("vectors/signatures.json"));
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_array()) {
    ADD_FAILURE() << "vectors/signatures.json is not a JSON array: " << ec.message();
    return out;
  }
  for (const auto& item : doc.as_array()) {
    const auto& o = item.as_object();
    Vector v;
    v.id = Str(o.at("id"));
    v.scheme = Str(o.at("scheme"));
    if (o.at("secret").is_array()) {
      for (const auto& s : o.at("secret").as_array()) v.secrets.push_back(Str(s));
    } else {
      v.secrets.push_back(Str(o.at("secret")));
    }
    for (const auto& [name, value] : o.at("headers").as_object()) {
      v.headers.push_back({std::string(name), Str(value)});
    }
    v.body = Str(o.at("body"));
    if (o.contains("method")) v.method = Str(o.at("method"));
    if (o.contains("url")) v.url = Str(o.at("url"));
    if (!o.at("now_unix").is_null()) v.now_unix = o.at("now_unix").to_number<int64_t>();
    if (o.contains("tolerance_s")) v.tolerance_s = o.at("tolerance_s").to_number<int64_t>();
    v.valid = Str(o.at("expected")) == "valid";
    v.why = Str(o.at("why"));
    out.push_back(std::move(v));
  }
  return out;
}

const std::vector<Vector>& Vectors() {
  static const std::vector<Vector> vectors = LoadVectors();
  return vectors;
}

struct Mapping {
  std::string kind;
  AuthSettings settings;
};

// The vector file's scheme ids (providers.md section 4) as our kinds and settings.
std::optional<Mapping> MapScheme(const Vector& v) {
  Mapping m;
  const std::string& s = v.scheme;
  if (s == "github-hmac-sha256") {
    m.kind = "github";
  } else if (s == "github-hmac-sha1-legacy") {
    m.kind = "github";
    m.settings.allow_legacy_signature = true;
  } else if (s == "gitlab-token") {
    m.kind = "gitlab";
  } else if (s == "gitlab-signing-token (standard-webhooks)" || s == "standard-webhooks-v1" ||
             s == "standard-webhooks-v1a-ed25519") {
    m.kind = "standard-webhooks";
  } else if (s == "websub-x-hub-signature-sha256") {
    // The same scheme for both; the id says which provider sent it.
    m.kind = v.id.starts_with("bitbucket") ? "bitbucket" : "jira";
  } else if (s == "intercom-x-hub-signature-sha1") {
    m.kind = "intercom";
  } else if (s == "zendesk-hmac-sha256-ts-body") {
    m.kind = "zendesk";
  } else if (s == "stripe-v1") {
    m.kind = "stripe";
  } else if (s == "slack-v0") {
    m.kind = "slack";
  } else if (s == "shopify-hmac-sha256-base64") {
    m.kind = "shopify";
  } else if (s == "linear-hmac-sha256-hex") {
    m.kind = "linear";
  } else if (s == "twilio-hmac-sha1-url-params") {
    m.kind = "twilio";
  } else if (s == "notion-hmac-sha256") {
    m.kind = "notion";
  } else if (s == "hubspot-v1" || s == "hubspot-v2") {
    m.kind = "hubspot";
    m.settings.allow_legacy_signature = true;
  } else if (s == "hubspot-v3") {
    m.kind = "hubspot";
  } else if (s == "discord-ed25519") {
    m.kind = "discord";
  } else if (s == "pagerduty-v1") {
    m.kind = "pagerduty";
  } else if (s == "sentry-hmac-sha256-hex") {
    m.kind = "sentry";
  } else if (s == "typeform-sha256-base64") {
    m.kind = "typeform";
  } else if (s == "calendly-v1") {
    m.kind = "calendly";
  } else {
    return std::nullopt;
  }
  m.settings.tolerance_seconds = v.tolerance_s;
  return m;
}

// Why each invalid vector must be refused: a refusal for another reason is a bug that the bare
// verdict would hide (a tampered body refused only because a header parse broke, say).
const std::map<std::string, std::string, std::less<>> kRefusalCodes = {
    {"github-03", "invalid_signature"},
    {"github-04", "invalid_signature"},
    {"github-06", "missing_signature"},
    {"github-10", "invalid_signature"},
    {"gitlab-03", "invalid_token"},
    {"gitlab-05", "missing_token"},
    {"gitlab-07", "invalid_signature"},
    {"jira-02", "invalid_signature"},
    {"jira-03", "malformed_signature"},
    {"bitbucket-02", "invalid_signature"},
    {"bitbucket-03", "malformed_signature"},
    {"intercom-02", "invalid_signature"},
    {"intercom-03", "malformed_signature"},
    {"zendesk-02", "invalid_signature"},
    {"zendesk-03", "invalid_signature"},
    {"zendesk-05", "invalid_signature"},
    {"zendesk-06", "invalid_signature"},
    {"zendesk-08", "invalid_signature"},
    {"stripe-02", "invalid_signature"},
    {"stripe-03", "timestamp_out_of_tolerance"},
    {"stripe-05", "invalid_signature"},
    {"stripe-10", "malformed_signature"},
    {"stripe-11", "invalid_signature"},
    {"slack-02", "timestamp_out_of_tolerance"},
    {"slack-04", "invalid_signature"},
    {"slack-05", "timestamp_out_of_tolerance"},
    {"standard-webhooks-svix-04", "timestamp_out_of_tolerance"},
    {"standard-webhooks-svix-05", "invalid_signature"},
    {"standard-webhooks-svix-07", "invalid_signature"},
    {"standard-webhooks-svix-08", "timestamp_out_of_tolerance"},
    {"standard-webhooks-svix-10", "invalid_signature"},
    {"standard-webhooks-svix-16", "invalid_signature"},
    {"shopify-02", "invalid_signature"},
    {"shopify-03", "malformed_signature"},
    {"linear-02", "invalid_signature"},
    {"linear-03", "timestamp_out_of_tolerance"},
    {"linear-05", "malformed_signature"},
    {"twilio-02", "invalid_signature"},
    {"twilio-03", "invalid_signature"},
    {"twilio-09", "invalid_signature"},
    {"twilio-11", "invalid_signature"},
    {"notion-02", "invalid_signature"},
    {"notion-03", "missing_signature"},
    {"hubspot-04", "invalid_signature"},
    {"hubspot-07", "invalid_signature"},
    {"hubspot-08", "timestamp_out_of_tolerance"},
    {"discord-02", "invalid_signature"},
    {"discord-03", "invalid_signature"},
    {"discord-05", "malformed_signature"},
    {"discord-06", "timestamp_out_of_tolerance"},
    {"pagerduty-02", "invalid_signature"},
    {"pagerduty-05", "malformed_signature"},
    {"sentry-02", "invalid_signature"},
    {"sentry-03", "invalid_signature"},
    {"typeform-02", "invalid_signature"},
    {"typeform-03", "malformed_signature"},
    {"calendly-02", "invalid_signature"},
    {"calendly-03", "timestamp_out_of_tolerance"},
    {"calendly-05", "invalid_signature"},
};

class SignatureVectorTest : public ::testing::TestWithParam<size_t> {};

TEST_P(SignatureVectorTest, MatchesExpectedVerdict) {
  const Vector& v = Vectors()[GetParam()];
  SCOPED_TRACE(v.id + " (" + v.scheme + "): " + v.why);
  auto mapping = MapScheme(v);
  ASSERT_TRUE(mapping.has_value()) << "no mapping for scheme " << v.scheme;
  Secrets secrets;
  secrets.signing = v.secrets;
  auto verifier = MakeVerifier(mapping->kind, mapping->settings, secrets);
  ASSERT_OK(verifier);
  const Request request{v.headers, v.body, v.method, v.url, v.now_unix};
  const Status status = (*verifier)->Verify(request);
  if (v.valid) {
    EXPECT_OK(status);
  } else {
    EXPECT_FALSE(status.ok()) << "accepted an invalid request";
    EXPECT_EQ(status.type(), ErrorType::kUnauthenticated) << status.ToString();
    auto code = kRefusalCodes.find(v.id);
    ASSERT_NE(code, kRefusalCodes.end()) << "no expected refusal code for " << v.id;
    EXPECT_EQ(status.code(), code->second) << status.ToString();
  }
}

std::vector<size_t> Indices() {
  std::vector<size_t> out;
  for (size_t i = 0; i < Vectors().size(); ++i) out.push_back(i);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Vectors, SignatureVectorTest, ::testing::ValuesIn(Indices()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string name = Vectors()[info.param].id;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// Guards against the file shrinking or a parse silently dropping vectors.
TEST(SignatureVectorFileTest, HoldsAllVectors) { EXPECT_EQ(Vectors().size(), 108u); }

}  // namespace
}  // namespace triggerd::verify
