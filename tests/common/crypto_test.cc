#include "common/crypto.h"

#include <gtest/gtest.h>

namespace triggerd::crypto {
namespace {

TEST(CryptoTest, HmacSha256MatchesGithubDocsVector) {
  // From GitHub's "Validating webhook deliveries" page.
  EXPECT_EQ(HexEncode(Hmac(DigestAlgorithm::kSha256, "It's a Secret to Everybody", "Hello, World!")),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(CryptoTest, DigestsHaveTheirLengths) {
  EXPECT_EQ(Digest(DigestAlgorithm::kSha1, "x").size(), 20u);
  EXPECT_EQ(Digest(DigestAlgorithm::kSha256, "x").size(), 32u);
  EXPECT_EQ(Digest(DigestAlgorithm::kSha512, "x").size(), 64u);
  EXPECT_EQ(HexEncode(Digest(DigestAlgorithm::kSha256, "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, HexRoundTripsAndRejectsGarbage) {
  EXPECT_EQ(HexDecode("00ff10Ab").value(), std::string("\x00\xff\x10\xab", 4));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(CryptoTest, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    bytes.push_back(static_cast<char>(i * 37));
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, bytes);
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Decode("Zm9vYg").value(), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!g==").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(CryptoTest, ConstantTimeEqualComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
}

TEST(CryptoTest, RandomTokenIsBase62AndDiffers) {
  std::string a = RandomToken(32), b = RandomToken(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
}

TEST(CryptoTest, Ed25519VerifiesRfc8032TestVector1) {
  // RFC 8032 section 7.1, TEST 1 (empty message).
  auto pk = HexDecode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").value();
  auto sig = HexDecode(
                 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
                 .value();
  EXPECT_TRUE(Ed25519Verify(pk, "", sig));
  EXPECT_FALSE(Ed25519Verify(pk, "x", sig));
  EXPECT_FALSE(Ed25519Verify(pk.substr(1), "", sig));
}

}  // namespace
}  // namespace triggerd::crypto
