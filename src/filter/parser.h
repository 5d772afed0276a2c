// Recursive-descent parser: filter text -> one S-expression (ast.h). Checks syntax and the input
// bounds only; what operators mean is compile.h's business. Internal to the filter module.
#pragma once

#include <optional>
#include <string_view>

#include "filter/ast.h"
#include "filter/filter.h"

namespace triggerd::filter::internal {

struct ParseResult {
  bool ok = false;
  std::optional<Sexp> expression;  // when ok: nullopt for an empty (or comment-only) filter
  CompileError error;              // when !ok
};

// Exactly one top-level expression, then only whitespace and comments. Valid UTF-8, at most
// kMaxFilterBytes of text and kMaxDepth nested lists; recursion is bounded by the latter.
ParseResult Parse(std::string_view text);

}  // namespace triggerd::filter::internal
