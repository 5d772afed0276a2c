// The llm target: one OpenAI-compatible chat completion per attempt,
//   POST {base_url}/chat/completions
//   {"model": …, "messages": [{"role":"system","content": instructions},
//                             {"role":"user","content": message}]}
// and the reply is choices[0].message.content. The API key is read from the named environment
// variable at every attempt, so rotating it needs no change to the agent (and it is never
// stored). The system message is left out when the agent has no instructions. CompleteChat
// (target.h) makes the same exchange with a caller's messages.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <utility>
#include <vector>

#include "dispatch/target_internal.h"

namespace triggerd::dispatch::internal {
namespace {

DeliveryResult Permanent(std::string error) {
  DeliveryResult result;
  result.kind = DeliveryResult::Kind::kPermanent;
  result.error = std::move(error);
  return result;
}

std::string BuildBody(const std::string& model, const std::vector<ChatMessage>& messages) {
  boost::json::array array;
  for (const ChatMessage& m : messages) {
    array.push_back(boost::json::object{{"role", m.role}, {"content", m.content}});
  }
  return boost::json::serialize(
      boost::json::object{{"model", model}, {"messages", std::move(array)}});
}

// choices[0].message.content, or an error saying what is missing.
DeliveryResult ExtractReply(const PostResponse& response) {
  constexpr std::string_view kMalformed = "malformed chat completion: ";
  if (response.truncated) {
    return Permanent(std::string(kMalformed) + "the answer is larger than " +
                     std::to_string(kMaxReplyBytes) + " bytes");
  }
  boost::system::error_code ec;
  const boost::json::value answer = boost::json::parse(response.body, ec);
  if (ec) {
    return Permanent(std::string(kMalformed) + "not JSON (" + ec.message() +
                     "): " + HeadSnippet(response.body, kErrorSnippetBytes));
  }
  const boost::json::object* root = answer.if_object();
  const boost::json::array* choices = nullptr;
  if (root != nullptr) {
    if (const boost::json::value* v = root->if_contains("choices")) choices = v->if_array();
  }
  if (choices == nullptr || choices->empty()) {
    std::string error = std::string(kMalformed) + "no choices";
    // Some gateways answer 200 with an OpenAI-style {"error": {...}}.
    if (root != nullptr && root->contains("error")) {
      error += ": " + HeadSnippet(boost::json::serialize(root->at("error")), kErrorSnippetBytes);
    }
    return Permanent(std::move(error));
  }
  const boost::json::object* choice = choices->front().if_object();
  const boost::json::object* message = nullptr;
  if (choice != nullptr) {
    if (const boost::json::value* v = choice->if_contains("message")) message = v->if_object();
  }
  if (message == nullptr) return Permanent(std::string(kMalformed) + "choices[0].message absent");
  const boost::json::value* content = message->if_contains("content");
  if (content == nullptr || !content->is_string()) {
    // null content: the model answered with a tool call or a refusal, which no agent here asks
    // for.
    return Permanent(std::string(kMalformed) + "choices[0].message.content is not a string");
  }
  const boost::json::string& text = content->get_string();
  DeliveryResult result;
  result.kind = DeliveryResult::Kind::kSucceeded;
  result.reply =
      std::string(TruncateUtf8(std::string_view(text.data(), text.size()), kMaxReplyBytes));
  return result;
}

std::string ChatUrl(std::string_view base) {
  while (base.ends_with('/')) base.remove_suffix(1);
  return std::string(base) + "/chat/completions";
}

// One exchange with the endpoint: shared by the llm target (with its run headers) and
// CompleteChat (without), so both send and check the same way.
DeliveryResult Exchange(const LlmTargetConfig& config, const std::string& url,
                        const std::vector<ChatMessage>& messages,
                        std::vector<std::string> extra_header_lines, int64_t now_unix_seconds) {
  PostRequest request;
  request.url = url;
  request.timeout_ms = config.timeout_ms;
  request.header_lines = {
      "Content-Type: application/json",
      "Accept: application/json",
      "User-Agent: " + std::string(kUserAgent),
  };
  for (std::string& line : extra_header_lines) request.header_lines.push_back(std::move(line));
  if (!config.api_key_env.empty()) {
    // Read at each attempt: rotation needs no restart. The key never goes into an error.
    const char* key = std::getenv(config.api_key_env.c_str());
    if (key == nullptr) {
      return Permanent("the API key variable " + config.api_key_env +
                       " (api_key_env) is not set in the server's environment");
    }
    const std::string_view key_view(key);
    if (key_view.empty()) {
      return Permanent("the API key variable " + config.api_key_env + " (api_key_env) is empty");
    }
    if (key_view.find_first_of("\r\n") != std::string_view::npos) {
      return Permanent("the API key variable " + config.api_key_env +
                       " (api_key_env) holds a line break");
    }
    request.header_lines.push_back("Authorization: Bearer " + std::string(key_view));
  }
  const std::string body = BuildBody(config.model, messages);
  request.body = body;

  const PostResponse response = Post(request);
  if (!IsSuccess(response)) {
    return ClassifyFailure(response, config.timeout_ms, now_unix_seconds);
  }
  return ExtractReply(response);
}

class LlmTarget final : public Target {
 public:
  explicit LlmTarget(LlmTargetConfig config)
      : config_(std::move(config)), url_(ChatUrl(config_.base_url)) {}

  // Target
  DeliveryResult Deliver(const Delivery& delivery) override {
    std::vector<ChatMessage> messages;
    if (!delivery.instructions.empty()) messages.push_back({"system", delivery.instructions});
    messages.push_back({"user", delivery.message});
    return Exchange(config_, url_, messages,
                    {"X-Triggerd-Run-Id: " + delivery.run_id,
                     "X-Triggerd-Attempt: " + std::to_string(delivery.attempt)},
                    delivery.now_unix_seconds);
  }

 private:
  const LlmTargetConfig config_;
  const std::string url_;
};

}  // namespace

std::unique_ptr<Target> MakeLlmTarget(const LlmTargetConfig& config) {
  return std::make_unique<LlmTarget>(config);
}

}  // namespace triggerd::dispatch::internal

namespace triggerd::dispatch {

DeliveryResult CompleteChat(const LlmTargetConfig& config, const std::vector<ChatMessage>& messages,
                            int64_t now_unix_seconds) {
  return internal::Exchange(config, internal::ChatUrl(config.base_url), messages, {},
                            now_unix_seconds);
}

}  // namespace triggerd::dispatch
