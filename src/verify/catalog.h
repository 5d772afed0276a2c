// verify/catalog: what triggerd knows about each provider preset beyond verifying it — how it
// signs (a summary for people), the event types it sends with a sample payload each, light
// schemas of the common events, the handshake it may send and how to answer it.
//
// Everything here is immutable data compiled into the binary (the samples and schemas are the
// files under src/verify/catalog/, embedded at build time; nothing is read at run time) and is
// safe to use from any thread. FindSchema() parses a schema on first use, once, thread-safely.
//
// GitHub's samples are octokit/webhooks payloads (MIT, licence beside them in catalog/github/);
// the other providers' samples are illustrative: written by us after each provider's public
// documentation, realistic in shape but not captured deliveries.
#pragma once

#include <array>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/headers.h"

namespace triggerd::verify {

// ---------------------------------------------------------------------------------------------
// The catalog.

// How a preset authenticates requests, for people and the REST API (the verifier itself lives
// with each scheme; catalog_test checks that `headers` names every header Sign() sends).
struct VerificationInfo {
  std::array<std::string_view, 6> headers;  // the headers the scheme reads; unused slots empty
  // Those of `headers` whose values are credentials (signatures, tokens; not timestamps or ids):
  // stored events show them as "[redacted]" and filters may not read them (IsCredentialHeader).
  std::array<std::string_view, 2> credentials;
  std::string_view algorithm;               // "HMAC-SHA256", "Ed25519", "shared token", ...
  std::string_view encoding;                // "hex", "base64", "" (token)
  std::string_view prefix;                  // text before the signature, e.g. "sha256="
  std::string_view signed_content;          // what is signed, e.g. "t + \".\" + raw body"
  std::string_view timestamp;               // where the signed timestamp is; "" when none
  bool several_signatures = false;          // one request may carry several (one per active secret)
  std::string_view secret;  // what the source's secret is, e.g. "the app's client secret"
};

struct EventTypeInfo {
  std::string_view name;  // what ingest reads as the event type ($event), e.g. "pull_request"
  std::string_view description;  // one line
  std::string_view sample;       // a sample payload: JSON text, as ingest would parse it
  std::string_view schema_json;  // the light schema (see EventSchema), or "" when none
};

// A request a provider sends to check the endpoint, which must be answered in a set way and is
// not an event.
struct HandshakeInfo {
  std::string_view name;         // e.g. "url_verification"
  std::string_view description;  // what it is and what triggerd answers
  std::string_view sample;       // a sample request body (JSON)
  // False when the provider sends it unsigned (notion: it carries the secret to be configured),
  // so it cannot be authenticated like the events that follow.
  bool signed_by_provider = true;
};

struct ProviderCatalog {
  std::string_view kind;
  VerificationInfo verification;
  std::span<const EventTypeInfo> event_types;  // the main ones; never empty
  const HandshakeInfo* handshake = nullptr;    // nullptr: the provider sends none
  bool illustrative = true;  // samples written after the docs (false: real captured payloads)
  std::string_view samples_origin;
  std::string_view notes;  // anything a user must know to receive it (may be empty)
};

// Every preset of kProviders (so not "custom"), in the same order.
std::span<const ProviderCatalog> Catalog();
// nullptr for "custom" and unknown kinds.
const ProviderCatalog* FindCatalog(std::string_view kind);
// Whether a header (by name, case-insensitive) carries a credential, whatever the source: a
// credential header of any preset (VerificationInfo::credentials; a custom source may receive a
// provider's deliveries too), or a name IsSecretHeaderName recognises (common/redact.h). Ingest
// stores such headers as "[redacted]" and shows filters only that (ingest::RedactHeaders, which
// adds the source's own HMAC header); a trigger filter that reads one is refused when saved.
bool IsCredentialHeader(std::string_view name);
// nullptr when the kind or the event type is not in the catalog (names are case-sensitive).
const EventTypeInfo* FindEventType(std::string_view kind, std::string_view event_type);
// The preset's default replay window in seconds; 0 when it signs no timestamp. nullopt for an
// unknown kind.
std::optional<int64_t> DefaultToleranceSeconds(std::string_view kind);

// ---------------------------------------------------------------------------------------------
// Light schemas: the field paths an event type carries, derived from real and sample payloads
// (src/verify/catalog/derive_schema.py). A path is dotted object keys with "*" for array
// elements ("pull_request.labels.*.name"); kinds are JSON kinds joined by "|" ("string|null").

struct SchemaField {
  std::string path;
  std::string kinds;
};

class EventSchema {
 public:
  // Parses a schema file: {"open": [patterns], "fields": {path: kinds}}.
  static std::optional<EventSchema> Parse(std::string_view json);

