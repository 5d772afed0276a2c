// Field paths: splitting them once at compile time, and resolving them against an event without
// allocating. Internal to the filter module.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filter/filter.h"
#include "filter/program.h"

namespace triggerd::filter::internal {

// Splits `text` ("a.b[0].*", "$headers.X-Id", "$event") into `out`. Fails only past
// kMaxPathSegments; any other text is a valid path (an odd one simply finds nothing).
bool CompilePath(std::string_view text, Path* out, std::string* error);

// One value a path found: a JSON value inside the payload, a `.length`, or a header / `$event` /
// `$source` string. Points into the payload or the context; never owns.
struct Found {
  enum class Kind : std::uint8_t { kJson, kLength, kText };
  Kind kind = Kind::kJson;
  const boost::json::value* json = nullptr;
  std::uint64_t length = 0;
  std::string_view text;

  static Found Json(const boost::json::value* v) { return {Kind::kJson, v, 0, {}}; }
  static Found Length(std::uint64_t n) { return {Kind::kLength, nullptr, n, {}}; }
  static Found Text(std::string_view s) { return {Kind::kText, nullptr, 0, s}; }
};

// What a path resolves to: nothing, one value, or (through a wildcard over an array) a sequence
// of values, visited with ForEachInSequence rather than built.
struct Resolution {
  enum class Shape : std::uint8_t { kMissing, kValue, kSequence };
  Shape shape = Shape::kMissing;
  Found value;                                // kValue
  const boost::json::array* array = nullptr;  // kSequence: what the wildcard maps over
  std::size_t wildcard = 0;                   // kSequence: index of that wildcard segment

  static Resolution Missing() { return {}; }
  static Resolution Value(Found f) { return {Shape::kValue, f, nullptr, 0}; }
  static Resolution Sequence(const boost::json::array* a, std::size_t w) {
    return {Shape::kSequence, {}, a, w};
  }
};

// Walks `path` from segment `first` starting at `value`, stopping at the end, at a missing step,
// or at a wildcard over an array.
Resolution Walk(const Path& path, std::size_t first, const boost::json::value& value);

Resolution Resolve(const Path& path, const EvalContext& context);

// Calls visit(const Found&) for every element of a kSequence resolution, in order, flattening
// nested wildcards and dropping elements where the rest of the path is missing. Stops as soon as
// visit returns false; returns false then. Recursion depth is bounded by the number of wildcard
// segments (at most kMaxPathSegments).
template <typename Visit>
bool ForEachInSequence(const Path& path, const boost::json::array& array, std::size_t wildcard,
                       Visit& visit) {
  for (const boost::json::value& element : array) {
    Resolution rest = Walk(path, wildcard + 1, element);
    switch (rest.shape) {
      case Resolution::Shape::kMissing:
        break;
      case Resolution::Shape::kValue:
        if (!visit(rest.value)) return false;
        break;
      case Resolution::Shape::kSequence:
        if (!ForEachInSequence(path, *rest.array, rest.wildcard, visit)) return false;
        break;
    }
  }
  return true;
}

// Calls visit on each element when `resolution` is array-like (a JSON array, or a wildcard
// sequence); returns false when it is not.
template <typename Visit>
bool ForEachElement(const Path& path, const Resolution& resolution, Visit&& visit) {
  if (resolution.shape == Resolution::Shape::kSequence) {
    ForEachInSequence(path, *resolution.array, resolution.wildcard, visit);
    return true;
  }
  if (resolution.shape == Resolution::Shape::kValue &&
      resolution.value.kind == Found::Kind::kJson && resolution.value.json->is_array()) {
    for (const boost::json::value& element : resolution.value.json->get_array()) {
      if (!visit(Found::Json(&element))) break;
    }
    return true;
  }
  return false;
}

}  // namespace triggerd::filter::internal
