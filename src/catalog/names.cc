// Checks of members shared by several resources (validate.h): names and origins.
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url_view.hpp>
#include <algorithm>
#include <cstdio>

#include "catalog/validate.h"
#include "common/redact.h"
#include "common/utf8.h"

namespace triggerd::catalog {
namespace {

constexpr size_t kMaxNameChars = 200;

// The code point of the valid UTF-8 sequence of `length` bytes at s[i].
char32_t DecodeUtf8(std::string_view s, size_t i, size_t length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (length == 1) return byte(0);
  char32_t code = byte(0) & (0xFF >> (length + 1));
  for (size_t k = 1; k < length; ++k) code = (code << 6) | (byte(k) & 0x3F);
  return code;
}

// What a name may not hold, because it vanishes or acts where names are shown (the console,
// logs, terminals) — so two names that look alike are not told apart, or a name reorders the
// text around it: "" when `code` is allowed.
std::string_view ForbiddenInName(char32_t code) {
  if (code < 0x20 || code == 0x7F || (code >= 0x80 && code <= 0x9F)) return "control characters";
  // Bidirectional marks, embeddings, overrides and isolates (Trojan Source, CVE-2021-42574).
  if (code == 0x061C || code == 0x200E || code == 0x200F || (code >= 0x202A && code <= 0x202E) ||
      (code >= 0x2066 && code <= 0x2069)) {
    return "bidirectional control characters";
  }
  if ((code >= 0x200B && code <= 0x200D) || code == 0x2060 || code == 0xFEFF) {
    return "zero-width characters";
  }
  if (code == 0x2028 || code == 0x2029) return "line or paragraph separators";
  return "";
}

}  // namespace

Status CheckName(std::string_view name, bool required) {
  size_t chars = 0;
  for (size_t i = 0; i < name.size();) {
    // The JSON parser refused invalid UTF-8 already; a stray byte counts as one character.
    const size_t length = std::max<size_t>(Utf8SequenceLength(name, i), 1);
    const char32_t code = DecodeUtf8(name, i, length);
    ++chars;
    if (std::string_view what = ForbiddenInName(code); !what.empty()) {
      char hex[16];
      std::snprintf(hex, sizeof(hex), "U+%04X", static_cast<unsigned>(code));
      return Status::InvalidArgument("name must not contain " + std::string(what) + " (" +
                                     std::string(hex) + " at character " + std::to_string(chars) +
                                     ")");
    }
    i += length;
  }
  if (chars > kMaxNameChars || (required && chars == 0)) {
    return Status::InvalidArgument(required ? "name must be 1 to 200 characters"
                                            : "name must be at most 200 characters");
  }
  return Status::Ok();
}

Result<std::string> NormalizeOrigin(std::string_view entry) {
  auto refuse = [&](std::string_view why) {
    return Status::InvalidArgument("allowed_origins: \"" + std::string(entry.substr(0, 100)) +
                                   "\" is not an origin (" + std::string(why) +
                                   "); write scheme://host[:port], e.g. https://example.com");
  };
  // A browser's Origin has no path; one trailing "/" is what a copied URL adds, so it goes.
  std::string_view text = entry;
  if (text.size() > 500) return refuse("longer than 500 characters");
  if (text.size() > 1 && text.back() == '/') text.remove_suffix(1);
  auto url = boost::urls::parse_uri(text);
  if (!url) return refuse("not an absolute http or https URL");
  if (url->scheme_id() != boost::urls::scheme::http &&
      url->scheme_id() != boost::urls::scheme::https) {
    return refuse("the scheme must be http or https");
  }
  if (url->has_userinfo()) return refuse("user info is never part of an origin");
  if (url->encoded_host().empty()) return refuse("no host");
  if (!url->encoded_path().empty()) return refuse("a path is never part of an origin");
  if (url->has_query()) return refuse("a query is never part of an origin");
  if (url->has_fragment()) return refuse("a fragment is never part of an origin");
  if (url->has_port()) {
    const uint16_t port = url->port_number();
    if (url->port().empty() || port == 0 || std::to_string(port) != url->port()) {
      return refuse("the port must be 1 to 65535");
    }
  }
  // Lower case, the scheme's default port left out: what a browser sends as Origin.
  return *OriginOf(text);
}

}  // namespace triggerd::catalog
