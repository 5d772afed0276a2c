// Finding the filter in a model's answer. Models wrap code in Markdown fences, or answer bare;
// either way the expression is handed to the real compiler, so this only has to find it, not
// to judge it.
#include <string>
#include <string_view>

#include "nlfilter/internal.h"
#include "nlfilter/nlfilter.h"

namespace triggerd::nlfilter {
namespace {

constexpr std::string_view kFence = "```";
constexpr std::string_view kSpace = " \t\r\n";

std::string_view Trim(std::string_view s) {
  const std::size_t start = s.find_first_not_of(kSpace);
  if (start == std::string_view::npos) return {};
  const std::size_t end = s.find_last_not_of(kSpace);
  return s.substr(start, end - start + 1);
}

// The end (one past the closing parenthesis) of the expression opening at text[open], read as
// the lexer reads it (strings with backslash escapes, `;` comments); npos when it never closes.
std::size_t BalancedEnd(std::string_view text, std::size_t open) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ';') {
      const std::size_t eol = text.find('\n', i);
      if (eol == std::string_view::npos) return std::string_view::npos;
      i = eol;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

std::string Explanation(std::string_view before, std::string_view after) {
  std::string text(Trim(before));
  const std::string_view rest = Trim(after);
  if (!text.empty() && !rest.empty()) text += "\n";
  text += rest;
  return internal::CutUtf8(text, kMaxExplanationBytes);
}

}  // namespace

Extracted ExtractExpression(std::string_view answer) {
  // A fenced block holding an expression: its whole content (comments and all).
  for (std::size_t from = 0;;) {
    const std::size_t open = answer.find(kFence, from);
    if (open == std::string_view::npos) break;
    // The info string ("filter", "lisp", …) runs to the end of the opening line, unless the
    // block closes on that line (```(eq "a" 1)```).
    const std::size_t eol = answer.find('\n', open + kFence.size());
    const std::size_t next = answer.find(kFence, open + kFence.size());
    const std::size_t content =
        eol == std::string_view::npos || eol > next ? open + kFence.size() : eol + 1;
    std::size_t close = answer.find(kFence, content);
    const std::size_t block_end =
        close == std::string_view::npos ? answer.size() : close + kFence.size();
    if (close == std::string_view::npos) close = answer.size();
    const std::string_view body = Trim(answer.substr(content, close - content));
    if (body.find('(') != std::string_view::npos) {
      return {std::string(body), Explanation(answer.substr(0, open), answer.substr(block_end))};
    }
    if (block_end >= answer.size()) break;
    from = block_end;
  }
  // Bare text: the first parenthesised expression, or what follows its opening when it never
  // closes (the compiler then says what is missing).
  const std::size_t open = answer.find('(');
  if (open == std::string_view::npos) return {};
  std::size_t end = BalancedEnd(answer, open);
  if (end == std::string_view::npos) end = answer.size();
  return {std::string(Trim(answer.substr(open, end - open))),
          Explanation(answer.substr(0, open), answer.substr(end))};
}

}  // namespace triggerd::nlfilter
