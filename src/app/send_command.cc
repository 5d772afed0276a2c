#include "app/send_command.h"

#include "dispatch/target.h"

namespace triggerd::app {
namespace {

constexpr int kNotSuccess = 1;
constexpr int kUsage = 2;
constexpr int kNoAnswer = 3;

}  // namespace

int RunSend(const SendOptions& options, std::ostream& out, std::ostream& err) {
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
    err << "error: URL must start with http:// or https://\n";
    return kUsage;
  }
  std::string body;
  Headers headers;
  if (options.sign.scheme.empty()) {
    if (!ReadBodyArgument(options.sign.body, &body, err)) return kUsage;
  } else {
    SignOptions sign = options.sign;
    if (sign.url.empty()) sign.url = options.url;  // twilio and hubspot sign the URL itself
    if (int rc = SignBody(sign, &body, &headers, err); rc != 0) return rc;
  }
  std::vector<std::string> lines;
  lines.push_back("Content-Type: " + options.content_type);
  lines.push_back("User-Agent: triggerd-send");
  if (!options.token.empty()) lines.push_back("Authorization: Bearer " + options.token);
  for (const auto& header : headers) lines.push_back(header.name + ": " + header.value);
  for (const auto& line : options.headers) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      err << "error: --header \"" << line << "\" is not \"Name: value\"\n";
      return kUsage;
    }
    lines.push_back(line);
  }
  dispatch::PostOutcome answer = dispatch::PostOnce(options.url, lines, body, options.timeout_ms);
  if (answer.status == 0) {
    err << "error: no answer from " << options.url << ": " << answer.transport_error << "\n";
    return kNoAnswer;
  }
  err << "HTTP " << answer.status << "\n";
  out << answer.body;
  if (!answer.body.empty() && answer.body.back() != '\n') out << "\n";
  return answer.status >= 200 && answer.status <= 299 ? 0 : kNotSuccess;
}

}  // namespace triggerd::app
