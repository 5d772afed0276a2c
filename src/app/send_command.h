// `triggerd send URL BODY`: signs BODY the way a provider would (`triggerd sign`'s schemes) and
// POSTs it to a source's ingest URL — a whole delivery from the command line, to try a source
// or replay a captured payload without the provider at hand:
//
//   triggerd send "$URL" @payload.json --scheme github --secret "$SECRET" \
//       --header 'X-GitHub-Event: pull_request'
//
// Without --scheme the body goes unsigned (sources that use a bearer token, --token, or only
// their secret URL). The answer's body is printed on `out`; its status on `err` ("HTTP 200").
// Exit codes: 0 a 2xx answer; 1 any other answer; 2 usage errors (bad scheme or settings,
// unreadable body, malformed --header); 3 no answer (connection refused, timeout).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "app/sign_command.h"

namespace triggerd::app {

struct SendOptions {
  std::string url;
  // scheme empty = unsigned; else as SignOptions (its body field is the BODY argument, and its
  // url defaults to `url` for the schemes that sign the URL).
  SignOptions sign;
  std::string token;                 // sent as Authorization: Bearer <token>
  std::vector<std::string> headers;  // extra "Name: value" lines
  std::string content_type = "application/json";
  int timeout_ms = 10'000;
};

int RunSend(const SendOptions& options, std::ostream& out, std::ostream& err);

}  // namespace triggerd::app
