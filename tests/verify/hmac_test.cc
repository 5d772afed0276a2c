// The custom `auth.hmac` scheme.
#include <string>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

using crypto::DigestAlgorithm;

SignRequest Req(std::string_view body, int64_t now_unix = 0) {
  SignRequest r;
  r.body = body;
  r.now_unix = now_unix;
  return r;
}

class HmacVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override { secret_ = crypto::RandomToken(32); }

  Status Check(const HmacSettings& hmac, const Headers& headers, std::string_view body) {
    AuthSettings settings;
    settings.hmac = hmac;
    Secrets secrets;
    secrets.signing = {secret_};
    auto verifier = MakeVerifier("custom", settings, secrets);
    EXPECT_OK(verifier);
    if (!verifier) return verifier.error();
    return (*verifier)->Verify(Request{headers, body, "POST", "https://h/x", 0});
  }

  std::string Mac(DigestAlgorithm algorithm, std::string_view body) {
    return crypto::Hmac(algorithm, secret_, body);
  }

  std::string secret_;
  const std::string body_ = R"({"event":"deploy","ok":true})";
};

TEST_F(HmacVerifierTest, AcceptsEveryAlgorithmAndEncoding) {
  for (auto algorithm :
       {DigestAlgorithm::kSha1, DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    const std::string mac = Mac(algorithm, body_);
    EXPECT_OK(Check({"X-Sig", algorithm, SignatureEncoding::kHex, ""},
                    {{"X-Sig", crypto::HexEncode(mac)}}, body_));
    EXPECT_OK(Check({"X-Sig", algorithm, SignatureEncoding::kBase64, "sig="},
                    {{"x-sig", "sig=" + crypto::Base64Encode(mac)}}, body_));
  }
}

TEST_F(HmacVerifierTest, AcceptsUpperCaseHexAndUnpaddedOrUrlSafeBase64) {
  const std::string mac = Mac(DigestAlgorithm::kSha256, body_);
  std::string upper = crypto::HexEncode(mac);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_OK(Check({"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""},
                  {{"X-Sig", upper}}, body_));
  std::string b64 = crypto::Base64Encode(mac);
  std::string unpadded = b64.substr(0, b64.find('='));
  std::string url_safe = unpadded;
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  for (const auto& v : {unpadded, url_safe}) {
    EXPECT_OK(Check({"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kBase64, ""},
                    {{"X-Sig", v}}, body_));
  }
}

// Dust's webhook-triggers guide tells senders to send "sha256=<hex>"; a source configured with
// no prefix accepts that as well as the bare digest, for each algorithm.
TEST_F(HmacVerifierTest, AcceptsItsAlgorithmNameAsPrefixWhenNoneIsConfigured) {
  for (auto algorithm :
       {DigestAlgorithm::kSha1, DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    const std::string hex = crypto::HexEncode(Mac(algorithm, body_));
    const std::string name(crypto::DigestAlgorithmName(algorithm));
    SCOPED_TRACE(name);
    const HmacSettings hmac{"X-Signature", algorithm, SignatureEncoding::kHex, ""};
    EXPECT_OK(Check(hmac, {{"X-Signature", name + "=" + hex}}, body_));
    EXPECT_OK(Check(hmac, {{"X-Signature", hex}}, body_));
    EXPECT_EQ(Check(hmac, {{"X-Signature", name + "=" + hex}}, body_ + " ").code(),
              kInvalidSignature);
    const std::string b64 = crypto::Base64Encode(Mac(algorithm, body_));
    EXPECT_OK(Check({"X-Signature", algorithm, SignatureEncoding::kBase64, ""},
                    {{"X-Signature", name + "=" + b64}}, body_));
  }
}

// The prefix names the algorithm the sender used: one that disagrees with the source's is
// refused, even when the digest after it is the right one for the configured algorithm.
TEST_F(HmacVerifierTest, RejectsAnAlgorithmPrefixThatDisagreesWithTheConfiguredOne) {
  const std::string hex256 = crypto::HexEncode(Mac(DigestAlgorithm::kSha256, body_));
  const HmacSettings sha256{"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  EXPECT_EQ(Check(sha256, {{"X-Sig", "sha1=" + hex256}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(sha256, {{"X-Sig", "sha512=" + hex256}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(sha256, {{"X-Sig", "md5=" + hex256}}, body_).code(), kMalformedSignature);
  const std::string hex1 = crypto::HexEncode(Mac(DigestAlgorithm::kSha1, body_));
  const HmacSettings sha512{"X-Sig", DigestAlgorithm::kSha512, SignatureEncoding::kHex, ""};
  EXPECT_EQ(Check(sha512, {{"X-Sig", "sha1=" + hex1}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(sha512, {{"X-Sig", "sha256=" + hex256}}, body_).code(), kMalformedSignature);
}

TEST_F(HmacVerifierTest, RejectsSignatureWithWrongPrefix) {
  const std::string hex = crypto::HexEncode(Mac(DigestAlgorithm::kSha256, body_));
  const HmacSettings hmac{"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kHex, "sha256="};
  EXPECT_OK(Check(hmac, {{"X-Sig", "sha256=" + hex}}, body_));
  EXPECT_EQ(Check(hmac, {{"X-Sig", "sha1=" + hex}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", hex}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", "SHA256=" + hex}}, body_).code(), kMalformedSignature);
}

TEST_F(HmacVerifierTest, RejectsChangedBodyAndWrongSecret) {
  const HmacSettings hmac{"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  const std::string hex = crypto::HexEncode(Mac(DigestAlgorithm::kSha256, body_));
  EXPECT_EQ(Check(hmac, {{"X-Sig", hex}}, body_ + " ").code(), kInvalidSignature);
  const std::string other =
      crypto::HexEncode(crypto::Hmac(DigestAlgorithm::kSha256, "other", body_));
  EXPECT_EQ(Check(hmac, {{"X-Sig", other}}, body_).code(), kInvalidSignature);
}

TEST_F(HmacVerifierTest, RejectsMissingEmptyDuplicatedAndGarbageHeaders) {
  const HmacSettings hmac{"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kBase64, ""};
  const std::string good = crypto::Base64Encode(Mac(DigestAlgorithm::kSha256, body_));
  EXPECT_EQ(Check(hmac, {}, body_).code(), kMissingSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", ""}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", good}, {"X-Sig", good}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", "!!!!" + good.substr(4)}}, body_).code(), kMalformedSignature);
  EXPECT_EQ(Check(hmac, {{"X-Sig", good + good}}, body_).code(), kMalformedSignature);
  // Hex of the right digest is not base64 of it.
  EXPECT_EQ(Check(hmac, {{"X-Sig", crypto::HexEncode(Mac(DigestAlgorithm::kSha256, body_))}}, body_)
                .code(),
            kMalformedSignature);
}

TEST_F(HmacVerifierTest, SignsWhatItVerifies) {
  AuthSettings settings;
  settings.hmac =
      HmacSettings{"X-Hook-Sig", DigestAlgorithm::kSha512, SignatureEncoding::kBase64, "v="};
  auto headers = Sign("custom", settings, secret_, Req(body_));
  ASSERT_OK(headers);
  EXPECT_OK(Check(*settings.hmac, *headers, body_));
}

TEST(CustomVerifierTest, WithoutBearerOrHmacAcceptsEverything) {
  auto verifier = MakeVerifier("custom", {}, {});
  ASSERT_OK(verifier);
  EXPECT_OK((*verifier)->Verify(Request{{}, "anything", "POST", "https://h/x", 0}));
}

TEST(CustomVerifierTest, HmacWithoutSecretIsAConfigurationError) {
  AuthSettings settings;
  settings.hmac = HmacSettings{"X-Sig", DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  auto verifier = MakeVerifier("custom", settings, {});
  ASSERT_FALSE(verifier.has_value());
  EXPECT_EQ(verifier.error().type(), ErrorType::kInvalidArgument);
  Secrets empty_secret;
  empty_secret.signing = {""};
  EXPECT_FALSE(MakeVerifier("custom", settings, empty_secret).has_value());
}

}  // namespace
}  // namespace triggerd::verify
