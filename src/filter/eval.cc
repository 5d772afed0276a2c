#include "filter/eval.h"

#include <string.h>  // memmem (glibc)

#include <cassert>
#include <string>
#include <string_view>

#include "filter/number.h"

namespace triggerd::filter::internal {
namespace {

bool AsText(const Found& found, std::string_view* out) {
  if (found.kind == Found::Kind::kText) {
    *out = found.text;
    return true;
  }
  if (found.kind == Found::Kind::kJson && found.json->is_string()) {
    *out = found.json->get_string();
    return true;
  }
  return false;
}

bool AsNumber(const Found& found, Number* out) {
  if (found.kind == Found::Kind::kLength) {
    *out = Number::Of(found.length);
    return true;
  }
  return found.kind == Found::Kind::kJson && internal::AsNumber(*found.json, out);
}

// Equality without coercion: same JSON type and value, numbers compared exactly across
// representations. A literal list (or anything not scalar) equals nothing.
bool Equals(const Found& found, const boost::json::value& expected) {
  switch (expected.kind()) {
    case boost::json::kind::string: {
      std::string_view text;
      return AsText(found, &text) && text == std::string_view(expected.get_string());
    }
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: {
      Number a, b;
      return AsNumber(found, &a) && internal::AsNumber(expected, &b) && Compare(a, b) == 0;
    }
    case boost::json::kind::bool_:
      return found.kind == Found::Kind::kJson && found.json->is_bool() &&
             found.json->get_bool() == expected.get_bool();
    case boost::json::kind::null:
      return found.kind == Found::Kind::kJson && found.json->is_null();
    case boost::json::kind::array:
    case boost::json::kind::object:
      return false;
  }
  return false;
}

bool IsScalar(const Found& found) {
  return found.kind != Found::Kind::kJson || !(found.json->is_array() || found.json->is_object());
}

// The steps of comparing `found` with `expected`: 1, plus the bytes compared when both are
// strings of the same size (the only case that reads them).
std::uint64_t EqualsCost(const Found& found, const boost::json::value& expected) {
  if (!expected.is_string()) return 1;
  std::string_view text;
  if (!AsText(found, &text) || text.size() != expected.get_string().size()) return 1;
  return 1 + text.size();
}

bool AnyEquals(const Found& found, const boost::json::array& values, const Node& node,
               Budget& budget) {
  for (const boost::json::value& v : values) {
    if (!budget.Take(EqualsCost(found, v), node)) return false;
    if (Equals(found, v)) return true;
  }
  return false;
}

bool CompareText(Op op, std::string_view text, const Node& node, Budget& budget) {
  std::string_view s = node.expected.get_string();
  switch (op) {
    case Op::kStartsWith:
      return budget.Take(1 + s.size(), node) && text.starts_with(s);
    case Op::kEndsWith:
      return budget.Take(1 + s.size(), node) && text.ends_with(s);
    case Op::kContains:
      // glibc's memmem is linear in both sizes (the two-way algorithm); std::string_view::find
      // compares the needle at every offset (450 KB x 30 KB took seconds).
      if (!budget.Take(1 + text.size() + s.size(), node)) return false;
      return s.empty() || memmem(text.data(), text.size(), s.data(), s.size()) != nullptr;
    case Op::kMatches:
      // RE2 cannot be interrupted: its worst case (the NFA: every byte through every
      // instruction) is charged before it runs.
      if (!budget.Take(1 + text.size() * static_cast<std::uint64_t>(node.regex->ProgramSize()),
                       node)) {
        return false;
      }
      return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *node.regex);
    default:
      return false;
  }
}

bool CompareNumber(Op op, const Number& found, const boost::json::value& expected) {
  Number bound;
  if (!internal::AsNumber(expected, &bound)) return false;
  std::partial_ordering order = Compare(found, bound);
  switch (op) {
    case Op::kGt:
      return order > 0;
    case Op::kGte:
      return order >= 0;
    case Op::kLt:
      return order < 0;
    case Op::kLte:
      return order <= 0;
    default:
      return false;
  }
}

}  // namespace

