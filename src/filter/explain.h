// Explanations: the per-node JSON report documented at filter.h's Explain(). Internal to the
// filter module.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>

#include "filter/eval.h"
#include "filter/filter.h"
#include "filter/program.h"

namespace triggerd::filter::internal {

// Payload values echoed as "found" are copied up to this many approximate bytes per explanation
// (a value costs 16 per JSON node plus its strings' bytes); past it a node reports
// "found_truncated" with the value's kind and size instead. Without it, thousands of clauses
// naming a large object would copy the payload thousands of times.
inline constexpr std::size_t kExplainFoundBudget = 1 << 20;

// Sets *result to the root's value (identical to Evaluate's) and returns the root's report.
// Every node is charged to `budget` as Evaluate charges it (and the found values it lists, 1
// each); when it runs out the report is incomplete and the caller reports budget.Exceeded().
boost::json::value ExplainTree(const Node& root, const EvalContext& context, Budget& budget,
                               bool* result);

}  // namespace triggerd::filter::internal
