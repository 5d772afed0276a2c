// Checks of members shared by several resources (validate.h): names and origins.
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url_view.hpp>
#include <cstdio>

#include "catalog/validate.h"
#include "common/redact.h"

namespace triggerd::catalog {
namespace {

constexpr size_t kMaxNameChars = 200;

}  // namespace

Status CheckName(std::string_view name, bool required) {
  size_t chars = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    const auto byte = static_cast<unsigned char>(name[i]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: not a new character
    ++chars;
    // C0 and DEL are single bytes; C1 (U+0080..U+009F) is 0xC2 0x80..0x9F in UTF-8.
    unsigned code = byte;
    if (byte == 0xC2 && i + 1 < name.size()) code = static_cast<unsigned char>(name[i + 1]);
    if (byte < 0x20 || byte == 0x7F || (byte == 0xC2 && code >= 0x80 && code <= 0x9F)) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "U+%04X", code);
      return Status::InvalidArgument("name must not contain control characters (" +
                                     std::string(hex) + " at character " + std::to_string(chars) +
                                     ")");
    }
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
