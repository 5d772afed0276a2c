#include <string>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

SignRequest Req(std::string_view body, int64_t now_unix = 0) {
  SignRequest r;
  r.body = body;
  r.now_unix = now_unix;
  return r;
}

std::string HashHex(std::string_view token) {
  return crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, token));
}

class BearerVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = crypto::RandomToken(40);
    settings_.bearer = true;
    secrets_.bearer_token_sha256 = {HashHex(token_)};
  }

  Status Check(const Headers& headers) {
    auto verifier = MakeVerifier("custom", settings_, secrets_);
    EXPECT_OK(verifier);
    if (!verifier) return verifier.error();
    return (*verifier)->Verify(Request{headers, "{}", "POST", "https://h/x", 0});
  }

  std::string token_;
  AuthSettings settings_;
  Secrets secrets_;
};

TEST_F(BearerVerifierTest, AcceptsTheToken) {
  EXPECT_OK(Check({{"Authorization", "Bearer " + token_}}));
}

TEST_F(BearerVerifierTest, AcceptsSchemeInAnyCaseAndHeaderNameInAnyCase) {
  EXPECT_OK(Check({{"authorization", "bearer " + token_}}));
  EXPECT_OK(Check({{"AUTHORIZATION", "BEARER   " + token_ + " "}}));
}

TEST_F(BearerVerifierTest, AcceptsPreviousTokenDuringRotation) {
  const std::string old_token = crypto::RandomToken(40);
  secrets_.bearer_token_sha256.push_back(HashHex(old_token));
  EXPECT_OK(Check({{"Authorization", "Bearer " + old_token}}));
  EXPECT_OK(Check({{"Authorization", "Bearer " + token_}}));
}

TEST_F(BearerVerifierTest, RejectsMissingHeaderAsMissingToken) {
  EXPECT_EQ(Check({}).code(), kMissingToken);
}

TEST_F(BearerVerifierTest, RejectsOtherSchemesAndEmptyTokenAsMissingToken) {
  EXPECT_EQ(Check({{"Authorization", "Basic " + token_}}).code(), kMissingToken);
  EXPECT_EQ(Check({{"Authorization", token_}}).code(), kMissingToken);
  EXPECT_EQ(Check({{"Authorization", "Bearer "}}).code(), kMissingToken);
  EXPECT_EQ(Check({{"Authorization", "Bearer    "}}).code(), kMissingToken);
}

TEST_F(BearerVerifierTest, RejectsWrongOrTruncatedTokenWithoutEchoingIt) {
  const Status s = Check({{"Authorization", "Bearer " + token_.substr(1)}});
  EXPECT_EQ(s.code(), kInvalidToken);
  EXPECT_EQ(s.type(), ErrorType::kUnauthenticated);
  EXPECT_EQ(s.message().find(token_.substr(1)), std::string::npos);
  EXPECT_EQ(Check({{"Authorization", "Bearer " + token_ + "x"}}).code(), kInvalidToken);
}

TEST_F(BearerVerifierTest, RejectsDuplicatedAuthorizationHeader) {
  EXPECT_EQ(
      Check({{"Authorization", "Bearer " + token_}, {"Authorization", "Bearer other"}}).code(),
      kInvalidToken);
}

TEST_F(BearerVerifierTest, AcceptsStoredHashInUpperCase) {
  std::string upper = HashHex(token_);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  secrets_.bearer_token_sha256 = {upper};
  EXPECT_OK(Check({{"Authorization", "Bearer " + token_}}));
}

TEST_F(BearerVerifierTest, MakeVerifierRefusesMissingOrMalformedHash) {
  secrets_.bearer_token_sha256.clear();
  EXPECT_EQ(MakeVerifier("custom", settings_, secrets_).error().type(),
            ErrorType::kInvalidArgument);
  secrets_.bearer_token_sha256 = {"abc"};
  EXPECT_EQ(MakeVerifier("custom", settings_, secrets_).error().type(),
            ErrorType::kInvalidArgument);
}

TEST_F(BearerVerifierTest, CombinedWithHmacBothAreRequired) {
  settings_.hmac =
      HmacSettings{"X-Signature", crypto::DigestAlgorithm::kSha256, SignatureEncoding::kHex, ""};
  secrets_.signing = {"hmac-secret"};
  const std::string sig =
      crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, "hmac-secret", "{}"));
  EXPECT_OK(Check({{"Authorization", "Bearer " + token_}, {"X-Signature", sig}}));
  EXPECT_EQ(Check({{"X-Signature", sig}}).code(), kMissingToken);
  EXPECT_EQ(Check({{"Authorization", "Bearer " + token_}}).code(), kMissingSignature);
}

TEST_F(BearerVerifierTest, PresetsMayAlsoRequireBearer) {
  secrets_.signing = {"gh-secret"};
  auto verifier = MakeVerifier("github", settings_, secrets_);
  ASSERT_OK(verifier);
  SignRequest req = Req("{}");
  req.bearer_token = token_;
  auto headers = Sign("github", settings_, "gh-secret", req);
  ASSERT_OK(headers);
  EXPECT_OK((*verifier)->Verify(Request{*headers, "{}", "POST", "https://h/x", 0}));
}

}  // namespace
}  // namespace triggerd::verify
