#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "http/http.h"

namespace triggerd::http {

int HttpStatusFor(ErrorType type) {
  switch (type) {
    case ErrorType::kOk:
      return 200;
    case ErrorType::kInvalidArgument:
      return 400;
    case ErrorType::kUnauthenticated:
      return 401;
    case ErrorType::kPermissionDenied:
      return 403;
    case ErrorType::kNotFound:
      return 404;
    case ErrorType::kMethodNotAllowed:
      return 405;
    case ErrorType::kConflict:
      return 409;
    case ErrorType::kPayloadTooLarge:
      return 413;
    case ErrorType::kUnsupportedMediaType:
      return 415;
    case ErrorType::kUnprocessable:
      return 422;
    case ErrorType::kRateLimited:
      return 429;
    case ErrorType::kUnavailable:
      return 503;
    case ErrorType::kInternal:
      return 500;
  }
  return 500;
}

Response ErrorResponse(const Status& status) {
  boost::json::object error;
  error["type"] = status.code().empty() ? "internal" : status.code();
  error["message"] = status.message();
  boost::json::object body;
  body["error"] = std::move(error);
  return JsonResponse(HttpStatusFor(status.type()), boost::json::serialize(body));
}

Response JsonResponse(int status, std::string json) {
  Response response;
  response.status = status;
  response.body = std::move(json);
  response.body += '\n';
  return response;
}

}  // namespace triggerd::http
