#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace triggerd::crypto {
namespace {

const EVP_MD* Md(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kSha1:
      return EVP_sha1();
    case DigestAlgorithm::kSha256:
      return EVP_sha256();
    case DigestAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "triggerd: %s failed\n", what);
  std::abort();
}

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name) {
  if (name == "sha1") return DigestAlgorithm::kSha1;
  if (name == "sha256") return DigestAlgorithm::kSha256;
  if (name == "sha512") return DigestAlgorithm::kSha512;
  return std::nullopt;
}

std::string_view DigestAlgorithmName(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::kSha1:
      return "sha1";
    case DigestAlgorithm::kSha256:
      return "sha256";
    case DigestAlgorithm::kSha512:
      return "sha512";
  }
  return "sha256";
}

std::string Digest(DigestAlgorithm algorithm, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, Md(algorithm), nullptr) != 1) {
    Die("EVP_Digest");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hmac(DigestAlgorithm algorithm, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() with an empty key needs a non-null pointer on some OpenSSL builds.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(Md(algorithm), key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len) == nullptr) {
    Die("HMAC");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

namespace {

EVP_MAC* HmacMac() {
  // Fetched once: an EVP_MAC is immutable and safe to share between threads.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) Die("EVP_MAC_fetch(HMAC)");
  return mac;
}

// A new HMAC-<algorithm> context holding `key`.
EVP_MAC_CTX* NewHmacContext(DigestAlgorithm algorithm, std::string_view key) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacMac());
  // The name views a string literal, so it is NUL-terminated; OpenSSL matches names ignoring case.
  char* digest_name = const_cast<char*>(DigestAlgorithmName(algorithm).data());
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to EVP_MAC_init; an empty key needs a real pointer.
  static const unsigned char kEmpty = 0;
  const auto* key_ptr = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (ctx == nullptr || EVP_MAC_init(ctx, key_ptr, key.size(), params) != 1) Die("EVP_MAC_init");
  return ctx;
}

// The MAC of `parts` (concatenated) under the context's key; uses the context up.
std::string FinishHmac(EVP_MAC_CTX* ctx, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts) {
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size()) !=
        1) {
      Die("EVP_MAC_update");
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_MAC_final(ctx, out, &len, sizeof(out)) != 1) Die("EVP_MAC_final");
  return std::string(reinterpret_cast<char*>(out), len);
}

using HmacContext = std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)>;

}  // namespace

HmacKey::HmacKey(DigestAlgorithm algorithm, std::string_view key)
    : ctx_(NewHmacContext(algorithm, key)) {}

HmacKey::~HmacKey() { EVP_MAC_CTX_free(ctx_); }  // accepts null (a moved-from key)

HmacKey::HmacKey(HmacKey&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }

HmacKey& HmacKey::operator=(HmacKey&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

std::string HmacKey::Sign(std::string_view data) const {
  // REQUIRES: not moved from. A copy, so concurrent Signs never share a digest state.
  HmacContext ctx(EVP_MAC_CTX_dup(ctx_), &EVP_MAC_CTX_free);
  if (!ctx) Die("EVP_MAC_CTX_dup");
  return FinishHmac(ctx.get(), {data});
}

std::string DigestParts(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), Md(algorithm), nullptr) != 1) Die("EVP_DigestInit");
  for (std::string_view part : parts) {
    if (EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) Die("EVP_DigestUpdate");
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) Die("EVP_DigestFinal");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HmacParts(DigestAlgorithm algorithm, std::string_view key,
                      std::initializer_list<std::string_view> parts) {
  HmacContext ctx(NewHmacContext(algorithm, key), &EVP_MAC_CTX_free);
  return FinishHmac(ctx.get(), parts);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0xF];
  }
  return out;
}

std::string SecretHash(std::string_view secret) {
  return HexEncode(Digest(DigestAlgorithm::kSha256, secret));
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    Die("RAND_bytes");
  }
  return out;
}

std::string RandomToken(size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    std::string bytes = RandomBytes(n - out.size() + 8);
    for (char c : bytes) {
      auto b = static_cast<unsigned char>(c);
      // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
      if (b < 248 && out.size() < n) out += kBase62[b % 62];
    }
  }
  return out;
}

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The nonce length is set explicitly although 12 is GCM's default: the call documents it, and a
// future change of kAesGcmNonceBytes cannot silently disagree with OpenSSL's default.
CipherCtx GcmContext(bool encrypt, std::string_view key, std::string_view nonce) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) Die("EVP_CIPHER_CTX_new");
  const int enc = encrypt ? 1 : 0;
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(nonce), enc) != 1) {
    Die("EVP_CipherInit(aes-256-gcm)");
  }
  return ctx;
}

}  // namespace

std::string AesGcmSeal(std::string_view key, std::string_view nonce, std::string_view plaintext,
                       std::string_view aad) {
  if (key.size() != kAesGcmKeyBytes || nonce.size() != kAesGcmNonceBytes) return "";
  CipherCtx ctx = GcmContext(true, key, nonce);
  std::string out(plaintext.size() + kAesGcmTagBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  // GCM is a stream mode: the ciphertext has the plaintext's length, and Final writes nothing.
  if ((!aad.empty() &&
       EVP_CipherUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() && EVP_CipherUpdate(ctx.get(), dst, &len, Bytes(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) ||
      EVP_CipherFinal_ex(ctx.get(), dst + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAesGcmTagBytes),
                          dst + plaintext.size()) != 1) {
    Die("AES-256-GCM encryption");
  }
  return out;
}

std::optional<std::string> AesGcmOpen(std::string_view key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag, std::string_view aad) {
  if (key.size() != kAesGcmKeyBytes || nonce.size() != kAesGcmNonceBytes ||
      ciphertext_and_tag.size() < kAesGcmTagBytes) {
    return std::nullopt;
  }
  std::string_view ciphertext =
      ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kAesGcmTagBytes);
  std::string tag(ciphertext_and_tag.substr(ciphertext.size()));  // SET_TAG takes a mutable pointer
  CipherCtx ctx = GcmContext(false, key, nonce);
  std::string out(ciphertext.size(), '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  if ((!aad.empty() &&
       EVP_CipherUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      (!ciphertext.empty() && EVP_CipherUpdate(ctx.get(), dst, &len, Bytes(ciphertext),
                                               static_cast<int>(ciphertext.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          tag.data()) != 1) {
    Die("AES-256-GCM decryption");
  }
  // Final is where the tag is checked; the plaintext computed above must not be used before.
  if (EVP_CipherFinal_ex(ctx.get(), dst + ciphertext.size(), &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(public_key.data()),
                                  public_key.size()),
      &EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string Ed25519Sign(std::string_view private_key, std::string_view message) {
  if (private_key.size() != 32) return "";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                   reinterpret_cast<const unsigned char*>(private_key.data()),
                                   private_key.size()),
      &EVP_PKEY_free);
  if (!key) return "";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return "";
  }
  unsigned char sig[64];
  size_t sig_len = sizeof(sig);
  if (EVP_DigestSign(ctx.get(), sig, &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(sig), sig_len);
}

std::string Ed25519PublicKey(std::string_view private_key) {
  if (private_key.size() != 32) return "";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                   reinterpret_cast<const unsigned char*>(private_key.data()),
                                   private_key.size()),
      &EVP_PKEY_free);
  if (!key) return "";
  unsigned char pub[32];
  size_t pub_len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_len) != 1) return "";
  return std::string(reinterpret_cast<char*>(pub), pub_len);
}

}  // namespace triggerd::crypto
