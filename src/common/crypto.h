// Crypto and encoding primitives over OpenSSL 3: digests, HMAC, encodings, randomness and
// constant-time comparison. Every function is thread-safe and allocation-bounded by its input.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX, without its headers here

namespace triggerd::crypto {

enum class DigestAlgorithm { kSha1, kSha256, kSha512 };

// Parses "sha1" | "sha256" | "sha512" (lower case).
std::optional<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name);
std::string_view DigestAlgorithmName(DigestAlgorithm algorithm);

// Raw digest bytes.
std::string Digest(DigestAlgorithm algorithm, std::string_view data);
// Raw HMAC bytes of `data` keyed with `key` (key bytes used as given).
std::string Hmac(DigestAlgorithm algorithm, std::string_view key, std::string_view data);
// Digest / HMAC of the concatenation of `parts`, fed to OpenSSL one part at a time: the same
// bytes as Digest/Hmac over the joined string, without copying a large body to prepend a
// timestamp or a method (webhook signatures sign "t.body", "id.ts.body", ...).
std::string DigestParts(DigestAlgorithm algorithm, std::initializer_list<std::string_view> parts);
std::string HmacParts(DigestAlgorithm algorithm, std::string_view key,
                      std::initializer_list<std::string_view> parts);

// An HMAC key prepared once, for a key that signs many messages (a source's webhook secret):
// Sign copies the prepared state (the algorithm fetched, the padded key digested) instead of
// redoing that per message, which is ~1.3 of the ~7 us an HMAC of 8 KiB costs with Hmac().
// Thread-safe: Sign is const and works on a copy. Move-only.
class HmacKey {
 public:
  HmacKey(DigestAlgorithm algorithm, std::string_view key);
  ~HmacKey();
  HmacKey(HmacKey&& other) noexcept;
  HmacKey& operator=(HmacKey&& other) noexcept;
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // The same bytes as Hmac(algorithm, key, data).
  std::string Sign(std::string_view data) const;

 private:
  ::evp_mac_ctx_st* ctx_;  // initialised with the key
};

std::string HexEncode(std::string_view bytes);  // lower case
// Lower-case hex SHA-256 of a secret: the form in which API keys and bearer tokens are stored and
// looked up (the secret itself is never kept).
std::string SecretHash(std::string_view secret);
// Accepts upper or lower case; nullopt on odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);  // standard alphabet, padded
// Standard alphabet; padding optional; also accepts the URL-safe alphabet. nullopt on bad input.
std::optional<std::string> Base64Decode(std::string_view text);

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// `n` bytes from the OpenSSL CSPRNG. Aborts the process if the CSPRNG fails (it never should:
// carrying on with predictable secrets would be worse).
std::string RandomBytes(size_t n);
// A random string of `n` characters from [0-9A-Za-z] (5.95 bits each), unbiased.
std::string RandomToken(size_t n);

// AES-256-GCM (NIST SP 800-38D): a 32-byte key, a 12-byte (96-bit) nonce, a 16-byte (128-bit)
// tag. `aad` is authenticated but not encrypted: it binds the ciphertext to a context, so the
// same bytes presented under another `aad` fail to open. REQUIRES: a nonce is never reused with
// the same key (callers draw it from RandomBytes). Seal returns ciphertext || tag, or "" when the
// key or nonce has the wrong size (a programmer error); Open returns the plaintext, or nullopt
// when the key or nonce has the wrong size, the input is shorter than a tag, or the tag does not
// verify (wrong key, wrong aad, altered bytes). Low level: the store seals secrets through
// crypto::Sealer (common/crypto_sealer.h), which also owns the stored format and key ids.
inline constexpr size_t kAesGcmKeyBytes = 32;
inline constexpr size_t kAesGcmNonceBytes = 12;
inline constexpr size_t kAesGcmTagBytes = 16;
std::string AesGcmSeal(std::string_view key, std::string_view nonce, std::string_view plaintext,
                       std::string_view aad);
std::optional<std::string> AesGcmOpen(std::string_view key, std::string_view nonce,
                                      std::string_view ciphertext_and_tag, std::string_view aad);

// Ed25519 signature check; public key 32 raw bytes, signature 64 raw bytes.
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);
// Ed25519 (RFC 8032) signature, 64 raw bytes, of `message` with a 32-byte private key (the
// seed). Returns "" when the key is not 32 bytes.
std::string Ed25519Sign(std::string_view private_key, std::string_view message);
// The 32-byte public key of a 32-byte Ed25519 private key, or "" when it is not 32 bytes.
std::string Ed25519PublicKey(std::string_view private_key);

}  // namespace triggerd::crypto
