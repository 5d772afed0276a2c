#include "filter/path.h"

#include <string>

namespace triggerd::filter::internal {
namespace {

constexpr std::string_view kHeaderPrefix = "$headers.";

// "0" or digits without a leading zero (lodash's isIndex); "01" stays a plain key.
std::size_t CanonicalIndex(std::string_view key) {
  if (key.empty() || key.size() > 18) return kNoIndex;
  if (key.size() > 1 && key[0] == '0') return kNoIndex;
  std::size_t n = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return kNoIndex;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

// JavaScript's String.length (UTF-16 code units), as Dust measured strings: a code point above
// U+FFFF (4 UTF-8 bytes) counts twice. Boost.JSON has validated the UTF-8.
std::uint64_t Utf16Length(std::string_view s) {
  std::uint64_t n = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) ++n;
    if (c >= 0xF0) ++n;
  }
  return n;
}

}  // namespace

bool CompilePath(std::string_view text, Path* out, std::string* error) {
  out->text.assign(text);
  out->segments.clear();
  if (text.substr(0, kHeaderPrefix.size()) == kHeaderPrefix) {
    out->source = Path::Source::kHeader;
    out->header.assign(text.substr(kHeaderPrefix.size()));
    return true;
  }
  if (text == "$event" || text == "$source") {
    out->source = text == "$event" ? Path::Source::kEvent : Path::Source::kSource;
    return true;
  }
  out->source = Path::Source::kPayload;

  // `[` opens an index only when a `]` follows somewhere; otherwise it is an ordinary character.
  const std::size_t last_close = text.rfind(']');
  auto opens_bracket = [&](std::size_t j) {
    return text[j] == '[' && last_close != std::string_view::npos && last_close > j;
  };
  auto add = [&](std::string_view key, std::size_t rest_offset) {
    if (out->segments.size() == static_cast<std::size_t>(kMaxPathSegments)) {
      *error = "field path has more than " + std::to_string(kMaxPathSegments) + " segments";
      return false;
    }
    Segment segment;
    segment.key.assign(key);
    segment.index = CanonicalIndex(key);
    segment.wildcard = key == "*";
    segment.length = key == "length";
    segment.rest_offset = rest_offset;
    segment.check_rest = text.substr(rest_offset) != key;
    out->segments.push_back(std::move(segment));
    return true;
  };

  const std::size_t n = text.size();
  std::size_t i = 0;
  for (;;) {
    const std::size_t start = i;
    std::string_view key;
    if (i < n && opens_bracket(i)) {
      std::size_t close = text.find(']', i + 1);
      key = text.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      std::size_t j = i;
      while (j < n && text[j] != '.' && !opens_bracket(j)) ++j;
      key = text.substr(i, j - i);
      i = j;
    }
    if (!add(key, start)) return false;
    if (i >= n) break;
    if (text[i] == '.') {
      ++i;
      if (i == n) return add("", n);  // "a." names the key "" inside a, as lodash reads it
    }
  }
  return true;
}

Resolution Walk(const Path& path, std::size_t first, const boost::json::value& value) {
  const boost::json::value* v = &value;
  const std::size_t count = path.segments.size();
  for (std::size_t i = first; i < count; ++i) {
    const Segment& segment = path.segments[i];
    if (const boost::json::object* object = v->if_object()) {
      if (segment.check_rest) {
        if (const boost::json::value* whole = object->if_contains(path.Rest(segment))) {
          return Resolution::Value(Found::Json(whole));
        }
      }
      // A wildcard maps over arrays only (Dust: over an object it finds nothing).
      if (segment.wildcard) return Resolution::Missing();
      v = object->if_contains(segment.key);
      if (v == nullptr) return Resolution::Missing();
    } else if (const boost::json::array* array = v->if_array()) {
      if (segment.wildcard) return Resolution::Sequence(array, i);
      if (segment.index < array->size()) {
        v = &(*array)[segment.index];
      } else if (segment.length && i + 1 == count) {
        return Resolution::Value(Found::Length(array->size()));
      } else {
        return Resolution::Missing();
      }
    } else if (const boost::json::string* string = v->if_string()) {
      if (segment.length && i + 1 == count) {
        return Resolution::Value(Found::Length(Utf16Length(*string)));
      }
      return Resolution::Missing();
    } else {
      return Resolution::Missing();
    }
  }
  return Resolution::Value(Found::Json(v));
}

Resolution Resolve(const Path& path, const EvalContext& context) {
  switch (path.source) {
    case Path::Source::kPayload:
      return Walk(path, 0, context.payload);
    case Path::Source::kHeader: {
      if (context.headers == nullptr) return Resolution::Missing();
      auto value = FindHeader(*context.headers, path.header);
      return value ? Resolution::Value(Found::Text(*value)) : Resolution::Missing();
    }
    case Path::Source::kEvent:
      return context.event_type.empty() ? Resolution::Missing()
                                        : Resolution::Value(Found::Text(context.event_type));
    case Path::Source::kSource:
      return context.source_id.empty() ? Resolution::Missing()
                                       : Resolution::Value(Found::Text(context.source_id));
  }
  return Resolution::Missing();
}

}  // namespace triggerd::filter::internal
