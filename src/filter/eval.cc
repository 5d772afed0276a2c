#include "filter/eval.h"

#include <cassert>
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

bool AnyEquals(const Found& found, const boost::json::array& values) {
  for (const boost::json::value& v : values) {
    if (Equals(found, v)) return true;
  }
  return false;
}

bool CompareText(Op op, std::string_view text, const Node& node) {
  std::string_view s = node.expected.get_string();
  switch (op) {
    case Op::kStartsWith:
      return text.starts_with(s);
    case Op::kEndsWith:
      return text.ends_with(s);
    case Op::kContains:
      return text.find(s) != std::string_view::npos;
    case Op::kMatches:
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

bool EvaluateComparison(const Node& node, const Resolution& field) {
  using Shape = Resolution::Shape;
  switch (node.op) {
    case Op::kExists:
      return field.shape == Shape::kSequence ||
             (field.shape == Shape::kValue &&
              !(field.value.kind == Found::Kind::kJson && field.value.json->is_null()));

    case Op::kHas: {
      bool hit = false;
      ForEachElement(node.path, field, [&](const Found& element) {
        hit = Equals(element, node.expected);
        return !hit;
      });
      return hit;
    }
    case Op::kHasAny: {
      const boost::json::array& values = node.expected.get_array();
      bool hit = false;
      ForEachElement(node.path, field, [&](const Found& element) {
        hit = AnyEquals(element, values);
        return !hit;
      });
      return hit;
    }
    case Op::kHasAll: {
      // One pass over the elements per wanted value: the lists are short, and this needs no
      // scratch memory.
      for (const boost::json::value& wanted : node.expected.get_array()) {
        bool hit = false;
        bool is_array = ForEachElement(node.path, field, [&](const Found& element) {
          hit = Equals(element, wanted);
          return !hit;
        });
        if (!is_array || !hit) return false;
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
      return Equals(found, node.expected);
    case Op::kIn:
      return IsScalar(found) && AnyEquals(found, node.expected.get_array());
    case Op::kStartsWith:
    case Op::kEndsWith:
    case Op::kContains:
    case Op::kMatches: {
      std::string_view text;
      return AsText(found, &text) && CompareText(node.op, text, node);
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

bool Evaluate(const Node& node, const EvalContext& context) {
  switch (node.op) {
    case Op::kAnd:
      for (const Node& child : node.children) {
        if (!Evaluate(child, context)) return false;
      }
      return true;
    case Op::kOr:
      for (const Node& child : node.children) {
        if (Evaluate(child, context)) return true;
      }
      return false;
    case Op::kNot:
      return !Evaluate(node.children[0], context);
    default:
      return EvaluateComparison(node, Resolve(node.path, context));
  }
}

}  // namespace triggerd::filter::internal
