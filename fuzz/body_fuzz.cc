// libFuzzer target for the body decoding of ingest (ingest::ParseBody, src/ingest/body.h): JSON
// objects and arrays, form posts with a `payload` field or plain fields, content-type handling.
//
// Input: the first line is the Content-Type header value (may be empty), the rest is the body.
// So seeds are readable (corpus/body/) and mutations explore both the media type and the body.
//
// Checks beyond "no crash, no sanitizer report":
// - validating only (need_payload false, the path ingest takes when no trigger reads the body)
//   and decoding give the same answer: same acceptance, same error type and code;
// - an accepted payload is a JSON object or array; what ingest stores for it re-parses to the
//   same value: `payload_json` when set (form bodies), else the body itself;
// - validating only builds no document.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json_parse.h"
#include "ingest/body.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view content_type, std::string_view body) {
  std::fprintf(stderr, "body_fuzz: %s (content type \"%.*s\", %zu body bytes)\n", what,
               static_cast<int>(content_type.size()), content_type.data(), body.size());
  std::abort();
}

// Value equality where NaN equals NaN: Boost.JSON 1.81 reads some numbers with huge exponents
// (0.0e4300) as NaN, and the same text read twice must count as the same payload.
bool SameValue(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double() && std::isnan(a.get_double()) && std::isnan(b.get_double())) {
    return true;
  }
  if (a.kind() != b.kind()) return a == b;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!SameValue(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [key, value] : x) {
      const boost::json::value* other = y.if_contains(key);
      if (other == nullptr || !SameValue(value, *other)) return false;
    }
    return true;
  }
  return a == b;
}

// What ingest keeps for an accepted body must read back as the payload it matched on.
void CheckStoredFormReparses(const boost::json::value& payload, const std::string& payload_json,
                             std::string_view content_type, std::string_view body) {
  boost::system::error_code ec;
  const std::string_view stored = payload_json.empty() ? body : std::string_view(payload_json);
  boost::json::value reparsed = triggerd::ParseJson(stored, ec);  // as every stored reader does
  if (ec) Fail("the stored payload does not re-parse", content_type, body);
  if (!SameValue(reparsed, payload))
    Fail("the stored payload re-parses to another value", content_type, body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  std::string_view content_type = eol == std::string_view::npos ? input : input.substr(0, eol);
  std::string_view body =
      eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);

  boost::json::value decoded;
  std::string decoded_json;
  const triggerd::Status full =
      triggerd::ingest::ParseBody(content_type, body, true, &decoded, &decoded_json);

  boost::json::value validated;
  std::string validated_json;
  const triggerd::Status light =
      triggerd::ingest::ParseBody(content_type, body, false, &validated, &validated_json);

  if (full.ok() != light.ok() || full.type() != light.type() || full.code() != light.code()) {
    std::fprintf(stderr, "decode: %s\nvalidate: %s\n", full.ToString().c_str(),
                 light.ToString().c_str());
    Fail("validating and decoding disagree", content_type, body);
  }
  if (!full.ok()) {
    if (full.code().empty()) Fail("a refusal without an error code", content_type, body);
    return 0;
  }
  if (!decoded.is_object() && !decoded.is_array()) {
    Fail("an accepted payload is neither object nor array", content_type, body);
  }
  CheckStoredFormReparses(decoded, decoded_json, content_type, body);
  // Validating a JSON body builds nothing; a form body is decoded either way.
  if (validated_json.empty() && !validated.is_null()) {
    Fail("validating a JSON body built a document", content_type, body);
  }
  if (validated_json != decoded_json) Fail("the stored form payload differs", content_type, body);
  return 0;
}