  // Whether a payload of this event type can have the field at `path`, written as filters
  // write paths ("a.b", "labels.0.name", "labels[0].name", "labels.*.name", "title.length").
  // Lenient where the schema cannot tell: under an "open" path, under a value only ever seen
  // null, and inside objects and arrays only ever seen empty. When it answers false and
  // `suggestion` is not null, it receives the closest known path when one is near (a typo),
  // else "".
  bool Has(std::string_view path, std::string* suggestion = nullptr) const;

  const std::vector<SchemaField>& fields() const { return fields_; }
  const std::vector<std::string>& open() const { return open_; }

 private:
  std::vector<SchemaField> fields_;  // sorted by path
  std::vector<std::string> open_;
  // Derived from the two above by Parse().
  std::map<std::string, uint8_t, std::less<>> kinds_;  // path -> mask of JSON kinds
  std::map<std::string, std::vector<std::string>, std::less<>> children_;  // path -> its keys
  std::vector<std::vector<std::string>> open_segments_;
};

// The parsed schema of an event type, or nullptr when it has none. Parsed once, on first use.
const EventSchema* FindSchema(std::string_view kind, std::string_view event_type);

// Warnings (never errors) about a filter saved for a source of `kind` that only sees
// `event_types`: one per payload field (filter::ReferencedFields) that no selected event type
// has, e.g. "pull_request.chnged_files is not a field of github pull_request events (did you
// mean pull_request.changed_files?)", and one per selected event type that is not in the
// catalog but is one typo away from one that is. Says nothing about a field when no event type
// is selected, or when one of them has no schema: then any field may be real.
std::vector<std::string> FilterWarnings(std::string_view kind,
                                        std::span<const std::string> event_types,
                                        std::span<const std::string> fields);

// ---------------------------------------------------------------------------------------------
// Handshakes.

struct HandshakeReply {
  std::string_view name;  // the HandshakeInfo name, e.g. "url_verification"
  int status = 200;
  std::string content_type = "application/json";
  std::string body;  // may be empty (status 204)
  // notion: the verification token the request carried, which the source's admin must paste
  // back into Notion (and configure as the source's secret). Empty otherwise.
  std::string verification_token;
};

// Whether a request to a source of `kind` is the provider's handshake rather than an event, and
// if so what to answer (the request is then not stored as an event nor evaluated by triggers):
//   slack    {"type":"url_verification","challenge":c}  -> 200 {"challenge":c}
//   discord  interaction PING {"type":1,...}            -> 200 {"type":1}
//            webhook-event PING {"type":0,...}          -> 204
//   notion   {"verification_token":t}                   -> 200 {} and t for the admin
// REQUIRES: the request was authenticated by the source's verifier, except for a kind whose
// HandshakeInfo says signed_by_provider == false (notion), whose handshake arrives unsigned;
// answering it reveals nothing and stores nothing. `payload` is the parsed body (a form body as
// the object of its fields).
std::optional<HandshakeReply> DetectHandshake(std::string_view kind, const Headers& headers,
                                              const boost::json::value& payload);

}  // namespace triggerd::verify
