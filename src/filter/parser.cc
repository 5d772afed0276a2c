#include "filter/parser.h"

#include <string>
#include <utility>

#include "filter/lexer.h"
#include "common/utf8.h"

namespace triggerd::filter::internal {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) {}

  ParseResult Run() {
    ParseResult result;
    Token first = lexer_.Next();
    if (first.kind == Token::Kind::kEnd) {
      result.ok = true;
      return result;
    }
    Sexp expression;
    if (!ParseItem(std::move(first), 0, &expression)) {
      result.error = std::move(error_);
      return result;
    }
    Token rest = lexer_.Next();
    if (rest.kind != Token::Kind::kEnd) {
      result.error = {rest.pos.line, rest.pos.column, "unexpected text after the expression"};
      return result;
    }
    result.ok = true;
    result.expression = std::move(expression);
    return result;
  }

 private:
  bool Fail(Position pos, std::string message) {
    error_ = {pos.line, pos.column, std::move(message)};
    return false;
  }

  // `depth` counts the lists enclosing `token`.
  bool ParseItem(Token token, int depth, Sexp* out) {
    switch (token.kind) {
      case Token::Kind::kString:
        out->kind = Sexp::Kind::kString;
        out->quoted = true;
        out->pos = token.pos;
        out->text = std::move(token.text);
        return true;
      case Token::Kind::kAtom:
        *out = ClassifyAtom(std::move(token.text), token.pos);
        return true;
      case Token::Kind::kOpen:
        return ParseList(token.pos, depth + 1, out);
      case Token::Kind::kClose:
        return Fail(token.pos, "unexpected \")\"");
      case Token::Kind::kError:
        return Fail(token.pos, std::move(token.text));
      case Token::Kind::kEnd:
        break;
    }
    return Fail(token.pos, "unexpected end of the filter");
  }

  bool ParseList(Position open, int depth, Sexp* out) {
    if (depth > kMaxDepth) {
      return Fail(open, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    out->kind = Sexp::Kind::kList;
    out->pos = open;
    for (;;) {
      Token token = lexer_.Next();
      if (token.kind == Token::Kind::kClose) return true;
      if (token.kind == Token::Kind::kEnd) {
        // Points at the list left open: the end of the text says less about where to fix it.
        return Fail(open, "\"(\" is never closed");
      }
      Sexp item;
      if (!ParseItem(std::move(token), depth, &item)) return false;
      out->items.push_back(std::move(item));
    }
  }

  Lexer lexer_;
  CompileError error_;
};

}  // namespace

ParseResult Parse(std::string_view text) {
  if (text.size() > kMaxFilterBytes) {
    ParseResult result;
    result.error = {1, 1,
                    "the filter is longer than " + std::to_string(kMaxFilterBytes) + " bytes"};
    return result;
  }
  if (std::size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    // Explanations echo the filter's strings into JSON, which must be UTF-8.
    Position pos;
    for (std::size_t i = 0; i < bad; ++i) {
      if (text[i] == '\n') {
        ++pos.line;
        pos.column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++pos.column;
      }
    }
    ParseResult result;
    result.error = {pos.line, pos.column, "the filter is not valid UTF-8"};
    return result;
  }
  return Parser(text).Run();
}

}  // namespace triggerd::filter::internal
