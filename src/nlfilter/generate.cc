// The compile/repair loop: ask, extract, compile with the real compiler, and give the model one
// chance to fix an expression that does not compile, telling it the compiler's error.
#include <string>
#include <utility>

#include "common/utf8.h"
#include "nlfilter/internal.h"
#include "nlfilter/nlfilter.h"

namespace triggerd::nlfilter {
namespace {

// The model's answer quoted in an error: enough to see what went wrong.
constexpr std::size_t kAnswerSnippetBytes = 300;
constexpr int kMaxTurns = 2;

std::size_t CodePoints(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

Status ModelFailed(std::string message) {
  return Status(ErrorType::kUnavailable, std::string(kModelFailedCode), std::move(message));
}

}  // namespace

Status CheckDescription(std::string_view description) {
  if (description.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument(
        "description is required: say in words which events should wake the agent");
  }
  if (CodePoints(description) > kMaxDescriptionChars) {
    return Status::InvalidArgument("description is longer than " +
                                   std::to_string(kMaxDescriptionChars) + " characters");
  }
  return Status::Ok();
}

Result<Suggestion> Generate(ChatModel& model, const Request& request, FailedExpression* last) {
  TRIGGERD_RETURN_IF_ERROR(CheckDescription(request.description));
  std::vector<ChatMessage> messages = {{"system", SystemPrompt()}, {"user", UserPrompt(request)}};
  for (int turn = 1;; ++turn) {
    Result<std::string> answer = model.Complete(messages);
    if (!answer) return ModelFailed("the model failed: " + answer.error().message());
    // Model output is bytes; everything we echo of it must be valid UTF-8 JSON text.
    const std::string text = RepairUtf8(*answer);
    Extracted extracted = ExtractExpression(text);
    if (extracted.expression.empty()) {
      return ModelFailed("the model's answer holds no filter expression: \"" +
                         internal::CutUtf8(text, kAnswerSnippetBytes) + "\"");
    }
    filter::CompileError error;
    Result<filter::CompiledFilter> compiled = filter::Compile(extracted.expression, &error);
    if (compiled && compiled->matches_everything()) {
      // Only comments: a "filter" that wakes on everything is not an answer to a description.
      compiled = Status::InvalidArgument("empty filter", "invalid_filter");
      error = {1, 1, "the filter is empty (only comments)"};
    }
    if (compiled) {
      Suggestion suggestion;
      suggestion.filter = std::move(extracted.expression);
      suggestion.explanation = std::move(extracted.explanation);
      suggestion.turns = turn;
      for (std::size_t i = 0; i < request.samples.size() && i < kMaxSamples; ++i) {
        const Sample& sample = request.samples[i];
        const filter::EvalContext context{
            sample.payload,
            nullptr,
            sample.event_type.empty() ? request.event_type : sample.event_type,
            {}};
        // The explanation's result is the filter's; a sample it cannot afford (over the
        // evaluation budget) is no match, and says why.
        Result<boost::json::value> explained = filter::Explain(*compiled, context);
        if (explained) {
          const bool matched = explained->at("result").as_bool();
          suggestion.sample_results.push_back({matched, std::move(explained).value()});
        } else {
          suggestion.sample_results.push_back(
              {false, boost::json::object{{"error",
                                           {{"type", explained.error().code()},
                                            {"message", explained.error().message()}}}}});
        }
      }
      return suggestion;
    }
    if (turn == kMaxTurns) {
      if (last != nullptr) *last = {extracted.expression, error};
      return Status(ErrorType::kInvalidArgument, std::string(kInvalidFilterCode),
                    "the model's filter does not compile, even after it was told the error: " +
                        error.ToString());
    }
    messages.push_back({"assistant", text});
    messages.push_back({"user", RepairPrompt(extracted.expression, error)});
  }
}

}  // namespace triggerd::nlfilter
