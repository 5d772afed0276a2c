// ReferencedFields: the payload paths a compiled filter reads; Warnings: what compiles but never
// matches.
#include <algorithm>

#include "filter/filter.h"
#include "filter/program.h"

namespace triggerd::filter {
namespace {

// Calls `visit` with every comparison of the tree (every node but and, or, not). Recursion depth
// is bounded by kMaxDepth, as for evaluation.
template <typename Visit>
void ForEachComparison(const internal::Node& node, const Visit& visit) {
  switch (node.op) {
    case internal::Op::kAnd:
    case internal::Op::kOr:
    case internal::Op::kNot:
      for (const auto& child : node.children) ForEachComparison(child, visit);
      return;
    default:
      visit(node);
  }
}

void Collect(const internal::Node& node, std::vector<std::string>* out) {
  if (node.path.source != internal::Path::Source::kPayload) return;
  if (std::find(out->begin(), out->end(), node.path.text) == out->end()) {
    out->push_back(node.path.text);
  }
}

void Lint(const internal::Node& node, std::vector<std::string>* out) {
  const std::string at = std::to_string(node.pos.line) + ":" + std::to_string(node.pos.column) +
                         ": " + std::string(internal::OpName(node.op));
  if ((node.op == internal::Op::kEq || node.op == internal::Op::kHas) && node.expected.is_array()) {
    out->push_back(at + " with a list never matches (a payload value is never a list literal): " +
                   (node.op == internal::Op::kEq ? "use in for several values"
                                                 : "use has-any or has-all for several values"));
    return;
  }
  if ((node.op == internal::Op::kHasAll || node.op == internal::Op::kHasAny ||
       node.op == internal::Op::kIn) &&
      node.expected.is_array()) {
    for (const auto& item : node.expected.as_array()) {
      if (item.is_array()) {
        out->push_back(at + " with a list inside its values: that item never matches");
        return;
      }
    }
  }
}

}  // namespace

std::vector<std::string> Warnings(const CompiledFilter& filter) {
  std::vector<std::string> out;
  if (const internal::Program* program = FilterAccess::program(filter)) {
    ForEachComparison(program->root, [&](const internal::Node& node) { Lint(node, &out); });
  }
  return out;
}

std::vector<std::string> ReferencedFields(const CompiledFilter& filter) {
  std::vector<std::string> out;
  if (const internal::Program* program = FilterAccess::program(filter)) {
    ForEachComparison(program->root, [&](const internal::Node& node) { Collect(node, &out); });
  }
  return out;
}

std::vector<HeaderReference> ReferencedHeaders(const CompiledFilter& filter) {
  std::vector<HeaderReference> out;
  if (const internal::Program* program = FilterAccess::program(filter)) {
    ForEachComparison(program->root, [&](const internal::Node& node) {
      if (node.path.source == internal::Path::Source::kHeader) {
        out.push_back({node.path.header, node.pos.line, node.pos.column});
      }
    });
  }
  return out;
}

}  // namespace triggerd::filter
