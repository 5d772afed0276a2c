#include "common/crypto.h"

#include <gtest/gtest.h>

namespace triggerd::crypto {
namespace {

TEST(CryptoTest, HmacSha256MatchesGithubDocsVector) {
  // From GitHub's "Validating webhook deliveries" page.
  EXPECT_EQ(HexEncode(Hmac(DigestAlgorithm::kSha256, "It's a Secret to Everybody", "Hello, World!")),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(CryptoTest, PreparedHmacKeySignsAsHmacForEveryAlgorithmAndKeyLength) {
  const std::string body(8247, 'b');
  for (DigestAlgorithm algorithm :
       {DigestAlgorithm::kSha1, DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    // Empty, short, and longer than the block (such a key is digested first).
    for (const std::string& key : {std::string(), std::string("secret"), std::string(200, 'k')}) {
      HmacKey prepared(algorithm, key);
      for (std::string_view data : {std::string_view(), std::string_view("x"),
                                    std::string_view(body)}) {
        // Twice: a Sign must leave the prepared state as it was.
        EXPECT_EQ(prepared.Sign(data), Hmac(algorithm, key, data));
        EXPECT_EQ(prepared.Sign(data), Hmac(algorithm, key, data));
      }
      HmacKey moved = std::move(prepared);
      EXPECT_EQ(moved.Sign("x"), Hmac(algorithm, key, "x"));
    }
  }
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

// NIST GCM test vectors (gcmEncryptExtIV256.rsp, the CAVP file of "The Galois/Counter Mode of
// Operation" validation): Keylen 256, IVlen 96, PTlen 128, AADlen 128, Taglen 128, Count 0.
TEST(CryptoTest, AesGcmMatchesNistVectorWithAad) {
  const std::string key =
      HexDecode("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b").value();
  const std::string nonce = HexDecode("ac93a1a6145299bde902f21a").value();
  const std::string plaintext = HexDecode("2d71bcfa914e4ac045b2aa60955fad24").value();
  const std::string aad = HexDecode("1e0889016f67601c8ebea4943bc23ad6").value();
  const std::string sealed = AesGcmSeal(key, nonce, plaintext, aad);
  EXPECT_EQ(HexEncode(sealed),
            "8995ae2e6df3dbf96fac7b7137bae67f"    // ciphertext
            "eca5aa77d51d4a0a14d9c51e1da474ab");  // tag
  EXPECT_EQ(AesGcmOpen(key, nonce, sealed, aad).value(), plaintext);
}

TEST(CryptoTest, AesGcmRefusesWrongKeyAadTamperingAndSizes) {
  const std::string key(kAesGcmKeyBytes, 'k');
  const std::string nonce(kAesGcmNonceBytes, 'n');
  const std::string sealed = AesGcmSeal(key, nonce, "a secret", "here");
  ASSERT_EQ(sealed.size(), 8 + kAesGcmTagBytes);
  ASSERT_EQ(AesGcmOpen(key, nonce, sealed, "here").value(), "a secret");

  EXPECT_FALSE(AesGcmOpen(std::string(kAesGcmKeyBytes, 'K'), nonce, sealed, "here"));
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed, "there"));
  EXPECT_FALSE(AesGcmOpen(key, std::string(kAesGcmNonceBytes, 'N'), sealed, "here"));
  for (size_t i = 0; i < sealed.size(); ++i) {  // every byte: ciphertext and tag alike
    std::string tampered = sealed;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(AesGcmOpen(key, nonce, tampered, "here")) << "byte " << i;
  }
  EXPECT_FALSE(AesGcmOpen(key, nonce, sealed.substr(0, kAesGcmTagBytes - 1), "here"));
  EXPECT_EQ(AesGcmSeal(key.substr(1), nonce, "x", ""), "");
  EXPECT_EQ(AesGcmSeal(key, nonce.substr(1), "x", ""), "");
  // The empty plaintext is a tag alone, and still authenticated.
  const std::string empty = AesGcmSeal(key, nonce, "", "aad");
  EXPECT_EQ(empty.size(), kAesGcmTagBytes);
  EXPECT_EQ(AesGcmOpen(key, nonce, empty, "aad").value(), "");
  EXPECT_FALSE(AesGcmOpen(key, nonce, empty, "other"));
}

}  // namespace
}  // namespace triggerd::crypto
