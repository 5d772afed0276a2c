#include "app/sign_command.h"

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "common/clock.h"
#include "verify/verify.h"

namespace triggerd::app {
namespace {

constexpr int kUsage = 2;

}  // namespace

bool ReadBodyArgument(const std::string& spec, std::string* body, std::ostream& err) {
  if (spec == "-") {
    *body = std::string(std::istreambuf_iterator<char>(std::cin), {});
    return true;
  }
  if (!spec.empty() && spec[0] == '@') {
    std::ifstream in(spec.substr(1), std::ios::binary);
    if (!in) {
      err << "error: cannot read " << spec.substr(1) << "\n";
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    *body = text.str();
    return true;
  }
  *body = spec;
  return true;
}

int SignBody(const SignOptions& options, std::string* body, Headers* headers, std::ostream& err) {
  std::string kind = options.scheme == "standard" ? "standard-webhooks" : options.scheme;
  boost::json::object auth;
  if (kind == "hmac") {
    kind = "custom";
    auth["hmac"] = {{"header", options.header},
                    {"algorithm", options.algorithm},
                    {"encoding", options.encoding},
                    {"prefix", options.prefix}};
  } else if (kind == "custom" || verify::FindProvider(kind) == nullptr) {
    err << "error: unknown scheme \"" << options.scheme
        << "\" (a provider kind such as github, stripe, slack, standard, or hmac)\n";
    return kUsage;
  }
  auto settings = verify::ParseAuthSettings(kind, auth);
  if (!settings) {
    err << "error: " << settings.error().message() << "\n";
    return kUsage;
  }
  if (!ReadBodyArgument(options.body, body, err)) return kUsage;
  verify::SignRequest request;
  request.body = *body;
  request.now_unix = options.timestamp.value_or(SystemClock::Instance().NowUnixSeconds());
  request.url = options.url;
  auto signed_headers = verify::Sign(kind, *settings, options.secret, request);
  if (!signed_headers) {
    err << "error: " << signed_headers.error().message() << "\n";
    return kUsage;
  }
  headers->insert(headers->end(), signed_headers->begin(), signed_headers->end());
  return 0;
}

int RunSign(const SignOptions& options, std::ostream& out, std::ostream& err) {
  std::string body;
  Headers headers;
  if (int rc = SignBody(options, &body, &headers, err); rc != 0) return rc;
  for (const auto& header : headers) out << header.name << ": " << header.value << "\n";
  return 0;
}

}  // namespace triggerd::app
