// The http target: POST the run's message, signed the Standard Webhooks way
// (https://www.standardwebhooks.com/, mirrored by verify/standard_webhooks.cc, which tests use to
// check us): webhook-id = the run id (the same on every attempt, so the agent can drop
// duplicates), webhook-timestamp = unix seconds, webhook-signature = "v1," + base64(HMAC-SHA256
// keyed with the base64-decoded part of the secret after "whsec_", over "id.timestamp.body").
#include <utility>

#include "common/crypto.h"
#include "common/headers.h"
#include "dispatch/target_internal.h"

namespace triggerd::dispatch::internal {
namespace {

constexpr std::string_view kSecretPrefix = "whsec_";

class HttpTarget final : public Target {
 public:
  explicit HttpTarget(HttpTargetConfig config) : config_(std::move(config)) {
    for (const auto& [name, value] : config_.headers) {
      if (HeaderNameEquals(name, "Content-Type")) has_content_type_ = true;
      if (HeaderNameEquals(name, "User-Agent")) has_user_agent_ = true;
      // libcurl sends "Name:" as "remove this header" and "Name;" as an empty one.
      configured_lines_.push_back(value.empty() ? name + ";" : name + ": " + value);
    }
  }

  // Target
  DeliveryResult Deliver(const Delivery& delivery) override {
    std::string_view secret = delivery.signing_secret;
    if (secret.starts_with(kSecretPrefix)) secret.remove_prefix(kSecretPrefix.size());
    const std::optional<std::string> key = crypto::Base64Decode(secret);
    if (!key || key->empty()) {
      // Never send unsigned: the agent could not tell us from anyone else.
      DeliveryResult result;
      result.kind = DeliveryResult::Kind::kPermanent;
      result.error = "the agent has no usable signing secret (expected whsec_ and base64)";
      return result;
    }
    const std::string timestamp = std::to_string(delivery.now_unix_seconds);
    const std::string signature =
        "v1," + crypto::Base64Encode(
                    crypto::HmacParts(crypto::DigestAlgorithm::kSha256, *key,
                                      {delivery.run_id, ".", timestamp, ".", delivery.message}));

    PostRequest request;
    request.url = config_.url;
    request.body = delivery.message;
    request.timeout_ms = config_.timeout_ms;
    request.header_lines.reserve(configured_lines_.size() + 6);
    if (!has_content_type_) request.header_lines.push_back("Content-Type: application/json");
    if (!has_user_agent_) request.header_lines.push_back("User-Agent: " + std::string(kUserAgent));
    request.header_lines.push_back("webhook-id: " + delivery.run_id);
    request.header_lines.push_back("webhook-timestamp: " + timestamp);
    request.header_lines.push_back("webhook-signature: " + signature);
    request.header_lines.push_back("X-Triggerd-Attempt: " + std::to_string(delivery.attempt));
    request.header_lines.insert(request.header_lines.end(), configured_lines_.begin(),
                                configured_lines_.end());

    PostResponse response = Post(request);
    if (!IsSuccess(response)) {
      return ClassifyFailure(response, config_.timeout_ms, delivery.now_unix_seconds);
    }
    DeliveryResult result;
    result.kind = DeliveryResult::Kind::kSucceeded;
    if (response.truncated) {
      result.reply = std::string(DropIncompleteUtf8Tail(response.body));
    } else {
      result.reply = std::move(response.body);
    }
    return result;
  }

 private:
  const HttpTargetConfig config_;
  std::vector<std::string> configured_lines_;
  bool has_content_type_ = false;
  bool has_user_agent_ = false;
};

}  // namespace

std::unique_ptr<Target> MakeHttpTarget(const HttpTargetConfig& config) {
  return std::make_unique<HttpTarget>(config);
}

}  // namespace triggerd::dispatch::internal
