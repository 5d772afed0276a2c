// Evaluation of a compiled program against one event, within a work budget. Allocation-free.
// Internal to the filter module.
#pragma once

#include <cstdint>

#include "filter/filter.h"
#include "filter/path.h"
#include "filter/program.h"

namespace triggerd::filter::internal {

// The work left to one evaluation, in filter.h's steps (kMaxEvalSteps). Once a Take fails the
// budget stays exhausted: every later comparison is false without running, and the caller turns
// the evaluation into kUnprocessable "filter_budget_exceeded" (Exceeded()).
class Budget {
 public:
  explicit Budget(std::uint64_t steps) : left_(steps) {}

  // Spends `steps` at `node`; false, and exhausted from then on, when fewer are left.
  bool Take(std::uint64_t steps, const Node& node) {
    if (exhausted_) return false;
    if (steps > left_) {
      exhausted_ = true;
      left_ = 0;
      where_ = &node;
      return false;
    }
    left_ -= steps;
    return true;
  }
  bool exhausted() const { return exhausted_; }
  std::uint64_t left() const { return left_; }
  // The Status of an exhausted budget, naming the comparison that ran out. REQUIRES: exhausted().
  Status Exceeded(std::uint64_t budget) const;

 private:
  std::uint64_t left_;
  bool exhausted_ = false;
  const Node* where_ = nullptr;
};

// Short-circuits and/or. False once `budget` is exhausted.
bool Evaluate(const Node& node, const EvalContext& context, Budget& budget);

// A comparison (any op but and/or/not) given what its field resolved to; explain.cc shares it so
// explanations cannot disagree with Evaluate().
bool EvaluateComparison(const Node& node, const Resolution& field, Budget& budget);

}  // namespace triggerd::filter::internal
