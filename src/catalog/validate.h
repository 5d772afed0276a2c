// Validation of every configuration object: a request body (POST/PATCH of the REST API, or an
// object of the config file's workspaces:, app/declared) applied to a store record, so a body is
// accepted by the file exactly when the API would accept it. Bodies are JSON objects; the YAML
// of the config file is read into the same JSON first.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "filter/filter.h"
#include "store/store.h"

namespace triggerd::catalog {

// What is wrong with a body: the Status (kInvalidArgument, or kInternal for a stored record that
// no longer parses), the member at fault ("target.url", "filter"; "" = the body as a whole), and,
// for a filter that does not compile, where in its text.
struct BodyError {
  Status status;
  std::string field;
  std::optional<filter::CompileError> filter_error;
};

// Secrets that a source body made and that are shown once, in the 201.
struct IssuedSourceSecrets {
  std::string secret;  // a generated HMAC/provider signing secret
  std::string token;   // a generated bearer token (only its hash is kept in the source)
};

// Applies the members of a POST (creating) or PATCH body of /api/v1/sources to `source`; on
// update only the members sent change. Generates the signing secret and bearer token the new
// settings need and do not have yet (all of them when `rotate`), reported in `issued`, and proves
// the result usable by building its verifier.
std::optional<BodyError> ApplySourceBody(const boost::json::object& body, bool creating,
                                         bool rotate, store::Source* source,
                                         IssuedSourceSecrets* issued);
// The same for /api/v1/agents. An http target without a signing secret gets one (also on
// rotate), reported in `issued`; other targets have none.
std::optional<BodyError> ApplyAgentBody(const boost::json::object& body, bool creating,
                                        bool rotate, store::Agent* agent, std::string* issued);
// The same for /api/v1/triggers. `references`: the store in which source_id and agent_id must
// exist in the trigger's workspace; nullptr when the caller resolves them itself (the config
// file refers to sources and agents by name).
std::optional<BodyError> ApplyTriggerBody(store::Store* references,
                                          const boost::json::object& body, bool creating,
                                          store::Trigger* trigger);

// A reference from a body to another object of the workspace (`found`: the store's answer for
// it): a missing one is the caller's input error, kInvalidArgument "unknown_reference" naming
// `field`; another store error as it is; nullopt when it was found.
std::optional<BodyError> CheckReferenceError(const Status& found, std::string_view field,
                                             std::string_view what, const std::string& id);

// The name of a source, agent, trigger, API key or workspace: at most 200 characters (code
// points; the JSON parser has refused invalid UTF-8 already) and none of the characters that
// vanish or act where names are shown (the console, logs, terminals): control characters (C0,
// DEL, C1), bidirectional controls, zero-width characters, line and paragraph separators.
// `required`: at least one character (a trigger's name is optional). kInvalidArgument saying
// which rule and where.
Status CheckName(std::string_view name, bool required);
// An allowed_origins entry in the form ingest compares with the request's Origin header
// (case-insensitive equality): what a browser sends, scheme "://" host [":" port], scheme http
// or https, lower case, the default port and one trailing "/" dropped. Anything that can never
// equal an Origin header (a path, query, fragment, user info, "*", "null", no host) is
// kInvalidArgument naming the entry.
Result<std::string> NormalizeOrigin(std::string_view entry);

}  // namespace triggerd::catalog
