#include "filter/filter.h"

#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <utility>

#include "filter/compile.h"
#include "filter/eval.h"
#include "filter/explain.h"
#include "filter/parser.h"
#include "filter/program.h"

namespace triggerd::filter {

std::string CompileError::ToString() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

bool CompiledFilter::matches_everything() const { return program_ == nullptr; }

Result<CompiledFilter> Compile(std::string_view text, CompileError* error) {
  CompileError failure;
  internal::ParseResult parsed = internal::Parse(text);
  if (!parsed.ok) {
    failure = std::move(parsed.error);
  } else if (!parsed.expression) {
    return CompiledFilter();
  } else if (std::shared_ptr<const internal::Program> program =
                 internal::CompileProgram(*parsed.expression, &failure)) {
    return FilterAccess::Make(std::move(program));
  }
  if (error != nullptr) *error = failure;
  return Status::InvalidArgument(failure.ToString(), "invalid_filter");
}

std::vector<OperatorInfo> Operators() { return internal::OperatorTable(); }

Result<bool> Evaluate(const CompiledFilter& filter, const EvalContext& context,
                      std::uint64_t* steps) {
  const internal::Program* program = FilterAccess::program(filter);
  if (program == nullptr) return true;
  const std::uint64_t allowed = steps != nullptr ? *steps : kMaxEvalSteps;
  internal::Budget budget(allowed);
  const bool matched = internal::Evaluate(program->root, context, budget);
  if (steps != nullptr) *steps = budget.left();
  if (budget.exhausted()) return budget.Exceeded(allowed);
  return matched;
}

Result<boost::json::value> Explain(const CompiledFilter& filter, const EvalContext& context) {
  boost::json::object out;
  const internal::Program* program = FilterAccess::program(filter);
  if (program == nullptr) {
    out["result"] = true;
    out["expression"] = nullptr;
    return boost::json::value(std::move(out));
  }
  bool result = false;
  internal::Budget budget(kMaxEvalSteps);
  boost::json::value expression = internal::ExplainTree(program->root, context, budget, &result);
  if (budget.exhausted()) return budget.Exceeded(kMaxEvalSteps);
  out["result"] = result;
  out["expression"] = std::move(expression);
  return boost::json::value(std::move(out));
}

}  // namespace triggerd::filter
