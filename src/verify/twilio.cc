// Twilio: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + params)), where URL is the
// full URL Twilio requested and params are the form-decoded POST parameters sorted by name and,
// per name, by value with duplicates dropped (twilio-python: sorted(set(values))), each
// appended as name + value. A JSON body is not in the signature: the URL then carries
// bodySHA256=<hex SHA-256 of the body>, which must also match. Like Twilio's libraries, the URL
// is tried as given and with its port toggled (default port added when absent, any port
// removed when present), since proxies disagree on whether ":443" was in it.
#include <algorithm>
#include <cctype>
#include <utility>

#include "verify/internal.h"

namespace triggerd::verify::internal {
namespace {

constexpr std::string_view kHeader = "X-Twilio-Signature";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte; a malformed escape is
// kept as text, as Python's unquote_plus does.
std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// name + value of every parameter, in Twilio's order.
std::string CanonicalParams(std::string_view form) {
  std::vector<std::pair<std::string, std::string>> params;
  ForEachPiece(form, '&', [&](std::string_view piece) {
    if (piece.empty()) return true;
    const size_t eq = piece.find('=');
    params.emplace_back(FormDecode(piece.substr(0, eq)),
                        eq == std::string_view::npos ? "" : FormDecode(piece.substr(eq + 1)));
    return true;
  });
  // std::string compares bytes as unsigned char: UTF-8 byte order is code point order, which
  // is how Python sorts the names.
  std::sort(params.begin(), params.end());
  params.erase(std::unique(params.begin(), params.end()), params.end());
  std::string out;
  for (const auto& [name, value] : params) out.append(name).append(value);
  return out;
}

// The value of query parameter `name` in `url`, or nullopt.
std::optional<std::string_view> QueryParam(std::string_view url, std::string_view name) {
  const size_t q = url.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  std::optional<std::string_view> found;
  ForEachPiece(query, '&', [&](std::string_view piece) {
    const size_t eq = piece.find('=');
    if (piece.substr(0, eq) == name && eq != std::string_view::npos) {
      found = piece.substr(eq + 1);
      return false;
    }
    return true;
  });
  return found;
}

// The URL with its port toggled (see the file comment), or "" when it has no such variant.
std::string PortVariant(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  const size_t host_start = scheme_end + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  if (host_end == std::string_view::npos) host_end = url.size();
  std::string_view authority = url.substr(host_start, host_end - host_start);
  const size_t at = authority.rfind('@');
  const size_t hostport_start = at == std::string_view::npos ? 0 : at + 1;
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  const bool has_port = colon != std::string_view::npos && colon >= hostport_start &&
                        (bracket == std::string_view::npos || colon > bracket);
  if (has_port) {
    std::string out(url.substr(0, host_start + colon));
    out.append(url.substr(host_end));
    return out;
  }
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string_view port = scheme == "https" ? ":443" : scheme == "http" ? ":80" : "";
  if (port.empty()) return "";
  std::string out(url.substr(0, host_end));
  out.append(port).append(url.substr(host_end));
  return out;
}

class TwilioVerifier final : public Verifier {
 public:
  explicit TwilioVerifier(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  // Verifier
  Status Verify(const Request& request) const override {
    std::string_view signature;
    TRIGGERD_RETURN_IF_ERROR(SingleHeader(request.headers, kHeader, &signature));
    if (!SignatureWellFormed(signature, 20, SignatureEncoding::kBase64, Strictness::kCanonical)) {
      return Refuse(kMalformedSignature, "X-Twilio-Signature is not 28 base64 characters");
    }
    std::string params;
    if (auto body_hash = QueryParam(request.url, "bodySHA256")) {
      const std::string actual =
          crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, request.body));
      if (!crypto::ConstantTimeEqual(actual, *body_hash)) {
        return Refuse(kInvalidSignature, "the body does not match the URL's bodySHA256");
      }
    } else {
      params = CanonicalParams(request.body);
    }
    const std::string variant = PortVariant(request.url);
    for (const auto& key : keys_) {
      if (Matches(key, request.url, params, signature) ||
          (!variant.empty() && Matches(key, variant, params, signature))) {
        return Status::Ok();
      }
    }
    return Refuse(kInvalidSignature, "X-Twilio-Signature does not match the URL and parameters");
  }

 private:
  static bool Matches(std::string_view key, std::string_view url, std::string_view params,
                      std::string_view signature) {
    const std::string mac = crypto::HmacParts(crypto::DigestAlgorithm::kSha1, key, {url, params});
    return SignatureMatches(signature, mac, SignatureEncoding::kBase64, Strictness::kCanonical);
  }

  const std::vector<std::string> keys_;
};

}  // namespace

Result<std::unique_ptr<Verifier>> MakeTwilioVerifier(std::string_view kind,
                                                     const AuthSettings& settings,
                                                     const Secrets& secrets) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecrets(kind, secrets));
  return std::unique_ptr<Verifier>(std::make_unique<TwilioVerifier>(secrets.signing));
}

// A form body is signed as parameters; for a JSON body pass a URL that already carries
// bodySHA256 (Twilio computes it; so does the caller of Sign).
Result<Headers> SignTwilio(std::string_view kind, const AuthSettings& settings,
                           std::string_view secret, const SignRequest& request) {
  TRIGGERD_RETURN_IF_ERROR(RequireSecret(kind, secret));
  if (request.url.empty()) return Status::InvalidArgument("twilio signs the URL: pass one");
  const std::string params =
      QueryParam(request.url, "bodySHA256") ? "" : CanonicalParams(request.body);
  const std::string mac =
      crypto::HmacParts(crypto::DigestAlgorithm::kSha1, secret, {request.url, params});
  return Headers{{std::string(kHeader), crypto::Base64Encode(mac)}};
}

}  // namespace triggerd::verify::internal
