// Evaluation of a compiled program against one event. Allocation-free. Internal to the filter
// module.
#pragma once

#include "filter/filter.h"
#include "filter/path.h"
#include "filter/program.h"

namespace triggerd::filter::internal {

// Short-circuits and/or.
bool Evaluate(const Node& node, const EvalContext& context);

// A comparison (any op but and/or/not) given what its field resolved to; explain.cc shares it so
// explanations cannot disagree with Matches().
bool EvaluateComparison(const Node& node, const Resolution& field);

}  // namespace triggerd::filter::internal
