// Tokenizer for filter text. Pull-based (one token per Next()), so a bad input fails at its first
// error without tokenizing the rest. Internal to the filter module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "filter/ast.h"

namespace triggerd::filter::internal {

struct Token {
  enum class Kind {
    kOpen,    // (
    kClose,   // )
    kString,  // "..." with escapes resolved into `text`
    kAtom,    // bare atom, as written, in `text`
    kEnd,
    kError,  // `text` holds the message; pos is where the problem starts
  };
  Kind kind = Kind::kEnd;
  Position pos;
  std::string text;
};

// REQUIRES: `text` outlives the lexer.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token, skipping whitespace (space, tab, CR, LF) and `;` comments. Callers stop at
  // the first kError; after kEnd every call returns kEnd.
  Token Next();

 private:
  bool AtEnd() const { return offset_ >= text_.size(); }
  char Peek() const { return text_[offset_]; }
  void Advance();  // consumes one byte, keeping line and column current
  void SkipBlanksAndComments();

  std::string_view text_;
  std::size_t offset_ = 0;
  Position pos_;
};

// Classifies a bare atom: true, false, null, a number (JSON decimal forms plus `+5`, `.5`, `5.`,
// and unsigned `0x10`, `0o7`, `0b11` as JavaScript's Number() reads them, except that a number
// beyond a double's range is not one), else a string.
Sexp ClassifyAtom(std::string text, Position pos);

}  // namespace triggerd::filter::internal
