// `triggerd sign`: the headers a provider would send with a body — to try a source with curl
// without the provider at hand:
//
//   triggerd sign --scheme github --secret "$SECRET" "$BODY" > headers.txt
//   curl "$URL" -H 'Content-Type: application/json' -H @headers.txt -d "$BODY"
//
// Exit codes: 0 headers printed, one "Name: value" per line; 2 usage errors (unknown scheme, bad
// settings, unreadable body file), with the reason on `err`.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "common/headers.h"

namespace triggerd::app {

struct SignOptions {
  // A source kind ("github", "stripe", "slack", "standard-webhooks", …; "standard" is short for
  // "standard-webhooks"), or "hmac": a custom source's HMAC with the settings below.
  std::string scheme;
  std::string secret;
  // The body: the text itself, "@path" for a file's bytes, or "-" for standard input.
  std::string body;
  std::string header = "X-Signature";  // hmac only
  std::string algorithm = "sha256";    // hmac only: sha1 | sha256 | sha512
  std::string encoding = "hex";        // hmac only: hex | base64
  std::string prefix;                  // hmac only, e.g. "sha256="
  std::string url;                     // schemes that sign the URL (twilio, hubspot)
  std::optional<int64_t> timestamp;    // unix seconds for timestamped schemes; default now
};

int RunSign(const SignOptions& options, std::ostream& out, std::ostream& err);

// A BODY argument: the text itself, "@path" for a file's bytes, "-" for standard input. False,
// with the reason on `err`, when the file cannot be read.
bool ReadBodyArgument(const std::string& spec, std::string* body, std::ostream& err);

// What RunSign prints, for callers that send it themselves (`triggerd send`): reads the body
// (text, @file or -) into `body` and appends the provider's headers to `headers`. 0, or 2 with
// the reason on `err`.
int SignBody(const SignOptions& options, std::string* body, Headers* headers, std::ostream& err);

}  // namespace triggerd::app
