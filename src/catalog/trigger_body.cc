// Trigger bodies (POST/PATCH /api/v1/triggers, the config file's triggers:) to a store::Trigger.
#include <boost/json.hpp>

#include "catalog/validate.h"
#include "common/json_fields.h"
#include "filter/filter.h"
#include "verify/catalog.h"
#include "verify/verify.h"

namespace triggerd::catalog {
namespace {

constexpr size_t kMaxEventTypes = 100;
constexpr size_t kMaxEventTypeBytes = 200;

BodyError FieldError(Status status, std::string field) {
  return BodyError{std::move(status), std::move(field), std::nullopt};
}

// Filters see headers as the stored event shows them, credentials as "[redacted]" (ingest), so
// a filter that reads one could only ever test the marker, or, before that rule, test the secret
// itself: 240 triggers on prefixes of Authorization read a bearer token back from their outcomes.
// Refused, naming the header and where it is read. `hmac_header`: the source's custom signature
// header ("" when unknown: the config file resolves sources by name; ingest still redacts it).
std::optional<BodyError> RefuseCredentialHeaders(const filter::CompiledFilter& compiled,
                                                 std::string_view hmac_header) {
  for (const filter::HeaderReference& header : filter::ReferencedHeaders(compiled)) {
    if (verify::IsCredentialHeader(header.name) ||
        (!hmac_header.empty() && HeaderNameEquals(header.name, hmac_header))) {
      return FieldError(
          Status::InvalidArgument(
              std::to_string(header.line) + ":" + std::to_string(header.column) +
                  ": filters cannot read the credential header " + header.name.substr(0, 200) +
                  " (events store it as \"[redacted]\"); filter on the payload, $event or "
                  "other headers",
              "filter_reads_credential"),
          "filter");
    }
  }
  return std::nullopt;
}

// The custom HMAC header of the trigger's source, when `references` can tell.
std::string SourceHmacHeader(store::Store* references, const store::Trigger& trigger) {
  if (references == nullptr || trigger.source_id.empty()) return "";
  auto source = references->GetSource(trigger.workspace_id, trigger.source_id);
  if (!source) return "";
  auto settings = verify::ParseAuthSettingsJson(source->kind, source->auth_json);
  return settings && settings->hmac ? settings->hmac->header : "";
}

}  // namespace

// A reference to another resource of the workspace: a missing one is the caller's input error
// (400 naming the field), not a missing URL (404).
std::optional<BodyError> CheckReferenceError(const Status& found, std::string_view field,
                                             std::string_view what, const std::string& id) {
  if (found.ok()) return std::nullopt;
  if (found.type() != ErrorType::kNotFound) return BodyError{found, "", std::nullopt};
  return BodyError{
      Status::InvalidArgument(std::string(field) + ": no " + std::string(what) + " \"" +
                                  id.substr(0, 100) + "\" in this workspace",
                              "unknown_reference"),
      std::string(field), std::nullopt};
}
// Applies the settable members of `body` to `trigger` (see api.h). Errors are answered with
// BodyErrorResponse (400 with "field", or invalid_filter with line/column).
std::optional<BodyError> ApplyTriggerBody(store::Store* references,
                                          const boost::json::object& body, bool creating,
                                          store::Trigger* trigger) {
  if (auto unknown = FirstUnknownField(body, {"agent_id", "source_id", "name", "filter",
                                              "event_types", "include_payload", "enabled"})) {
    return FieldError(Status::InvalidArgument("unknown field \"" + *unknown + "\""), *unknown);
  }
  if (creating || body.contains("source_id")) {
    auto source_id = StringField(body, "source_id", std::nullopt);
    if (!source_id) return FieldError(source_id.error(), "source_id");
    if (!creating && *source_id != trigger->source_id) {
      // Its match records and runs belong to the old source's events.
      return FieldError(
          Status::InvalidArgument("source_id cannot change; create a new trigger instead"),
          "source_id");
    }
    if (creating) {
      if (references != nullptr) {
        auto source = references->GetSource(trigger->workspace_id, *source_id);
        if (auto e = CheckReferenceError(source.status(), "source_id", "source", *source_id)) {
          return e;
        }
      }
      trigger->source_id = *source_id;
    }
  }
  if (creating || body.contains("agent_id")) {
    auto agent_id = StringField(body, "agent_id", std::nullopt);
    if (!agent_id) return FieldError(agent_id.error(), "agent_id");
    if (references != nullptr) {
      auto agent = references->GetAgent(trigger->workspace_id, *agent_id);
      if (auto e = CheckReferenceError(agent.status(), "agent_id", "agent", *agent_id)) return e;
    }
    trigger->agent_id = *agent_id;
  }
  if (body.contains("name")) {
    auto name = StringField(body, "name", std::string());
    if (!name) return FieldError(name.error(), "name");
    if (Status s = CheckName(*name, /*required=*/false); !s.ok()) return FieldError(s, "name");
    trigger->name = *name;
  }
  if (body.contains("filter")) {
    // null (like "") is the empty filter, which matches every event.
    auto text = StringField(body, "filter", std::string());
    if (!text) return FieldError(text.error(), "filter");
    filter::CompileError error;
    auto compiled = filter::Compile(*text, &error);
    if (!compiled) {
      return BodyError{Status::InvalidArgument(error.ToString(), "invalid_filter"), "filter",
                       error};
    }
    if (!filter::ReferencedHeaders(*compiled).empty()) {
      if (auto e = RefuseCredentialHeaders(*compiled, SourceHmacHeader(references, *trigger))) {
        return e;
      }
    }
    trigger->filter = *text;
  }
  if (body.contains("event_types")) {
    auto types = StringListField(body, "event_types");
    if (!types) return FieldError(types.error(), "event_types");
    if (types->size() > kMaxEventTypes) {
      return FieldError(Status::InvalidArgument("event_types may list at most 100 types"),
                        "event_types");
    }
    for (const auto& type : *types) {
      if (type.empty() || type.size() > kMaxEventTypeBytes) {
        return FieldError(
            Status::InvalidArgument("event_types entries must be 1 to 200 characters"),
            "event_types");
      }
    }
    trigger->event_types = std::move(*types);
  }
  auto include_payload = BoolField(body, "include_payload", trigger->include_payload);
  if (!include_payload) return FieldError(include_payload.error(), "include_payload");
  trigger->include_payload = *include_payload;
  auto enabled = BoolField(body, "enabled", trigger->enabled);
  if (!enabled) return FieldError(enabled.error(), "enabled");
  trigger->enabled = *enabled;
  return std::nullopt;
}

}  // namespace triggerd::catalog
