// HTTP headers as plain data, for domain code that must not see Beast types.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace triggerd {

struct Header {
  std::string name;   // as received (case preserved)
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

// `s` with ASCII letters lower-cased (header names, URL schemes and hosts); other bytes as is.
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// ASCII case-insensitive equality, as HTTP header names compare.
inline bool HeaderNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The value of the first header called `name` (case-insensitive), or nullopt.
inline std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (HeaderNameEquals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

}  // namespace triggerd
