// nlfilter: filters generated from a description in natural language ("only when a PR is opened
// with more than 20 changed files"), by a chat model the operator configures (`llm:` in the
// config; POST /api/v1/filters/generate).
//
//   auto model = nlfilter::MakeChatCompletionsModel(config);   // or any ChatModel
//   auto s = nlfilter::Generate(*model, {description, "github", "pull_request", types, samples});
//   if (!s) ...  // s.error().code(): kModelFailedCode (502) or kInvalidFilterCode (422)
//
// The model is told the filter language (its grammar, and its operators from the compiler's own
// table, filter::Operators()), the event type, the field paths of the sample payloads and the
// samples themselves, shrunk to a bounded size. It sees nothing else: no header, no secret, no
// source setting; callers pass payload bodies only. The description is data, not instructions:
// it goes into the user message as a JSON string between markers. The answer's expression is
// compiled by the real compiler; one that does not compile goes back to the model once with the
// compiler's error (a second turn), then the generation fails. Nothing is saved.
//
// Thread safety: Generate is reentrant; a ChatModel implementation says its own (the production
// one is thread-safe). No exceptions cross this interface.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "filter/filter.h"

namespace triggerd::nlfilter {

// ---- The model seam. --------------------------------------------------------------------------

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// Sends a conversation to a chat model and returns the assistant's answer (text). Errors (the
// model unreachable, a timeout, a non-2xx answer, a malformed one) are a Status whose message
// says why for people; it never holds credentials.
class ChatModel {
 public:
  virtual ~ChatModel() = default;
  virtual Result<std::string> Complete(const std::vector<ChatMessage>& messages) = 0;
};

// An OpenAI-compatible chat-completions endpoint: POST {base_url}/chat/completions, the exchange
// the dispatcher's llm target makes (dispatch::CompleteChat over libcurl). Thread-safe.
struct ChatModelConfig {
  std::string base_url;     // e.g. "https://api.openai.com/v1"; http or https
  std::string model;        // e.g. "gpt-4o-mini"
  std::string api_key_env;  // the variable holding the key, read at each call; "" = no key
  int timeout_ms = 30'000;  // per turn; a generation makes at most two turns
};
// kInvalidArgument, message naming the field ("llm.base_url: …"), for a config the llm target
// would refuse.
Result<std::unique_ptr<ChatModel>> MakeChatCompletionsModel(const ChatModelConfig& config);

// ---- Generation. ------------------------------------------------------------------------------

inline constexpr std::size_t kMaxDescriptionChars = 2000;  // UTF-8 code points
inline constexpr std::size_t kMaxSamples = 2;
// Each sample as sent to the model (serialized JSON), after shrinking long strings and arrays.
inline constexpr std::size_t kMaxSampleBytes = 6 * 1024;
// Field paths listed to the model, from all samples together.
inline constexpr std::size_t kMaxFieldPaths = 250;
// The model's own words about its filter, kept in Suggestion::explanation.
inline constexpr std::size_t kMaxExplanationBytes = 2000;

// Error codes of Generate (Status::code()).
inline constexpr std::string_view kModelFailedCode = "llm_failed";  // no usable answer
inline constexpr std::string_view kInvalidFilterCode = "generated_filter_invalid";

// A payload body (never headers) and the event type it was sent as ("" when unknown).
struct Sample {
  boost::json::value payload;
  std::string event_type;
};

struct Request {
  std::string description;               // required; at most kMaxDescriptionChars
  std::string source_kind;               // "github", "custom", ... (context for the model)
  std::string event_type;                // the event type the filter is for; "" = any
  std::vector<std::string> event_types;  // the kind's known event types; may be empty
  // The first kMaxSamples are used; may be empty. Each is evaluated with its own event type as
  // `$event` (the request's when it has none).
  std::vector<Sample> samples;
};

struct SampleResult {
  bool matched = false;
  // filter::Explain, or {"error": {"type", "message"}} when the sample is over the filter's
  // evaluation budget (then matched is false).
  boost::json::value explanation;
};

struct Suggestion {
  std::string filter;                        // compiles; never empty
  std::string explanation;                   // the model's words, "" when it gave none
  std::vector<SampleResult> sample_results;  // one per sample of the request, in order
  int turns = 1;                             // 2 when the first expression had to be repaired
};

// Asks `model` for a filter (at most two turns) and checks it. Errors:
//   kInvalidArgument "invalid_request": empty or too long description
//   code kModelFailedCode: the model failed (its Status message), or answered no expression
//   code kInvalidFilterCode: both expressions failed to compile; the message has the second
//     compiler error, `last` (when not null) receives that expression and its error
// The description checks of Generate, for callers that refuse a bad request before anything
// else: kInvalidArgument when it is blank or longer than kMaxDescriptionChars.
Status CheckDescription(std::string_view description);

struct FailedExpression {
  std::string filter;
  filter::CompileError error;
};
Result<Suggestion> Generate(ChatModel& model, const Request& request,
                            FailedExpression* last = nullptr);

// ---- The steps, exposed for tests and for the API's documentation of what is sent. ----------

// The system message: what a filter is, its syntax, the operators (filter::Operators()), field
// paths, and the answer format.
std::string SystemPrompt();
// The user message: the source kind, event type(s), field paths and shrunk samples, then the
// description as a JSON string between markers.
std::string UserPrompt(const Request& request);
// The follow-up turn after `filter` failed with `error`.
std::string RepairPrompt(std::string_view filter, const filter::CompileError& error);

struct Extracted {
  std::string expression;   // "" when the answer holds none
  std::string explanation;  // the rest of the answer, trimmed, at most kMaxExplanationBytes
};
// The expression of an answer: the content of the first fenced block (```…```) that holds one,
// else the first balanced parenthesised expression of the text.
Extracted ExtractExpression(std::string_view answer);

// `payload` with long strings and arrays shortened (marked "…"), serialized in at most
// `max_bytes` (cut with a marker when even the shortest form is longer).
std::string ShrinkSample(const boost::json::value& payload, std::size_t max_bytes);
// Dotted field paths of a payload as filters write them ("*" for array elements), each once,
// with the JSON kind(s) seen: "pull_request.labels.*.name (string)", shallow paths first, then
// in order of first appearance. At most `max` paths; `omitted` (when not null) receives how many
// more there were.
std::vector<std::string> FieldPaths(const std::vector<boost::json::value>& payloads,
                                    std::size_t max, std::size_t* omitted = nullptr);

}  // namespace triggerd::nlfilter
