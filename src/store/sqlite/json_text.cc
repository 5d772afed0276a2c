#include "store/sqlite/json_text.h"

#include <cstdint>

namespace triggerd::store::sqlite {
namespace {

bool NeedsEscape(unsigned char u) { return u < 0x20 || u == '"' || u == '\\'; }

void AppendQuoted(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  // Runs of characters that need no escape (nearly all of a header) are appended at once.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(u)) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (u) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:  // JSON forbids raw control characters, NUL included
        out->append("\\u00");
        out->push_back(kHex[u >> 4]);
        out->push_back(kHex[u & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A cursor over the text; every Parse* returns false on malformed input.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // Consumes `c` (after whitespace) when it is next.
  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

  bool ParseString(std::string* out) {
    out->clear();
    if (!Consume('"')) return false;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!ParseHex4(&cp)) return false;
          if (cp >= 0xd800 && cp <= 0xdbff) {  // a high surrogate needs its low half
            uint32_t low;
            if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
              return false;
            }
            pos_ += 2;
            if (!ParseHex4(&low) || low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return false;
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;  // unterminated
  }

 private:
  bool ParseHex4(uint32_t* cp) {
    if (pos_ + 4 > text_.size()) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') {
        v |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        v |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        v |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    *cp = v;
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Parses `[ item, item, … ]`, calling parse_item for each; handles the empty array.
template <typename ParseItem>
bool ParseArray(Reader& r, ParseItem parse_item) {
  if (!r.Consume('[')) return false;
  if (r.Consume(']')) return true;
  do {
    if (!parse_item()) return false;
  } while (r.Consume(','));
  return r.Consume(']');
}

}  // namespace

std::string EncodeStringArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendQuoted(values[i], &out);
  }
  out.push_back(']');
  return out;
}

bool DecodeStringArray(std::string_view text, std::vector<std::string>* out) {
  out->clear();
  Reader r(text);
  std::string value;
  bool ok = ParseArray(r, [&] {
    if (!r.ParseString(&value)) return false;
    out->push_back(std::move(value));
    return true;
  });
  return ok && r.AtEnd();
}

std::string EncodeHeaders(const Headers& headers) {
  size_t size = 2;
  for (const Header& h : headers) size += h.name.size() + h.value.size() + 8;  // [" "," "],
  std::string out;
  out.reserve(size + size / 8);  // room for a few escapes without growing
  out.push_back('[');
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('[');
    AppendQuoted(headers[i].name, &out);
    out.push_back(',');
    AppendQuoted(headers[i].value, &out);
    out.push_back(']');
  }
  out.push_back(']');
  return out;
}

bool DecodeHeaders(std::string_view text, Headers* out) {
  out->clear();
  Reader r(text);
  bool ok = ParseArray(r, [&] {
    Header h;
    if (!r.Consume('[') || !r.ParseString(&h.name) || !r.Consume(',') || !r.ParseString(&h.value) ||
        !r.Consume(']')) {
      return false;
    }
    out->push_back(std::move(h));
    return true;
  });
  return ok && r.AtEnd();
}

}  // namespace triggerd::store::sqlite
