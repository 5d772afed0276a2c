#include <boost/json/parse.hpp>
#include <string>

#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

Result<AuthSettings> Parse(std::string_view kind, std::string_view json) {
  return ParseAuthSettingsJson(kind, json);
}

void ExpectInvalid(std::string_view kind, std::string_view json, std::string_view fragment) {
  auto r = Parse(kind, json);
  ASSERT_FALSE(r.has_value()) << json;
  EXPECT_EQ(r.error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(r.error().code(), "invalid_request");
  EXPECT_NE(r.error().message().find(fragment), std::string::npos)
      << json << " -> " << r.error().message();
}

TEST(AuthSettingsTest, ParsesFullCustomObject) {
  auto r = Parse("custom", R"({"bearer": true, "hmac": {"header": "X-Sig", "algorithm": "sha512",
                               "encoding": "base64", "prefix": "sha512="}})");
  ASSERT_OK(r);
  EXPECT_TRUE(r->bearer);
  ASSERT_TRUE(r->hmac.has_value());
  EXPECT_EQ(r->hmac->header, "X-Sig");
  EXPECT_EQ(r->hmac->algorithm, crypto::DigestAlgorithm::kSha512);
  EXPECT_EQ(r->hmac->encoding, SignatureEncoding::kBase64);
  EXPECT_EQ(r->hmac->prefix, "sha512=");
}

TEST(AuthSettingsTest, AppliesDefaults) {
  auto r = Parse("custom", R"({"hmac": {"header": "X-Sig"}})");
  ASSERT_OK(r);
  EXPECT_FALSE(r->bearer);
  EXPECT_EQ(r->hmac->algorithm, crypto::DigestAlgorithm::kSha256);
  EXPECT_EQ(r->hmac->encoding, SignatureEncoding::kHex);
  EXPECT_EQ(r->hmac->prefix, "");
  auto none = Parse("custom", "{}");
  ASSERT_OK(none);
  EXPECT_EQ(*none, AuthSettings{});
  auto null = ParseAuthSettings("github", boost::json::value(nullptr));
  ASSERT_OK(null);
  EXPECT_EQ(*null, AuthSettings{});
  auto hmac_null = Parse("custom", R"({"hmac": null, "bearer": false})");
  ASSERT_OK(hmac_null);
  EXPECT_FALSE(hmac_null->hmac.has_value());
}

TEST(AuthSettingsTest, NamesTheFieldInEveryError) {
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "algorithm": "md5"}})",
                "auth.hmac.algorithm must be one of sha1, sha256, sha512");
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "algorithm": 256}})",
                "auth.hmac.algorithm must be one of sha1, sha256, sha512");
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "encoding": "base32"}})",
                "auth.hmac.encoding must be one of hex, base64");
  ExpectInvalid("custom", R"({"hmac": {"algorithm": "sha1"}})", "auth.hmac.header is required");
  ExpectInvalid("custom", R"({"hmac": {"header": ""}})", "auth.hmac.header");
  ExpectInvalid("custom", R"({"hmac": {"header": "X Sig"}})", "auth.hmac.header");
  ExpectInvalid("custom", R"({"hmac": {"header": "Authorization"}})", "auth.hmac.header");
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "prefix": 1}})",
                "auth.hmac.prefix must be a string");
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "prefix": "\n"}})", "auth.hmac.prefix");
  ExpectInvalid("custom", R"({"hmac": {"header": "X", "secret": "s"}})", "auth.hmac.secret");
  ExpectInvalid("custom", R"({"hmac": "sha256"})", "auth.hmac must be an object");
  ExpectInvalid("custom", R"({"bearer": "yes"})", "auth.bearer must be true or false");
  ExpectInvalid("custom", R"({"tolerance_second": 30})", "auth.tolerance_second is not a known");
  ExpectInvalid("custom", R"([1])", "auth must be an object");
  ExpectInvalid("custom", R"({"bearer": tru)", "auth is not valid JSON");
}

TEST(AuthSettingsTest, RefusesSettingsThatDoNotSuitTheKind) {
  ExpectInvalid("github", R"({"hmac": {"header": "X"}})", "auth.hmac applies only to kind custom");
  ExpectInvalid("github", R"({"tolerance_seconds": 60})", "auth.tolerance_seconds does not apply");
  ExpectInvalid("custom", R"({"tolerance_seconds": 60})", "auth.tolerance_seconds does not apply");
  ExpectInvalid("stripe", R"({"allow_legacy_signature": true})",
                "auth.allow_legacy_signature applies only");
  ExpectInvalid("nope", "{}", "kind");
}

TEST(AuthSettingsTest, BoundsTolerance) {
  EXPECT_OK(Parse("stripe", R"({"tolerance_seconds": 1})"));
  EXPECT_OK(Parse("stripe", R"({"tolerance_seconds": 86400})"));
  ExpectInvalid("stripe", R"({"tolerance_seconds": 0})",
                "auth.tolerance_seconds must be between 1");
  ExpectInvalid("stripe", R"({"tolerance_seconds": -5})", "auth.tolerance_seconds");
  ExpectInvalid("stripe", R"({"tolerance_seconds": 86401})", "auth.tolerance_seconds");
  ExpectInvalid("stripe", R"({"tolerance_seconds": 18446744073709551615})",
                "auth.tolerance_seconds");
  ExpectInvalid("stripe", R"({"tolerance_seconds": 1.5})", "auth.tolerance_seconds");
  // Zendesk and Discord document no window, so ours may be turned off.
  EXPECT_OK(Parse("zendesk", R"({"tolerance_seconds": 0})"));
  EXPECT_OK(Parse("discord", R"({"tolerance_seconds": 0})"));
}

TEST(AuthSettingsTest, PresetSettingsParse) {
  auto github = Parse("github", R"({"allow_legacy_signature": true})");
  ASSERT_OK(github);
  EXPECT_TRUE(github->allow_legacy_signature);
  auto slack = Parse("slack", R"({"tolerance_seconds": 120, "bearer": false})");
  ASSERT_OK(slack);
  EXPECT_EQ(slack->tolerance_seconds, 120);
}

TEST(AuthSettingsTest, SerialisationRoundTrips) {
  AuthSettings custom;
  custom.bearer = true;
  custom.hmac =
      HmacSettings{"X-Sig", crypto::DigestAlgorithm::kSha1, SignatureEncoding::kBase64, "sha1="};
  AuthSettings hubspot;
  hubspot.tolerance_seconds = 600;
  hubspot.allow_legacy_signature = true;
  for (const auto& [kind, settings] : {std::pair{"custom", custom}, std::pair{"hubspot", hubspot},
                                       std::pair{"github", AuthSettings{}}}) {
    const std::string json = SerializeAuthSettings(settings);
    auto back = Parse(kind, json);
    ASSERT_OK(back);
    EXPECT_EQ(*back, settings) << json;
  }
  EXPECT_EQ(SerializeAuthSettings(AuthSettings{}), R"({"bearer":false})");
}

TEST(AuthSettingsTest, MakeVerifierRevalidatesSettingsBuiltInCode) {
  AuthSettings settings;
  settings.hmac =
      HmacSettings{"X-Sig", crypto::DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  Secrets secrets;
  secrets.signing = {"s"};
  EXPECT_EQ(MakeVerifier("github", settings, secrets).error().type(), ErrorType::kInvalidArgument);
  AuthSettings bad_header;
  bad_header.hmac =
      HmacSettings{"Bad Header", crypto::DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  EXPECT_EQ(MakeVerifier("custom", bad_header, secrets).error().type(),
            ErrorType::kInvalidArgument);
}

}  // namespace
}  // namespace triggerd::verify
