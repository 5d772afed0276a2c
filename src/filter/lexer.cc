#include "filter/lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <system_error>
#include <utility>

namespace triggerd::filter::internal {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Ends a bare atom. `"` ends it too, so `ab"c"` reads as two tokens rather than an atom holding a
// quote that users would not expect.
bool IsDelimiter(char c) { return IsBlank(c) || c == '(' || c == ')' || c == ';' || c == '"'; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// `0x1F`, `0o17`, `0b101` (prefix letter in either case, no sign): the integer, as uint64 when it
// fits and as the nearest double beyond (what Number() gives).
bool ParseRadixInteger(std::string_view s, boost::json::value* out) {
  if (s.size() < 3 || s[0] != '0') return false;
  int base = 0;
  switch (s[1]) {
    case 'x':
    case 'X':
      base = 16;
      break;
    case 'o':
    case 'O':
      base = 8;
      break;
    case 'b':
    case 'B':
      base = 2;
      break;
    default:
      return false;
  }
  std::uint64_t u = 0;
  double d = 0;
  bool overflow = false;
  for (char c : s.substr(2)) {
    int digit = DigitValue(c);
    if (digit >= base) return false;
    d = d * base + digit;
    if (!overflow) {
      if (u > (std::numeric_limits<std::uint64_t>::max() - digit) / base) {
        overflow = true;
      } else {
        u = u * base + digit;
      }
    }
  }
  if (overflow && std::isinf(d)) return false;
  *out = overflow ? boost::json::value(d) : boost::json::value(u);
  return true;
}

// For a decimal too large or too small for a double (the grammar was checked): whether its
// first significant digit sits at a positive decimal exponent.
bool OverflowsRatherThanUnderflows(std::string_view s) {
  std::size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  long exponent = 0;
  if (e != std::string_view::npos) {
    std::size_t i = e + 1;
    bool negative = false;
    if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
    for (; i < s.size(); ++i) exponent = std::min(exponent * 10 + (s[i] - '0'), 1000000L);
    if (negative) exponent = -exponent;
  }
  std::size_t dot = mantissa.find('.');
  std::string_view int_part = mantissa.substr(0, dot);
  std::size_t first = int_part.find_first_not_of('0');
  if (first != std::string_view::npos) return exponent + long(int_part.size() - first) > 0;
  std::string_view frac = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
  std::size_t zeros = frac.find_first_not_of('0');
  if (zeros == std::string_view::npos) return false;  // zero
  return exponent - long(zeros) > 0;
}

// [+-]? (digits ('.' digits?)? | '.' digits) ([eE] [+-]? digits)?
bool ParseDecimal(std::string_view s, boost::json::value* out) {
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  bool integral = true;
  if (i < s.size() && s[i] == '.') {
    integral = false;
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    integral = false;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  if (i != s.size()) return false;

  // from_chars takes no leading '+'.
  std::string_view unsigned_part = s.substr(s[0] == '+' || s[0] == '-' ? 1 : 0);
  if (integral) {
    // Exact integers where they fit, so 2^53+1 compares exactly with a payload's integer.
    std::uint64_t u = 0;
    auto [ptr, ec] =
        std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), u);
    if (ec == std::errc() && ptr == unsigned_part.data() + unsigned_part.size()) {
      if (!negative) {
        *out = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                   ? boost::json::value(static_cast<std::int64_t>(u))
                   : boost::json::value(u);
        return true;
      }
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1) {
        *out = boost::json::value(static_cast<std::int64_t>(0 - u));
        return true;
      }
    }
  }
  double d = 0;
  auto [ptr, ec] =
      std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), d);
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves d unset. Underflow reads as zero, as Number() does. Overflow would be
    // infinity, which JSON cannot print (explanations) and no payload holds: like NaN, such an
    // atom stays a string.
    if (OverflowsRatherThanUnderflows(unsigned_part)) return false;
    d = 0.0;
  } else if (ec != std::errc() || ptr != unsigned_part.data() + unsigned_part.size()) {
    return false;
  }
  *out = boost::json::value(negative ? -d : d);
  return true;
}

}  // namespace

Sexp ClassifyAtom(std::string text, Position pos) {
  Sexp atom;
  atom.pos = pos;
  if (text == "true" || text == "false") {
    atom.kind = Sexp::Kind::kBool;
    atom.boolean = text == "true";
  } else if (text == "null") {
    atom.kind = Sexp::Kind::kNull;
  } else if (ParseRadixInteger(text, &atom.number) || ParseDecimal(text, &atom.number)) {
    atom.kind = Sexp::Kind::kNumber;
  } else {
    atom.kind = Sexp::Kind::kString;
  }
  atom.text = std::move(text);
  return atom;
}

void Lexer::Advance() {
  char c = text_[offset_++];
  if (c == '\n') {
    ++pos_.line;
    pos_.column = 1;
  } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
    // Only UTF-8 lead bytes (and ASCII) start a character.
    ++pos_.column;
  }
}

void Lexer::SkipBlanksAndComments() {
  while (!AtEnd()) {
    if (IsBlank(Peek())) {
      Advance();
    } else if (Peek() == ';') {
      while (!AtEnd() && Peek() != '\n') Advance();
    } else {
      return;
    }
  }
}

Token Lexer::Next() {
  SkipBlanksAndComments();
  Token token;
  token.pos = pos_;
  if (AtEnd()) {
    token.kind = Token::Kind::kEnd;
    return token;
  }
  char c = Peek();
  if (c == '(' || c == ')') {
    token.kind = c == '(' ? Token::Kind::kOpen : Token::Kind::kClose;
    Advance();
    return token;
  }
  if (c == '"') {
    Advance();
    while (!AtEnd() && Peek() != '"') {
      if (Peek() == '\\') {
        Advance();  // the backslash makes whatever follows literal (Dust's rule: `\n` is `n`)
        if (AtEnd()) break;
      }
      token.text.push_back(Peek());
      Advance();
    }
    if (AtEnd()) {
      // Stay at the end so later calls keep failing instead of re-reading the string.
      token.kind = Token::Kind::kError;
      token.text = "unterminated string";
      return token;
    }
    Advance();  // closing quote
    token.kind = Token::Kind::kString;
    return token;
  }
  std::size_t start = offset_;
  while (!AtEnd() && !IsDelimiter(Peek())) Advance();
  token.kind = Token::Kind::kAtom;
  token.text.assign(text_.substr(start, offset_ - start));
  return token;
}

}  // namespace triggerd::filter::internal
