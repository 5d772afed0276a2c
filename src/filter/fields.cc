// ReferencedFields: the payload paths a compiled filter reads.
#include <algorithm>

#include "filter/filter.h"
#include "filter/program.h"

namespace triggerd::filter {
namespace {

// Recursion depth is bounded by kMaxDepth, as for evaluation.
void Collect(const internal::Node& node, std::vector<std::string>* out) {
  switch (node.op) {
    case internal::Op::kAnd:
    case internal::Op::kOr:
    case internal::Op::kNot:
      for (const auto& child : node.children) Collect(child, out);
      return;
    default:
      break;
  }
  if (node.path.source != internal::Path::Source::kPayload) return;
  if (std::find(out->begin(), out->end(), node.path.text) == out->end()) {
    out->push_back(node.path.text);
  }
}

}  // namespace

std::vector<std::string> ReferencedFields(const CompiledFilter& filter) {
  std::vector<std::string> out;
  if (const internal::Program* program = FilterAccess::program(filter)) {
    Collect(program->root, &out);
  }
  return out;
}

}  // namespace triggerd::filter
