// Exact comparison of JSON numbers of any representation (int64, uint64, double), so `1` equals
// `1.0` and 2^53+1 does not equal 2^53. Internal to the filter module.
#pragma once

#include <boost/json/value.hpp>
#include <compare>
#include <cstdint>

namespace triggerd::filter::internal {

struct Number {
  enum class Kind : std::uint8_t { kInt64, kUint64, kDouble };
  Kind kind = Kind::kInt64;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;

  static Number Of(std::int64_t v) { return {Kind::kInt64, v, 0, 0}; }
  static Number Of(std::uint64_t v) { return {Kind::kUint64, 0, v, 0}; }
  static Number Of(double v) { return {Kind::kDouble, 0, 0, v}; }
};

// False when `value` is not a number.
bool AsNumber(const boost::json::value& value, Number* out);

// Unordered only when a NaN is involved (literals and JSON cannot produce one, but be total).
std::partial_ordering Compare(const Number& a, const Number& b);

}  // namespace triggerd::filter::internal
