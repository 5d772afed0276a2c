// The compiled form of a filter: a tree of typed nodes whose paths are pre-split into segments
// and whose literals are JSON values, so evaluation neither parses nor allocates. Immutable once
// built; shared by every thread evaluating the filter. Internal to the filter module.
#pragma once

#include <re2/re2.h>

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filter/ast.h"
#include "filter/filter.h"

namespace triggerd::filter::internal {

enum class Op : std::uint8_t {
  kAnd,
  kOr,
  kNot,
  kEq,
  kStartsWith,
  kContains,
  kEndsWith,
  kMatches,
  kHas,
  kHasAll,
  kHasAny,
  kIn,
  kGt,
  kGte,
  kLt,
  kLte,
  kExists,
};

// The operator's name as users write it.
std::string_view OpName(Op op);

inline constexpr std::size_t kNoIndex = std::numeric_limits<std::size_t>::max();

struct Segment {
  std::string key;               // object key to look up
  std::size_t index = kNoIndex;  // array index when `key` is a canonical integer ("0", "17")
  bool wildcard = false;         // "*"
  bool length = false;           // "length": also an array's or a string's length
  // The remaining path as written, from this segment on, starts at Path::text[rest_offset]. An
  // object holding that whole text as a key answers for the rest of the path; `check_rest` is
  // false when that text is just `key`, saving a lookup.
  std::size_t rest_offset = 0;
  bool check_rest = false;
};

struct Path {
  enum class Source : std::uint8_t { kPayload, kHeader, kEvent, kSource };

  Source source = Source::kPayload;
  std::string text;               // as written, for explanations
  std::string header;             // kHeader: the name after "$headers."
  std::vector<Segment> segments;  // kPayload; never empty

  std::string_view Rest(const Segment& segment) const {
    return std::string_view(text).substr(segment.rest_offset);
  }
};

struct Node {
  Op op = Op::kAnd;
  Position pos;
  std::vector<Node> children;  // and, or, not
  Path path;                   // comparisons
  // eq, has: any literal (a list never equals anything); string operators: a string; gt...:
  // a number; has-all, has-any, in: a non-empty array; matches: the pattern; exists: null.
  boost::json::value expected;
  std::unique_ptr<const RE2> regex;  // matches
};

struct Program {
  Node root;
};

}  // namespace triggerd::filter::internal

namespace triggerd::filter {
// Grants the module's internals access to CompiledFilter's program.
class FilterAccess {
 public:
  static const internal::Program* program(const CompiledFilter& filter) {
    return filter.program_.get();
  }
  static CompiledFilter Make(std::shared_ptr<const internal::Program> program) {
    return CompiledFilter(std::move(program));
  }
};
}  // namespace triggerd::filter
