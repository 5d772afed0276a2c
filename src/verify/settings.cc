// AuthSettings <-> the REST `auth` object. Validation names the offending field so the API can
// return it as is; unknown members are refused so a typo cannot silently weaken a source.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "verify/internal.h"

namespace triggerd::verify {
namespace {

constexpr int64_t kMaxToleranceSeconds = 86400;
constexpr size_t kMaxHeaderNameLength = 128;
constexpr size_t kMaxPrefixLength = 64;

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

// RFC 9110 token characters: what a header name may contain.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The prefix is compared with received header text, so it must be printable ASCII.
bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

Result<bool> ReadBool(const boost::json::value& v, std::string_view field) {
  if (const bool* b = v.if_bool()) return *b;
  return Invalid(std::string(field) + " must be true or false");
}

Result<std::string> ReadString(const boost::json::value& v, std::string_view field) {
  if (const boost::json::string* s = v.if_string()) return std::string(s->data(), s->size());
  return Invalid(std::string(field) + " must be a string");
}

Result<HmacSettings> ParseHmac(const boost::json::value& v) {
  const boost::json::object* obj = v.if_object();
  if (obj == nullptr) {
    return Invalid("auth.hmac must be an object {header, algorithm, encoding, prefix}");
  }
  HmacSettings hmac;
  bool has_header = false;
  for (const auto& [key, value] : *obj) {
    if (key == "header") {
      auto s = ReadString(value, "auth.hmac.header");
      if (!s) return s.error();
      hmac.header = std::move(s).value();
      has_header = true;
    } else if (key == "algorithm") {
      auto s = ReadString(value, "auth.hmac.algorithm");
      auto algorithm = s ? crypto::ParseDigestAlgorithm(*s) : std::nullopt;
      if (!algorithm) return Invalid("auth.hmac.algorithm must be one of sha1, sha256, sha512");
      hmac.algorithm = *algorithm;
    } else if (key == "encoding") {
      auto s = ReadString(value, "auth.hmac.encoding");
      if (s && *s == "hex") {
        hmac.encoding = SignatureEncoding::kHex;
      } else if (s && *s == "base64") {
        hmac.encoding = SignatureEncoding::kBase64;
      } else {
        return Invalid("auth.hmac.encoding must be one of hex, base64");
      }
    } else if (key == "prefix") {
      auto s = ReadString(value, "auth.hmac.prefix");
      if (!s) return s.error();
      hmac.prefix = std::move(s).value();
    } else {
      return Invalid("auth.hmac." + std::string(key) +
                     " is not a known setting (header, algorithm, encoding, prefix)");
    }
  }
  if (!has_header) return Invalid("auth.hmac.header is required");
  return hmac;
}

Status ValidateHmac(const HmacSettings& hmac) {
  if (hmac.header.empty() || hmac.header.size() > kMaxHeaderNameLength) {
    return Invalid("auth.hmac.header must be a header name of 1 to 128 characters");
  }
  for (char c : hmac.header) {
    if (!IsTokenChar(c)) {
      return Invalid("auth.hmac.header must be a header name (letters, digits, - and _)");
    }
  }
  if (HeaderNameEquals(hmac.header, "Authorization")) {
    return Invalid("auth.hmac.header must not be Authorization (that carries the bearer token)");
  }
  if (hmac.prefix.size() > kMaxPrefixLength || !IsPrintableAscii(hmac.prefix)) {
    return Invalid("auth.hmac.prefix must be at most 64 printable ASCII characters");
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

Status ValidateAuthSettings(std::string_view kind, const AuthSettings& settings) {
  const Scheme* scheme = FindScheme(kind);
  if (scheme == nullptr) return Invalid("unknown source kind \"" + std::string(kind) + "\"");
  const std::string k(kind);
  if (settings.hmac.has_value()) {
    if (kind != "custom") {
      return Invalid("auth.hmac applies only to kind custom; a " + k +
                     " source uses the provider's own signature scheme");
    }
    TRIGGERD_RETURN_IF_ERROR(ValidateHmac(*settings.hmac));
  }
  if (settings.tolerance_seconds.has_value()) {
    if (scheme->default_tolerance == 0) {
      return Invalid("auth.tolerance_seconds does not apply to kind " + k +
                     " (it signs no timestamp)");
    }
    const int64_t t = *settings.tolerance_seconds;
    const int64_t min = scheme->tolerance_can_be_off ? 0 : 1;
    if (t < min || t > kMaxToleranceSeconds) {
      return Invalid("auth.tolerance_seconds must be between " + std::to_string(min) +
                     " and 86400 for kind " + k);
    }
  }
  if (settings.allow_legacy_signature && !scheme->has_legacy) {
    return Invalid("auth.allow_legacy_signature applies only to kinds github and hubspot");
  }
  return Status::Ok();
}

}  // namespace internal

Result<AuthSettings> ParseAuthSettings(std::string_view kind, const boost::json::value& auth) {
  if (internal::FindScheme(kind) == nullptr) {
    return Invalid("kind must be custom or a known provider, not \"" + std::string(kind) + "\"");
  }
  AuthSettings settings;
  if (auth.is_null()) return settings;
  const boost::json::object* obj = auth.if_object();
  if (obj == nullptr) return Invalid("auth must be an object");
  for (const auto& [key, value] : *obj) {
    if (key == "bearer") {
      auto b = ReadBool(value, "auth.bearer");
      if (!b) return b.error();
      settings.bearer = *b;
    } else if (key == "hmac") {
      if (value.is_null()) continue;
      auto hmac = ParseHmac(value);
      if (!hmac) return hmac.error();
      settings.hmac = std::move(hmac).value();
    } else if (key == "tolerance_seconds") {
      if (value.is_int64()) {
        settings.tolerance_seconds = value.get_int64();
      } else if (value.is_uint64()) {
        settings.tolerance_seconds = kMaxToleranceSeconds + 1;  // out of range either way
      } else {
        return Invalid("auth.tolerance_seconds must be an integer number of seconds");
      }
    } else if (key == "api_key") {
      auto b = ReadBool(value, "auth.api_key");
      if (!b) return b.error();
      settings.api_key = *b;
    } else if (key == "allow_legacy_signature") {
      auto b = ReadBool(value, "auth.allow_legacy_signature");
      if (!b) return b.error();
      settings.allow_legacy_signature = *b;
    } else {
      return Invalid("auth." + std::string(key) +
                     " is not a known setting (bearer, api_key, hmac, tolerance_seconds, "
                     "allow_legacy_signature)");
    }
  }
  TRIGGERD_RETURN_IF_ERROR(internal::ValidateAuthSettings(kind, settings));
  return settings;
}

Result<AuthSettings> ParseAuthSettingsJson(std::string_view kind, std::string_view json) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(json, ec);
  if (ec) return Invalid("auth is not valid JSON: " + ec.message());
  return ParseAuthSettings(kind, value);
}

boost::json::object AuthSettingsToJson(const AuthSettings& settings) {
  boost::json::object obj;
  obj["bearer"] = settings.bearer;
  if (settings.hmac.has_value()) {
    boost::json::object hmac;
    hmac["header"] = settings.hmac->header;
    hmac["algorithm"] = crypto::DigestAlgorithmName(settings.hmac->algorithm);
    hmac["encoding"] = settings.hmac->encoding == SignatureEncoding::kHex ? "hex" : "base64";
    hmac["prefix"] = settings.hmac->prefix;
    obj["hmac"] = std::move(hmac);
  }
  if (settings.tolerance_seconds.has_value()) {
    obj["tolerance_seconds"] = *settings.tolerance_seconds;
  }
  if (settings.allow_legacy_signature) obj["allow_legacy_signature"] = true;
  if (settings.api_key) obj["api_key"] = true;
  return obj;
}

std::string SerializeAuthSettings(const AuthSettings& settings) {
  return boost::json::serialize(AuthSettingsToJson(settings));
}

}  // namespace triggerd::verify
