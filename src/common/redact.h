// Write-only credentials as the API shows them. A value that may carry a credential (a header
// value, a URL's password or query value) is shown as a marker, and the marker sent back in an
// update keeps the stored value, so a config read from the API, edited and sent back keeps its
// credentials without anyone reading them. Used by agent targets (dispatch) and poll sources
// (schedule); ingest uses kRedacted for the credentials of stored event headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace triggerd {

// What a write-only header value reads as.
inline constexpr std::string_view kRedacted = "[redacted]";
// What a URL's password and query values read as (kRedacted's brackets would be
// percent-encoded there).
inline constexpr std::string_view kRedactedUrlPart = "redacted";

// Whether a header name says its value is secret: its lower-cased name, with "_" read as "-",
// contains one of kSecretHeaderNameParts. Names only: verify::IsCredentialHeader calls this and
// adds the provider catalog's credential headers, whatever their names.
bool IsSecretHeaderName(std::string_view name);

// The documented list (README "Security model"): Authorization and Proxy-Authorization,
// Cookie and Set-Cookie, signatures, HMACs, tokens, secrets, passwords, credentials, sessions and
// API/access/private keys, e.g. X-Api-Key, X-Auth-Token, X-Password, X-Session-Id.
inline constexpr std::string_view kSecretHeaderNameParts[] = {
    "authorization", "cookie",     "signature", "hmac",       "token",       "secret",
    "password",      "passwd",     "credential", "session",   "api-key",     "apikey",
    "access-key",    "private-key", "auth-key"};

// `url` with its user name, its password, every non-empty query value and every query key
// without a value (often a bare token: "?sk_live_…") replaced by kRedactedUrlPart
// ("https://redacted:redacted@host/hook?key=redacted&redacted"). Path segments and the fragment
// are shown as they are: a credential belongs in the userinfo or the query. A URL that does not
// parse is returned unchanged (stored URLs were validated).
std::string RedactUrl(std::string_view url);

// The origin of an absolute URL as a browser writes it in an Origin header:
// scheme "://" host [":" port], scheme and host in lower case, the scheme's default port (http
// 80, https 443) left out. nullopt when `url` does not parse. (Also the stored form of a
// source's allowed_origins, catalog/names.cc.)
std::optional<std::string> OriginOf(std::string_view url);

// True when both URLs parse and have the same origin (OriginOf).
bool SameOrigin(std::string_view a, std::string_view b);

// The URL to store when `submitted` replaces `stored` (nullopt: nothing stored). A user name,
// password or query value equal to kRedactedUrlPart takes the stored URL's (for a query value:
// the same occurrence of the same key), and the n-th query key kRedactedUrlPart without a value
// takes the n-th stored key without a value, so RestoreRedactedUrl(RedactUrl(u), u) == u. A stored value is never sent to another origin: markers in a URL
// whose origin differs from the stored one are refused, as is a marker with no stored value.
// kInvalidArgument with a message that reads after "<field>: ". A submitted URL without markers
// is returned unchanged.
Result<std::string> RestoreRedactedUrl(std::string_view submitted,
                                       std::optional<std::string_view> stored);

}  // namespace triggerd
