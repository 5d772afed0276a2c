// Result<T>: a value or a non-OK Status.
//
// Spelled like std::expected (has_value, value, error, operator bool, *, ->) so it can become an
// alias when the project moves to C++23. value() on an error is a programmer error (asserts).
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "common/status.h"

namespace triggerd {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : v_(std::in_place_index<1>, std::move(error)) {  // NOLINT
    assert(!std::get<1>(v_).ok() && "Result built from an OK Status has no value");
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value() && "value() on an error Result");
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value() && "value() on an error Result");
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value() && "value() on an error Result");
    return std::get<0>(std::move(v_));
  }
  const Status& error() const {
    assert(!has_value() && "error() on a Result that has a value");
    return std::get<1>(v_);
  }
  // The Status: OK when there is a value.
  Status status() const { return has_value() ? Status::Ok() : std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace triggerd

// Returns early from the enclosing function with the error of `expr` (a Status or Result).
#define TRIGGERD_RETURN_IF_ERROR(expr)                 \
  do {                                                 \
    auto triggerd_status_ = ::triggerd::ToStatus(expr); \
    if (!triggerd_status_.ok()) return triggerd_status_; \
  } while (0)

// Unwraps a Result: `lhs` (a declaration such as `auto x` or `Statement st`, or an lvalue) gets
// the value of `expr` (a Result<T>), moved out; on an error the enclosing function returns that
// error (as a Status or any Result<U>). Expands to several statements: not for an unbraced
// if/else branch. The temporary is named after the line, so two uses on different lines of one
// scope do not clash (one line holds at most one use).
#define TRIGGERD_ASSIGN_OR_RETURN(lhs, expr) \
  TRIGGERD_ASSIGN_OR_RETURN_IMPL_(TRIGGERD_RESULT_CONCAT_(triggerd_result_, __LINE__), lhs, expr)

#define TRIGGERD_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                    \
  if (!result.has_value()) return result.error();          \
  lhs = std::move(result).value()

#define TRIGGERD_RESULT_CONCAT_(a, b) TRIGGERD_RESULT_CONCAT_INNER_(a, b)
#define TRIGGERD_RESULT_CONCAT_INNER_(a, b) a##b

namespace triggerd {
inline Status ToStatus(const Status& s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace triggerd
