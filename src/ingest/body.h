// The body decoding step of ingest (ingest.cc), callable on its own for the body fuzz target
// (fuzz/body_fuzz.cc) and tests. Plain types only.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace triggerd::ingest {

// Decodes a webhook body by its Content-Type (parameters such as charset ignored):
//   application/x-www-form-urlencoded: the `payload` field when there is one (GitHub's form
//     delivery; must be a JSON object or array; `payload_json` gets the field's decoded text
//     as sent), else an object of every field ("+" is a space; `payload_json` gets it
//     serialised); either way it is what re-parses to `payload`, since the body is not JSON;
//   application/json, */*+json or no Content-Type: the body must be a JSON object or array
//     (nested at most kMaxJsonDepth deep, common/json_parse.h); `payload_json` stays empty (the body is the payload);
//   anything else: kUnsupportedMediaType (415).
// An empty or undecodable body is kInvalidArgument, code "invalid_body" (400). With
// `need_payload` false, a JSON body is only validated and `payload` stays null (same answers,
// no document built); form bodies are always decoded. `payload` allocates from its own storage.
Status ParseBody(std::string_view content_type, std::string_view body, bool need_payload,
                 boost::json::value* payload, std::string* payload_json);

}  // namespace triggerd::ingest
