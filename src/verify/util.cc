// Shared helpers of the verify schemes: header lookup, timestamps, signature comparison.
#include <charconv>
#include <cstdint>

#include "verify/internal.h"

namespace triggerd::verify::internal {

Status SingleHeader(const Headers& headers, std::string_view name, std::string_view* value,
                    std::string_view missing_code) {
  const Header* found = nullptr;
  for (const auto& h : headers) {
    if (!HeaderNameEquals(h.name, name)) continue;
    if (found != nullptr) {
      return Refuse(missing_code == kMissingToken ? kInvalidToken : kMalformedSignature,
                    std::string(name) + " header appears more than once");
    }
    found = &h;
  }
  if (found == nullptr) {
    return Refuse(missing_code, std::string(name) + " header is missing");
  }
  *value = TrimOws(found->value);
  return Status::Ok();
}

std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<int64_t> ParseDecimal(std::string_view text, size_t max_digits) {
  // 18 digits always fit in int64_t; callers ask for fewer.
  if (text.empty() || text.size() > max_digits || max_digits > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string FormatDecimal(int64_t value) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, res.ptr);
}

Status CheckWindow(int64_t now, int64_t ts, int64_t tolerance, Window window,
                   std::string_view what) {
  if (tolerance <= 0) return Status::Ok();
  int64_t age = 0;
  // Timestamps are bounded by ParseDecimal, but `now` is the caller's: never trust it to fit.
  if (__builtin_sub_overflow(now, ts, &age) || age == INT64_MIN) {
    return Refuse(kTimestampOutOfTolerance, std::string(what) + " is outside the replay window");
  }
  if (age > tolerance) {
    return Refuse(kTimestampOutOfTolerance,
                  std::string(what) + " is older than the replay window allows");
  }
  if (window == Window::kBothWays && -age > tolerance) {
    return Refuse(kTimestampOutOfTolerance,
                  std::string(what) + " is further in the future than the replay window allows");
  }
  return Status::Ok();
}

size_t DigestSize(crypto::DigestAlgorithm algorithm) {
  switch (algorithm) {
    case crypto::DigestAlgorithm::kSha1:
      return 20;
    case crypto::DigestAlgorithm::kSha256:
      return 32;
    case crypto::DigestAlgorithm::kSha512:
      return 64;
  }
  return 32;
}

std::string EncodeSignature(std::string_view mac, SignatureEncoding encoding) {
  return encoding == SignatureEncoding::kHex ? crypto::HexEncode(mac) : crypto::Base64Encode(mac);
}

namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

bool SignatureWellFormed(std::string_view presented, size_t mac_size, SignatureEncoding encoding,
                         Strictness strictness) {
  if (encoding == SignatureEncoding::kHex) {
    if (presented.size() != 2 * mac_size) return false;
    if (strictness == Strictness::kLenient) return crypto::HexDecode(presented).has_value();
    for (char c : presented) {
      if (!IsLowerHex(c)) return false;
    }
    return true;
  }
  const size_t padded = (mac_size + 2) / 3 * 4;
  if (strictness == Strictness::kCanonical) {
    // Exact padded length; characters are checked by the comparison with the canonical text.
    return presented.size() == padded;
  }
  // The length bound keeps the decode below digest-sized.
  if (presented.size() > padded) return false;
  auto decoded = crypto::Base64Decode(presented);
  return decoded.has_value() && decoded->size() == mac_size;
}

bool SignatureMatches(std::string_view presented, std::string_view mac, SignatureEncoding encoding,
                      Strictness strictness) {
  if (strictness == Strictness::kCanonical) {
    return crypto::ConstantTimeEqual(presented, EncodeSignature(mac, encoding));
  }
  auto decoded = encoding == SignatureEncoding::kHex ? crypto::HexDecode(presented)
                                                     : crypto::Base64Decode(presented);
  return decoded.has_value() && crypto::ConstantTimeEqual(*decoded, mac);
}

Status RequireSecrets(std::string_view kind, const Secrets& secrets) {
  if (secrets.signing.empty()) {
    return Status::InvalidArgument("a " + std::string(kind) + " source needs a signing secret");
  }
  for (const auto& s : secrets.signing) {
    TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, s));
  }
  return Status::Ok();
}

Status RequireSecret(std::string_view kind, std::string_view secret) {
  if (secret.empty()) {
    return Status::InvalidArgument("the signing secret of a " + std::string(kind) +
                                   " source must not be empty");
  }
  return Status::Ok();
}

}  // namespace triggerd::verify::internal