Status Budget::Exceeded(std::uint64_t budget) const {
  std::string at = "?";
  if (where_ != nullptr) {
    at = std::to_string(where_->pos.line) + ":" + std::to_string(where_->pos.column) + ": " +
         std::string(OpName(where_->op));
    if (!where_->path.text.empty()) at += " \"" + where_->path.text.substr(0, 200) + "\"";
  }
  return Status::Unprocessable(
      at + " exceeds the filter's evaluation budget (" + std::to_string(budget) +
          " steps) for this event: compare fewer or smaller values, or use a simpler regular "
          "expression",
      "filter_budget_exceeded");
}

bool EvaluateComparison(const Node& node, const Resolution& field, Budget& budget) {
  using Shape = Resolution::Shape;
  // A visited element costs at most one lookup per path segment, besides its comparison.
  const std::uint64_t element_cost = 1 + node.path.segments.size();
  switch (node.op) {
    case Op::kExists:
      return field.shape == Shape::kSequence ||
             (field.shape == Shape::kValue &&
              !(field.value.kind == Found::Kind::kJson && field.value.json->is_null()));

    case Op::kHas: {
      bool hit = false;
      ForEachElement(node.path, field, [&](const Found& element) {
        if (!budget.Take(element_cost + EqualsCost(element, node.expected), node)) return false;
        hit = Equals(element, node.expected);
        return !hit;
      });
      return hit && !budget.exhausted();
    }
    case Op::kHasAny: {
      const boost::json::array& values = node.expected.get_array();
      bool hit = false;
      ForEachElement(node.path, field, [&](const Found& element) {
        if (!budget.Take(element_cost, node)) return false;
        hit = AnyEquals(element, values, node, budget);
        return !hit && !budget.exhausted();
      });
      return hit && !budget.exhausted();
    }
    case Op::kHasAll: {
      // One pass over the elements per wanted value: no scratch memory, and the budget bounds
      // values x elements.
      for (const boost::json::value& wanted : node.expected.get_array()) {
        bool hit = false;
        bool is_array = ForEachElement(node.path, field, [&](const Found& element) {
          if (!budget.Take(element_cost + EqualsCost(element, wanted), node)) return false;
          hit = Equals(element, wanted);
          return !hit;
        });
        if (!is_array || !hit || budget.exhausted()) return false;
      }
      return true;
    }
    default:
      break;
  }

  // The remaining operators compare one scalar; an array (sequence or JSON) never matches.
  if (field.shape != Shape::kValue) return false;
  const Found& found = field.value;
  switch (node.op) {
    case Op::kEq:
      return budget.Take(EqualsCost(found, node.expected), node) && Equals(found, node.expected);
    case Op::kIn:
      return IsScalar(found) && AnyEquals(found, node.expected.get_array(), node, budget);
    case Op::kStartsWith:
    case Op::kEndsWith:
    case Op::kContains:
    case Op::kMatches: {
      std::string_view text;
      return AsText(found, &text) && CompareText(node.op, text, node, budget);
    }
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte: {
      Number number;
      return AsNumber(found, &number) && CompareNumber(node.op, number, node.expected);
    }
    default:
      assert(false && "logical operators are not comparisons");
      return false;
  }
}

bool Evaluate(const Node& node, const EvalContext& context, Budget& budget) {
  // A node costs 1, a comparison also its path's lookups; an exhausted budget makes every node
  // false (`not` included), and the caller reports the failure instead of the result.
  if (!budget.Take(1 + node.path.segments.size(), node)) return false;
  switch (node.op) {
    case Op::kAnd:
      for (const Node& child : node.children) {
        if (!Evaluate(child, context, budget)) return false;
      }
      return true;
    case Op::kOr:
      for (const Node& child : node.children) {
        if (Evaluate(child, context, budget)) return true;
      }
      return false;
    case Op::kNot:
      return !Evaluate(node.children[0], context, budget) && !budget.exhausted();
    default:
      return EvaluateComparison(node, Resolve(node.path, context), budget);
  }
}

}  // namespace triggerd::filter::internal
