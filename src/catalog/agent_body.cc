// Agent bodies (POST/PATCH /api/v1/agents, the config file's agents:) to a store::Agent.
#include <boost/json.hpp>

#include "catalog/validate.h"
#include "common/crypto.h"
#include "common/json_fields.h"
#include "dispatch/target.h"

namespace triggerd::catalog {
namespace {

constexpr size_t kMaxInstructionsBytes = 64 * 1024;
constexpr int64_t kMaxAttempts = 100;
constexpr int64_t kMaxConcurrency = 1000;

// Standard Webhooks secret: "whsec_" + base64 of 32 random bytes (what http targets sign with).
std::string NewSigningSecret() { return "whsec_" + crypto::Base64Encode(crypto::RandomBytes(32)); }

// dispatch::ParseTargetConfig names the member in its message ("target.url: …"); that prefix is
// the field. Anything else is about the target as a whole.
std::string TargetField(const std::string& message) {
  if (message.rfind("target", 0) != 0) return "target";
  size_t end = message.find_first_of(": ");
  return end == std::string::npos ? "target" : message.substr(0, end);
}

// A member's error, answered as FieldErrorResponse (UnknownFieldResponse for an unknown one).
BodyError FieldError(Status status, std::string field) {
  return BodyError{std::move(status), std::move(field), std::nullopt};
}
BodyError UnknownField(const std::string& field) {
  return FieldError(Status::InvalidArgument("unknown field \"" + field + "\""), field);
}

}  // namespace

// Applies the settable members of `body` to `agent` (see api.h). Errors are answered with
// BodyErrorResponse.
std::optional<BodyError> ApplyAgentBody(const boost::json::object& body, bool creating,
                                        bool rotate, store::Agent* agent, std::string* issued) {
  if (auto unknown = FirstUnknownField(
          body, {"name", "instructions", "target", "max_attempts", "concurrency"})) {
    return UnknownField(*unknown);
  }
  if (creating || body.contains("name")) {
    auto name = StringField(body, "name", std::nullopt);
    if (!name) return FieldError(name.error(), "name");
    if (Status s = CheckName(*name, /*required=*/true); !s.ok()) return FieldError(s, "name");
    agent->name = *name;
  }
  if (body.contains("instructions")) {
    auto instructions = StringField(body, "instructions", std::string());
    if (!instructions) return FieldError(instructions.error(), "instructions");
    if (instructions->size() > kMaxInstructionsBytes) {
      return FieldError(Status::InvalidArgument("instructions must be at most 65536 bytes"),
                        "instructions");
    }
    agent->instructions = *instructions;
  }
  bool http_target = false;
  if (creating || body.contains("target")) {
    const boost::json::value* target = body.if_contains("target");
    if (target == nullptr || target->is_null()) {
      return FieldError(Status::InvalidArgument("target is required"), "target");
    }
    auto config = dispatch::ParseTargetConfig(*target);
    if (!config) return FieldError(config.error(), TargetField(config.error().message()));
    // A target read from the API (credentials redacted) and sent back keeps them.
    std::optional<dispatch::TargetConfig> stored;
    if (!creating) {
      auto parsed = dispatch::ParseTargetConfigText(agent->target_json);
      if (parsed) stored = std::move(parsed).value();
    }
    config = dispatch::RestoreRedactedValues(std::move(config).value(), stored);
    if (!config) return FieldError(config.error(), TargetField(config.error().message()));
    agent->target_json = boost::json::serialize(dispatch::TargetConfigToJson(*config));
    http_target = config->type == dispatch::TargetType::kHttp;
  } else {
    auto config = dispatch::ParseTargetConfigText(agent->target_json);
    if (!config) return FieldError(config.error(), "");  // stored: not the caller's fault
    http_target = config->type == dispatch::TargetType::kHttp;
  }
  if (!http_target) {
    agent->signing_secret.clear();
  } else if (agent->signing_secret.empty() || rotate) {
    agent->signing_secret = NewSigningSecret();
    *issued = agent->signing_secret;
  }
  auto max_attempts = IntField(body, "max_attempts", agent->max_attempts);
  if (!max_attempts) return FieldError(max_attempts.error(), "max_attempts");
  if (*max_attempts < 1 || *max_attempts > kMaxAttempts) {
    return FieldError(Status::InvalidArgument("max_attempts must be between 1 and 100"),
                              "max_attempts");
  }
  agent->max_attempts = static_cast<int>(*max_attempts);
  auto concurrency = IntField(body, "concurrency", agent->concurrency);
  if (!concurrency) return FieldError(concurrency.error(), "concurrency");
  if (*concurrency < 1 || *concurrency > kMaxConcurrency) {
    return FieldError(Status::InvalidArgument("concurrency must be between 1 and 1000"),
                              "concurrency");
  }
  agent->concurrency = static_cast<int>(*concurrency);
  return std::nullopt;
}

}  // namespace triggerd::catalog
