#include "common/crypto_sealer.h"

#include <gtest/gtest.h>

#include <string>

#include "common/crypto.h"
#include "test_util.h"

namespace triggerd::crypto {
namespace {

const std::string kKey(Sealer::kMasterKeyBytes, 'a');
const std::string kOtherKey(Sealer::kMasterKeyBytes, 'b');

class SealerTest : public ::testing::Test {
 protected:
  Sealer sealer_ = Sealer::Create(kKey).value();
};

TEST_F(SealerTest, RoundTripsAndHasTheVersionedFormat) {
  const std::string sealed = sealer_.Seal("whsec_abc", "sources.signing_secret:src_1");
  EXPECT_TRUE(Sealer::IsSealed(sealed));
  EXPECT_EQ(sealed.rfind("enc:v1:" + sealer_.key_id() + ":", 0), 0u) << sealed;
  EXPECT_EQ(sealed.find("whsec_abc"), std::string::npos);
  EXPECT_EQ(sealer_.Open(sealed, "sources.signing_secret:src_1").value(), "whsec_abc");
  EXPECT_EQ(Sealer::KeyIdOf(sealed).value(), sealer_.key_id());
  // The empty string and bytes that are not text round-trip too.
  const std::string binary("\0\xff\n:", 4);
  EXPECT_EQ(sealer_.Open(sealer_.Seal(binary, "c"), "c").value(), binary);
  EXPECT_EQ(sealer_.Open(sealer_.Seal("", "c"), "c").value(), "");
}

TEST_F(SealerTest, NoncesDifferForEqualPlaintexts) {
  const std::string a = sealer_.Seal("same", "ctx");
  const std::string b = sealer_.Seal("same", "ctx");
  EXPECT_NE(a, b);
  // The first 12 bytes of the blob are the nonce.
  auto blob_a = Base64Decode(a.substr(a.rfind(':') + 1)).value();
  auto blob_b = Base64Decode(b.substr(b.rfind(':') + 1)).value();
  EXPECT_NE(blob_a.substr(0, kAesGcmNonceBytes), blob_b.substr(0, kAesGcmNonceBytes));
  EXPECT_EQ(sealer_.Open(a, "ctx").value(), "same");
  EXPECT_EQ(sealer_.Open(b, "ctx").value(), "same");
}

TEST_F(SealerTest, WrongKeyIsRefusedAndNamedAsSuch) {
  const std::string sealed = sealer_.Seal("secret", "ctx");
  Sealer other = Sealer::Create(kOtherKey).value();
  EXPECT_NE(other.key_id(), sealer_.key_id());
  Result<std::string> opened = other.Open(sealed, "ctx");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), Sealer::kWrongKey);
  EXPECT_NE(opened.error().message().find(sealer_.key_id()), std::string::npos);
  EXPECT_EQ(opened.error().message().find("secret"), std::string::npos);
}

TEST_F(SealerTest, WrongKeyWithForgedKeyIdStillFailsToAuthenticate) {
  // A value that claims this key's id but was sealed under another key: the tag catches it.
  Sealer other = Sealer::Create(kOtherKey).value();
  std::string sealed = other.Seal("secret", "ctx");
  sealed.replace(7, 8, sealer_.key_id());
  Result<std::string> opened = sealer_.Open(sealed, "ctx");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), Sealer::kCorrupt);
}

TEST_F(SealerTest, EveryTamperedByteIsRefused) {
  const std::string sealed = sealer_.Seal("secret", "ctx");
  const size_t blob_at = sealed.rfind(':') + 1;
  std::string blob = Base64Decode(sealed.substr(blob_at)).value();
  for (size_t i = 0; i < blob.size(); ++i) {  // nonce, ciphertext and tag
    std::string tampered = blob;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x80);
    Result<std::string> opened =
        sealer_.Open(sealed.substr(0, blob_at) + Base64Encode(tampered), "ctx");
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code(), Sealer::kCorrupt);
  }
}

TEST_F(SealerTest, ValueMovedToAnotherRowOrColumnIsRefused) {
  const std::string sealed = sealer_.Seal("secret", "sources.signing_secret:src_1");
  EXPECT_FALSE(sealer_.Open(sealed, "sources.signing_secret:src_2"));
  EXPECT_FALSE(sealer_.Open(sealed, "sources.url_secret:src_1"));
  EXPECT_FALSE(sealer_.Open(sealed, ""));
  EXPECT_TRUE(sealer_.Open(sealed, "sources.signing_secret:src_1"));
}

TEST_F(SealerTest, MalformedAndUnknownVersionsAreRefused) {
  for (const char* text : {"", "whsec_plain", "enc:", "enc:v1:", "enc:v1:abcd:xx", "enc:v2:x:y",
                           "enc:v1:0123456:AAAA"}) {
    Result<std::string> opened = sealer_.Open(text, "ctx");
    ASSERT_FALSE(opened) << text;
    EXPECT_EQ(opened.error().code(), Sealer::kCorrupt) << text;
  }
  const std::string truncated = sealer_.Seal("secret", "ctx");
  EXPECT_FALSE(sealer_.Open(truncated.substr(0, truncated.size() - 4), "ctx"));
}

TEST(SealerCreateTest, RefusesKeysOfTheWrongSize) {
  EXPECT_FALSE(Sealer::Create(""));
  EXPECT_FALSE(Sealer::Create(std::string(31, 'a')));
  EXPECT_FALSE(Sealer::Create(std::string(33, 'a')));
  EXPECT_EQ(Sealer::KeyIdFor(kKey), Sealer::Create(kKey).value().key_id());
  EXPECT_EQ(Sealer::KeyIdFor(kKey).size(), 8u);
}

}  // namespace
}  // namespace triggerd::crypto
