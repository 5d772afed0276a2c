#include "filter/number.h"

#include <cmath>

namespace triggerd::filter::internal {
namespace {

constexpr double kTwoPow64 = 18446744073709551616.0;

std::partial_ordering CompareUintDouble(std::uint64_t u, double d) {
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d < 0) return std::partial_ordering::greater;
  if (d >= kTwoPow64) return std::partial_ordering::less;
  // d is in [0, 2^64): its integral part fits a uint64, and d - t is exact (above 2^53 every
  // double is an integer, below it t is exactly representable).
  auto t = static_cast<std::uint64_t>(d);
  if (u != t) return u < t ? std::partial_ordering::less : std::partial_ordering::greater;
  return d > static_cast<double>(t) ? std::partial_ordering::less
                                    : std::partial_ordering::equivalent;
}

std::partial_ordering Reverse(std::partial_ordering o) { return 0 <=> o; }

std::partial_ordering CompareIntDouble(std::int64_t i, double d) {
  if (i >= 0) return CompareUintDouble(static_cast<std::uint64_t>(i), d);
  if (std::isnan(d)) return std::partial_ordering::unordered;
  if (d >= 0) return std::partial_ordering::less;
  // Both negative: compare magnitudes the other way round. -(i+1)+1 avoids negating INT64_MIN.
  std::uint64_t magnitude = static_cast<std::uint64_t>(-(i + 1)) + 1;
  return Reverse(CompareUintDouble(magnitude, -d));
}

std::partial_ordering CompareIntUint(std::int64_t i, std::uint64_t u) {
  if (i < 0) return std::partial_ordering::less;
  return static_cast<std::uint64_t>(i) <=> u;
}

}  // namespace

bool AsNumber(const boost::json::value& value, Number* out) {
  switch (value.kind()) {
    case boost::json::kind::int64:
      *out = Number::Of(value.get_int64());
      return true;
    case boost::json::kind::uint64:
      *out = Number::Of(value.get_uint64());
      return true;
    case boost::json::kind::double_:
      *out = Number::Of(value.get_double());
      return true;
    default:
      return false;
  }
}

std::partial_ordering Compare(const Number& a, const Number& b) {
  using K = Number::Kind;
  switch (a.kind) {
    case K::kInt64:
      switch (b.kind) {
        case K::kInt64:
          return a.i <=> b.i;
        case K::kUint64:
          return CompareIntUint(a.i, b.u);
        case K::kDouble:
          return CompareIntDouble(a.i, b.d);
      }
      break;
    case K::kUint64:
      switch (b.kind) {
        case K::kInt64:
          return Reverse(CompareIntUint(b.i, a.u));
        case K::kUint64:
          return a.u <=> b.u;
        case K::kDouble:
          return CompareUintDouble(a.u, b.d);
      }
      break;
    case K::kDouble:
      switch (b.kind) {
        case K::kInt64:
          return Reverse(CompareIntDouble(b.i, a.d));
        case K::kUint64:
          return Reverse(CompareUintDouble(b.u, a.d));
        case K::kDouble:
          return a.d <=> b.d;
      }
      break;
  }
  return std::partial_ordering::unordered;
}

}  // namespace triggerd::filter::internal
