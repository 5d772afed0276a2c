// Status: the outcome of a fallible operation, without exceptions.
//
// A Status is OK or carries an ErrorType (protocol-agnostic: the HTTP layer maps it to a status
// code in one place, api/error_response) plus a snake_case `code` for the JSON error body and a
// message written for a person. OK is cheap (no allocation).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace triggerd {

enum class ErrorType {
  kOk = 0,
  kInvalidArgument,       // 400: the request or input is malformed
  kUnauthenticated,       // 401: missing or bad credentials / signature
  kPermissionDenied,      // 403: authenticated, or not needed, but not allowed
  kNotFound,              // 404
  kMethodNotAllowed,      // 405
  kConflict,              // 409: already exists / state forbids it
  kPayloadTooLarge,       // 413
  kUnsupportedMediaType,  // 415
  kUnprocessable,         // 422: well-formed, but more work than allowed (a filter's budget)
  kRateLimited,           // 429
  kUnavailable,           // 503: overloaded or shutting down; retry later
  kInternal,              // 500: a bug or an I/O failure
};

class Status {
 public:
  Status() = default;  // OK
  Status(ErrorType type, std::string code, std::string message)
      : type_(type), code_(std::move(code)), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message, std::string code = "invalid_request") {
    return {ErrorType::kInvalidArgument, std::move(code), std::move(message)};
  }
  static Status Unauthenticated(std::string message, std::string code = "unauthorized") {
    return {ErrorType::kUnauthenticated, std::move(code), std::move(message)};
  }
  static Status PermissionDenied(std::string message, std::string code = "forbidden") {
    return {ErrorType::kPermissionDenied, std::move(code), std::move(message)};
  }
  static Status NotFound(std::string message, std::string code = "not_found") {
    return {ErrorType::kNotFound, std::move(code), std::move(message)};
  }
  static Status Conflict(std::string message, std::string code = "conflict") {
    return {ErrorType::kConflict, std::move(code), std::move(message)};
  }
  static Status Unprocessable(std::string message, std::string code) {
    return {ErrorType::kUnprocessable, std::move(code), std::move(message)};
  }
  static Status Unavailable(std::string message, std::string code = "unavailable") {
    return {ErrorType::kUnavailable, std::move(code), std::move(message)};
  }
  static Status Internal(std::string message, std::string code = "internal") {
    return {ErrorType::kInternal, std::move(code), std::move(message)};
  }

  bool ok() const { return type_ == ErrorType::kOk; }
  ErrorType type() const { return type_; }
  // snake_case machine-readable kind, e.g. "signature_mismatch"; empty when OK.
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : code_ + ": " + message_; }

 private:
  ErrorType type_ = ErrorType::kOk;
  std::string code_;
  std::string message_;
};

}  // namespace triggerd
