#include "filter/explain.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cmath>
#include <string_view>

#include "filter/eval.h"
#include "filter/path.h"
#include "common/utf8.h"

namespace triggerd::filter::internal {
namespace {

constexpr std::size_t kNodeCost = 16;

// Cost of copying `v`, counting no further than `limit` (so a huge value costs little to
// measure). Recursion depth is bounded by the payload's nesting, which Boost.JSON's parser
// limits.
std::size_t CopyCost(const boost::json::value& v, std::size_t limit) {
  std::size_t cost = kNodeCost;
  switch (v.kind()) {
    case boost::json::kind::string:
      return cost + v.get_string().size();
    case boost::json::kind::array:
      for (const boost::json::value& element : v.get_array()) {
        if (cost > limit) break;
        cost += CopyCost(element, limit - cost);
      }
      return cost;
    case boost::json::kind::object:
      for (const auto& [key, value] : v.get_object()) {
        if (cost > limit) break;
        cost += key.size() + CopyCost(value, limit - cost);
      }
      return cost;
    default:
      return cost;
  }
}

// A copy that JSON can print: Boost.JSON parses an out-of-range number such as 1e999 as an
// infinite double, which has no JSON form, so it is echoed as the string "Infinity".
boost::json::value PrintableCopy(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: {
      double d = v.get_double();
      if (std::isfinite(d)) return v;
      return std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    }
    case boost::json::kind::array: {
      boost::json::array copy;
      copy.reserve(v.get_array().size());
      for (const boost::json::value& element : v.get_array()) {
        copy.push_back(PrintableCopy(element));
      }
      return copy;
    }
    case boost::json::kind::object: {
      boost::json::object copy;
      copy.reserve(v.get_object().size());
      for (const auto& [key, value] : v.get_object()) copy[key] = PrintableCopy(value);
      return copy;
    }
    default:
      return v;
  }
}

std::string_view KindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object:
      return "object";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::string:
      return "string";
    default:
      return "scalar";
  }
}

class Explainer {
 public:
  Explainer(const EvalContext& context, Budget& budget) : context_(context), steps_(budget) {}

  boost::json::value Node(const internal::Node& node, bool* result) {
    boost::json::object out;
    std::string_view op = OpName(node.op);
    out["op"] = boost::json::string_view(op.data(), op.size());
    out["result"] = false;  // placed second for readability; set below
    if (!steps_.Take(1 + node.path.segments.size(), node)) {
      *result = false;
      return out;  // the caller reports the exhausted budget, not this report
    }
    switch (node.op) {
      case Op::kAnd:
      case Op::kOr:
      case Op::kNot: {
        boost::json::array children;
        // Every child is explained, even past the first that decides, so each clause says why.
        bool all = true, any = false;
        for (const internal::Node& child : node.children) {
          bool value = false;
          children.push_back(Node(child, &value));
          all = all && value;
          any = any || value;
        }
        *result = node.op == Op::kAnd ? all : node.op == Op::kOr ? any : !all;
        out["children"] = std::move(children);
        break;
      }
      default: {
        Resolution field = Resolve(node.path, context_);
        *result = EvaluateComparison(node, field, steps_);
        out["field"] = node.path.text;
        if (node.op != Op::kExists) out["expected"] = node.expected;
        AddFound(node, field, &out);
        break;
      }
    }
    out["result"] = *result;
    out["line"] = node.pos.line;
    out["column"] = node.pos.column;
    return out;
  }

 private:
  // A copy of `found` when the budget allows; null otherwise.
  bool Copy(const Found& found, boost::json::value* out) {
    switch (found.kind) {
      case Found::Kind::kJson: {
        std::size_t cost = CopyCost(*found.json, budget_);
        if (cost > budget_) return false;
        budget_ -= cost;
        *out = PrintableCopy(*found.json);
        return true;
      }
      case Found::Kind::kLength:
        *out = found.length;
        return true;
      case Found::Kind::kText:
        // Header values are bytes from the network; the explanation must stay valid JSON.
        *out = RepairUtf8(found.text);
        return true;
    }
    return false;
  }

  void Truncated(std::string_view kind, std::size_t size, boost::json::object* out) {
    (*out)["found_truncated"] = true;
    (*out)["found_kind"] = boost::json::string_view(kind.data(), kind.size());
    (*out)["found_size"] = size;
  }

  // Adds "found" (a wildcard's sequence built into an array), or "missing": true.
  void AddFound(const internal::Node& node, const Resolution& field, boost::json::object* out) {
    const Path& path = node.path;
    switch (field.shape) {
      case Resolution::Shape::kMissing:
        (*out)["missing"] = true;
        return;
      case Resolution::Shape::kValue: {
        boost::json::value copy;
        if (Copy(field.value, &copy)) {
          (*out)["found"] = std::move(copy);
        } else {
          const boost::json::value& v = *field.value.json;
          std::size_t size = v.is_object()   ? v.get_object().size()
                             : v.is_array()  ? v.get_array().size()
                             : v.is_string() ? v.get_string().size()
                                             : 0;
          Truncated(KindName(v), size, out);
        }
        return;
      }
      case Resolution::Shape::kSequence: {
        boost::json::array elements;
        std::size_t count = 0;
        bool complete = true;
        auto collect = [&](const Found& element) {
          if (!steps_.Take(1, node)) return false;
          ++count;
          boost::json::value copy;
          if (complete && Copy(element, &copy)) {
            elements.push_back(std::move(copy));
          } else {
            complete = false;  // keep counting for found_size
          }
          return true;
        };
        ForEachInSequence(path, *field.array, field.wildcard, collect);
        if (complete) {
          (*out)["found"] = std::move(elements);
        } else {
          Truncated("array", count, out);
        }
        return;
      }
    }
  }

  const EvalContext& context_;
  Budget& steps_;
  std::size_t budget_ = kExplainFoundBudget;
};

}  // namespace

boost::json::value ExplainTree(const Node& root, const EvalContext& context, Budget& budget,
                               bool* result) {
  return Explainer(context, budget).Node(root, result);
}

}  // namespace triggerd::filter::internal
