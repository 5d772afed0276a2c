// Source bodies (POST/PATCH /api/v1/sources, the config file's sources:) to a store::Source.
#include <boost/json.hpp>

#include "catalog/validate.h"
#include "common/crypto.h"
#include "common/ip_network.h"
#include "common/json_fields.h"
#include "schedule/schedule.h"
#include "verify/verify.h"

namespace triggerd::catalog {
namespace {

constexpr int64_t kMaxBodyLimit = 64 * 1024 * 1024;

bool IsHeaderToken(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The members every source has: name, kind (fixed once created), enabled; refuses unknown ones.
Status ApplyIdentity(const boost::json::object& body, bool creating, store::Source* source) {
  TRIGGERD_RETURN_IF_ERROR(RejectUnknownFields(
      body, {"name", "kind", "enabled", "auth", "secret", "allowed_ips", "allowed_origins",
             "delivery_id_header", "max_body_bytes", "schedule", "poll"}));
  if (creating || body.contains("name")) {
    auto name = StringField(body, "name", std::nullopt);
    if (!name) return name.error();
    TRIGGERD_RETURN_IF_ERROR(CheckName(*name, /*required=*/true));
    source->name = *name;
  }
  if (body.contains("kind")) {
    auto kind = StringField(body, "kind", "custom");
    if (!kind) return kind.error();
    if (!creating && *kind != source->kind) {
      return Status::InvalidArgument("kind cannot change; create a new source instead");
    }
    if (verify::FindProvider(*kind) == nullptr && *kind != schedule::kScheduleKind &&
        *kind != schedule::kPollKind) {
      return Status::InvalidArgument("kind \"" + kind->substr(0, 50) +
                                     "\" is not \"custom\", \"schedule\", \"poll\" or a "
                                     "known provider");
    }
    source->kind = *kind;
  }
  auto enabled = BoolField(body, "enabled", source->enabled);
  if (!enabled) return enabled.error();
  source->enabled = *enabled;
  return Status::Ok();
}

// Schedule and poll sources (src/schedule): a config under the kind's name, and none of the
// webhook members (they have no ingest URL).
Status ApplyGeneratedConfig(const boost::json::object& body, bool creating,
                            store::Source* source) {
  for (std::string_view member : {"auth", "secret", "allowed_ips", "allowed_origins",
                                  "delivery_id_header", "max_body_bytes"}) {
    if (body.contains(member)) {
      return Status::InvalidArgument("a " + source->kind + " source has no ingest URL: \"" +
                                     std::string(member) + "\" does not apply");
    }
  }
  const boost::json::value* config = body.if_contains(source->kind);
  if (config == nullptr) {
    if (creating) {
      return Status::InvalidArgument("a " + source->kind + " source needs \"" + source->kind +
                                     "\" (its configuration)");
    }
    return Status::Ok();
  }
  boost::system::error_code ec;
  boost::json::value previous = boost::json::parse(source->trigger_config_json, ec);
  auto normalized = schedule::NormalizeConfig(
      source->kind, *config, !ec && previous.is_object() ? &previous.as_object() : nullptr);
  if (!normalized) return normalized.error();
  source->trigger_config_json = *normalized;
  return Status::Ok();
}

// A webhook source's members: its verification (auth settings, signing secret, bearer token:
// generated when the settings need one it lacks, or all when `rotate`, reported in `issued`),
// allow-lists, delivery id header and body limit; then proves the result usable by building its
// verifier.
Status ApplyWebhookFields(const boost::json::object& body, bool creating, bool rotate,
                          store::Source* source, IssuedSourceSecrets* issued) {
  verify::AuthSettings settings;
  if (const auto* auth = body.if_contains("auth")) {
    auto parsed = verify::ParseAuthSettings(source->kind, *auth);
    if (!parsed) return parsed.error();
    settings = *parsed;
  } else {
    auto stored = verify::ParseAuthSettingsJson(source->kind, source->auth_json);
    if (!stored) return stored.error();
    settings = *stored;
  }
  source->auth_json = verify::SerializeAuthSettings(settings);

  const bool needs_secret = source->kind != "custom" || settings.hmac.has_value();
  if (const auto* secret = body.if_contains("secret"); secret && !secret->is_null()) {
    if (!secret->is_string() || secret->as_string().empty() || secret->as_string().size() > 1024) {
      return Status::InvalidArgument("secret must be a string of 1 to 1024 characters");
    }
    // Dropping it would let the sender believe its signatures are checked.
    if (!needs_secret) {
      return Status::InvalidArgument(
          "secret is a signing secret, and nothing would check signatures with it: a custom "
          "source needs auth.hmac (its header, algorithm, encoding), or use a provider kind "
          "that signs (GET /api/v1/providers)");
    }
    source->signing_secret = std::string(secret->as_string());
  } else if (needs_secret && (source->signing_secret.empty() || rotate)) {
    source->signing_secret = "whsec_" + crypto::Base64Encode(crypto::RandomBytes(32));
    issued->secret = source->signing_secret;
  }
  if (!needs_secret) source->signing_secret.clear();
  if (settings.bearer && (source->token_hash.empty() || rotate)) {
    issued->token = "tdt_" + crypto::RandomToken(40);
    source->token_hash = crypto::SecretHash(issued->token);
  }
  if (!settings.bearer) source->token_hash.clear();

  if (creating || body.contains("allowed_ips")) {
    auto ips = StringListField(body, "allowed_ips");
    if (!ips) return ips.error();
    for (const auto& ip : *ips) {
      auto network = IpNetwork::Parse(ip);
      if (!network) return Status::InvalidArgument("allowed_ips: " + network.error().message());
    }
    source->allowed_ips = *ips;
  }
  if (creating || body.contains("allowed_origins")) {
    auto origins = StringListField(body, "allowed_origins");
    if (!origins) return origins.error();
    std::vector<std::string> normalized;
    for (const auto& origin : *origins) {
      auto entry = NormalizeOrigin(origin);
      if (!entry) return entry.error();
      normalized.push_back(std::move(*entry));
    }
    source->allowed_origins = std::move(normalized);
  }
  if (creating || body.contains("delivery_id_header")) {
    auto header = StringField(body, "delivery_id_header", "");
    if (!header) return header.error();
    if (!header->empty() && !IsHeaderToken(*header)) {
      return Status::InvalidArgument("delivery_id_header must be a header name");
    }
    source->delivery_id_header = *header;
  }
  auto max_body = IntField(body, "max_body_bytes", source->max_body_bytes);
  if (!max_body) return max_body.error();
  if (*max_body < 0 || *max_body > kMaxBodyLimit) {
    return Status::InvalidArgument("max_body_bytes must be between 0 (server default) and " +
                                   std::to_string(kMaxBodyLimit));
  }
  source->max_body_bytes = *max_body;

  verify::Secrets secrets;
  if (!source->signing_secret.empty()) secrets.signing.push_back(source->signing_secret);
  if (!source->token_hash.empty()) secrets.bearer_token_sha256.push_back(source->token_hash);
  auto verifier = verify::MakeVerifier(source->kind, settings, secrets);
  if (!verifier) return verifier.error();
  return Status::Ok();
}

// Applies the settable members of `body` to `source`. On create every member may be present;
// on update only the ones sent change.
Status ApplySourceFields(const boost::json::object& body, bool creating, bool rotate,
                         store::Source* source, IssuedSourceSecrets* issued) {
  TRIGGERD_RETURN_IF_ERROR(ApplyIdentity(body, creating, source));
  for (std::string_view kind : {schedule::kScheduleKind, schedule::kPollKind}) {
    if (body.contains(kind) && source->kind != kind) {
      return Status::InvalidArgument("\"" + std::string(kind) + "\" applies to sources of kind \"" +
                                     std::string(kind) + "\" only");
    }
  }
  if (source->generated()) return ApplyGeneratedConfig(body, creating, source);
  return ApplyWebhookFields(body, creating, rotate, source, issued);
}

}  // namespace

std::optional<BodyError> ApplySourceBody(const boost::json::object& body, bool creating,
                                         bool rotate, store::Source* source,
                                         IssuedSourceSecrets* issued) {
  // The handlers answer these with http::ErrorResponse: a BodyError without a field has the
  // same body.
  if (Status s = ApplySourceFields(body, creating, rotate, source, issued); !s.ok()) {
    return BodyError{s, "", std::nullopt};
  }
  return std::nullopt;
}

}  // namespace triggerd::catalog
