// The compile step: gives meaning to a parsed S-expression (operators, arity, argument types,
// non-empty lists, regexes, paths) and builds the Program. Internal to the filter module.
#pragma once

#include <memory>
#include <vector>

#include "filter/ast.h"
#include "filter/filter.h"
#include "filter/program.h"

namespace triggerd::filter::internal {

// Null with `error` set when `expression` is not a valid filter.
std::unique_ptr<Program> CompileProgram(const Sexp& expression, CompileError* error);

// Operators(): built from the compiler's own operator table.
std::vector<OperatorInfo> OperatorTable();

}  // namespace triggerd::filter::internal
