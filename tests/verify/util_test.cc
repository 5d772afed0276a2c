// Internal helpers (verify/internal.h) and the crypto primitives added to common for verify.
#include <string>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

TEST(ParseDecimalTest, AcceptsOnlyBoundedDigits) {
  EXPECT_EQ(ParseDecimal("0", 12), 0);
  EXPECT_EQ(ParseDecimal("1767225600", 12), 1767225600);
  EXPECT_FALSE(ParseDecimal("", 12).has_value());
  EXPECT_FALSE(ParseDecimal("-1", 12).has_value());
  EXPECT_FALSE(ParseDecimal("+1", 12).has_value());
  EXPECT_FALSE(ParseDecimal(" 1", 12).has_value());
  EXPECT_FALSE(ParseDecimal("1e3", 12).has_value());
  EXPECT_FALSE(ParseDecimal("1234567890123", 12).has_value());
  EXPECT_EQ(ParseDecimal("999999999999999999", 18), 999999999999999999);
}

TEST(CheckWindowTest, AcceptsTheEdgeAndRefusesOnePast) {
  EXPECT_OK(CheckWindow(1300, 1000, 300, Window::kAgeOnly, "ts"));
  EXPECT_EQ(CheckWindow(1301, 1000, 300, Window::kAgeOnly, "ts").code(), kTimestampOutOfTolerance);
  EXPECT_OK(CheckWindow(1000, 5000, 300, Window::kAgeOnly, "ts"));
  EXPECT_OK(CheckWindow(700, 1000, 300, Window::kBothWays, "ts"));
  EXPECT_EQ(CheckWindow(699, 1000, 300, Window::kBothWays, "ts").code(), kTimestampOutOfTolerance);
  EXPECT_OK(CheckWindow(0, 999999999, 0, Window::kBothWays, "ts"));  // 0: off
}

TEST(CheckWindowTest, SurvivesExtremeClocks) {
  EXPECT_FALSE(CheckWindow(INT64_MIN, 999999999999, 300, Window::kBothWays, "ts").ok());
  EXPECT_FALSE(CheckWindow(INT64_MAX, 0, 300, Window::kBothWays, "ts").ok());
}

TEST(SingleHeaderTest, FindsCaseInsensitivelyAndRefusesDuplicates) {
  std::string_view v;  // a view into `headers`, so they must outlive it
  const Headers headers = {{"x-a", " 1 "}};
  EXPECT_OK(SingleHeader(headers, "X-A", &v));
  EXPECT_EQ(v, "1");
  EXPECT_EQ(SingleHeader({{"X-A", "1"}, {"x-a", "1"}}, "X-A", &v).code(), kMalformedSignature);
  EXPECT_EQ(SingleHeader({}, "X-A", &v).code(), kMissingSignature);
  EXPECT_EQ(SingleHeader({}, "X-A", &v, kMissingToken).code(), kMissingToken);
}

TEST(SignatureFormTest, CanonicalIsStrictLenientIsNot) {
  const std::string mac(32, '\x5a');
  const std::string hex = crypto::HexEncode(mac);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(SignatureWellFormed(hex, 32, SignatureEncoding::kHex, Strictness::kCanonical));
  EXPECT_FALSE(SignatureWellFormed(upper, 32, SignatureEncoding::kHex, Strictness::kCanonical));
  EXPECT_TRUE(SignatureWellFormed(upper, 32, SignatureEncoding::kHex, Strictness::kLenient));
  EXPECT_TRUE(SignatureMatches(upper, mac, SignatureEncoding::kHex, Strictness::kLenient));
  EXPECT_FALSE(
      SignatureWellFormed(hex.substr(2), 32, SignatureEncoding::kHex, Strictness::kLenient));
  const std::string b64 = crypto::Base64Encode(mac);
  EXPECT_TRUE(SignatureMatches(b64, mac, SignatureEncoding::kBase64, Strictness::kCanonical));
  EXPECT_FALSE(SignatureWellFormed(b64.substr(0, 43), 32, SignatureEncoding::kBase64,
                                   Strictness::kCanonical));
  EXPECT_TRUE(
      SignatureWellFormed(b64.substr(0, 43), 32, SignatureEncoding::kBase64, Strictness::kLenient));
}

TEST(ForEachPieceTest, TrimsAndVisitsEmptyPieces) {
  std::vector<std::string> pieces;
  ForEachPiece(" a , b,,c ", ',', [&](std::string_view p) {
    pieces.emplace_back(p);
    return true;
  });
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "b", "", "c"}));
}

// TODO(lead): these cover the primitives added to common/crypto for verify; they belong in
// tests/common/crypto_test.cc, which this change did not touch.
TEST(CryptoPartsTest, PartsEqualTheJoinedInput) {
  using crypto::DigestAlgorithm;
  for (auto a : {DigestAlgorithm::kSha1, DigestAlgorithm::kSha256, DigestAlgorithm::kSha512}) {
    EXPECT_EQ(crypto::HmacParts(a, "key", {"12", ".", "body"}), crypto::Hmac(a, "key", "12.body"));
    EXPECT_EQ(crypto::HmacParts(a, "", {}), crypto::Hmac(a, "", ""));
    EXPECT_EQ(crypto::DigestParts(a, {"ab", "", "c"}), crypto::Digest(a, "abc"));
  }
}

TEST(CryptoPartsTest, Ed25519SignMatchesRfc8032Test1) {
  const std::string seed =
      *crypto::HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  EXPECT_EQ(crypto::HexEncode(crypto::Ed25519PublicKey(seed)),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(crypto::HexEncode(crypto::Ed25519Sign(seed, "")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_EQ(crypto::Ed25519Sign("short", "m"), "");
  EXPECT_EQ(crypto::Ed25519PublicKey("short"), "");
}

}  // namespace
}  // namespace triggerd::verify::internal
