// The production ChatModel: an OpenAI-compatible chat-completions endpoint, through the exchange
// the dispatcher's llm target makes (dispatch::CompleteChat), so the wire format, the key
// handling and the answer checks live in one place.
#include <ctime>
#include <string>
#include <utility>

#include "dispatch/target.h"
#include "nlfilter/nlfilter.h"

namespace triggerd::nlfilter {
namespace {

class ChatCompletionsModel final : public ChatModel {
 public:
  explicit ChatCompletionsModel(dispatch::LlmTargetConfig config) : config_(std::move(config)) {}

  // ChatModel
  Result<std::string> Complete(const std::vector<ChatMessage>& messages) override {
    std::vector<dispatch::ChatMessage> wire;
    wire.reserve(messages.size());
    for (const ChatMessage& m : messages) wire.push_back({m.role, m.content});
    // The time only dates a Retry-After, which a generation does not honour.
    dispatch::DeliveryResult result =
        dispatch::CompleteChat(config_, wire, static_cast<int64_t>(std::time(nullptr)));
    if (result.kind == dispatch::DeliveryResult::Kind::kSucceeded) return std::move(result.reply);
    return Status(ErrorType::kUnavailable, std::string(kModelFailedCode), std::move(result.error));
  }

 private:
  const dispatch::LlmTargetConfig config_;
};

}  // namespace

Result<std::unique_ptr<ChatModel>> MakeChatCompletionsModel(const ChatModelConfig& config) {
  dispatch::TargetConfig target;
  target.type = dispatch::TargetType::kLlm;
  target.llm = {config.base_url, config.model, config.api_key_env, config.timeout_ms};
  // The llm target's own checks, so both accept the same endpoints.
  if (auto made = dispatch::MakeTarget(target); !made) {
    std::string message = made.error().message();
    if (message.starts_with("target.")) message = "llm." + message.substr(7);
    return Status::InvalidArgument(std::move(message), "invalid_config");
  }
  return std::unique_ptr<ChatModel>(std::make_unique<ChatCompletionsModel>(target.llm));
}

}  // namespace triggerd::nlfilter
