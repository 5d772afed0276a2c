// A signature over the raw body in one header: the custom `auth.hmac` scheme and the building
// block of most presets (body_hmac_presets.cc, github.cc, linear.cc).
#include "verify/internal.h"

namespace triggerd::verify::internal {

Status HmacVerifier::Verify(const Request& request) const {
  std::string_view value;
  TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, scheme_.header, &value));
  return VerifyValue(value, request.body);
}

namespace {

// "sha1=" / "sha256=" / "sha512=" at the start of `value`: its algorithm and length.
std::optional<std::pair<crypto::DigestAlgorithm, size_t>> AlgorithmPrefix(std::string_view value) {
  const size_t equals = value.find('=');
  if (equals == std::string_view::npos || equals > 6 || value.substr(0, 3) != "sha") {
    return std::nullopt;
  }
  auto algorithm = crypto::ParseDigestAlgorithm(value.substr(0, equals));
  if (!algorithm) return std::nullopt;
  return std::make_pair(*algorithm, equals + 1);
}

}  // namespace

Status HmacVerifier::VerifyValue(std::string_view value, std::string_view body) const {
  if (scheme_.accept_algorithm_prefix && scheme_.prefix.empty() && scheme_.list_separator == 0) {
    if (auto prefix = AlgorithmPrefix(value)) {
      if (prefix->first != scheme_.algorithm) {
        return Refuse(kMalformedSignature,
                      scheme_.header + " is signed with " +
                          std::string(crypto::DigestAlgorithmName(prefix->first)) +
                          " but this source verifies " +
                          std::string(crypto::DigestAlgorithmName(scheme_.algorithm)));
      }
      value.remove_prefix(prefix->second);
    }
  }
  const size_t mac_size = DigestSize(scheme_.algorithm);
  // Signatures to try: the header itself, or each list piece carrying the prefix. Views into
  // `value`, at most kMaxSignatures of them, so nothing here allocates per piece.
  constexpr size_t kMaxSignatures = 8;
  std::string_view candidates[kMaxSignatures];
  size_t count = 0;
  bool too_many = false;
  bool malformed = false;
  auto consider = [&](std::string_view piece) {
    if (piece.substr(0, scheme_.prefix.size()) != scheme_.prefix) return true;  // other version
    piece.remove_prefix(scheme_.prefix.size());
    if (!SignatureWellFormed(piece, mac_size, scheme_.encoding, scheme_.strictness)) {
      malformed = true;
      return true;
    }
    if (count == kMaxSignatures) {
      too_many = true;
      return false;
    }
    candidates[count++] = piece;
    return true;
  };
  if (value.empty()) return Refuse(kMalformedSignature, scheme_.header + " header is empty");
  if (scheme_.list_separator != 0) {
    ForEachPiece(value, scheme_.list_separator, consider);
  } else if (value.substr(0, scheme_.prefix.size()) != scheme_.prefix) {
    return Refuse(kMalformedSignature,
                  scheme_.header + " header does not start with \"" + scheme_.prefix + "\"");
  } else {
    consider(value);
  }
  if (too_many) {
    return Refuse(kMalformedSignature, scheme_.header + " header carries too many signatures");
  }
  if (count == 0) {
    return Refuse(kMalformedSignature, scheme_.header +
                                           " header holds no signature of the expected form" +
                                           (malformed ? " (wrong length or characters)" : ""));
  }
  for (const auto& key : keys_) {
    const std::string mac = key.Sign(body);
    for (size_t i = 0; i < count; ++i) {
      if (SignatureMatches(candidates[i], mac, scheme_.encoding, scheme_.strictness)) {
        return Status::Ok();
      }
    }
  }
  return Refuse(kInvalidSignature, scheme_.header + " does not match the body");
}

std::string SignBodyValue(const BodyHmacScheme& scheme, std::string_view key,
                          std::string_view body) {
  return scheme.prefix +
         EncodeSignature(crypto::Hmac(scheme.algorithm, key, body), scheme.encoding);
}

namespace {

BodyHmacScheme CustomScheme(const HmacSettings& hmac) {
  BodyHmacScheme scheme;
  scheme.header = hmac.header;
  scheme.algorithm = hmac.algorithm;
  scheme.encoding = hmac.encoding;
  scheme.prefix = hmac.prefix;
  scheme.strictness = Strictness::kLenient;
  scheme.accept_algorithm_prefix = true;
  return scheme;
}

}  // namespace

Result<std::unique_ptr<Verifier>> MakeCustomVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  if (!settings.hmac.has_value()) return std::unique_ptr<Verifier>();
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(
      std::make_unique<HmacVerifier>(CustomScheme(*settings.hmac), secrets.signing));
}

Result<Headers> SignCustom(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  Headers headers;
  if (!settings.hmac.has_value()) return headers;
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  const BodyHmacScheme scheme = CustomScheme(*settings.hmac);
  headers.push_back({scheme.header, SignBodyValue(scheme, secret, request.body)});
  return headers;
}

}  // namespace triggerd::verify::internal
