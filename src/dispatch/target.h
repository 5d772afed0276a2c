// dispatch/target: how one attempt of a run reaches an agent. Three kinds of target, configured
// per agent (store::Agent::target_json, api.md "Agents"):
//
//   http     POST the run's message (JSON) to a URL, signed the Standard Webhooks way
//            (webhook-id = run id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>"
//            keyed by the agent's whsec_ secret), plus the configured headers; the response body
//            is the reply.
//   command  run a program (argv, never a shell) with the payload on stdin and TRIGGER_PAYLOAD,
//            TRIGGER_EVENT_ID, TRIGGER_RUN_ID, TRIGGER_SOURCE_ID, TRIGGER_TRIGGER_ID,
//            TRIGGER_AGENT_ID, TRIGGER_ATTEMPT in its environment (on top of the server's);
//            exit 0 = success, stdout = the reply. A run started by a Dagu-style webhook (event
//            type kDaguWebhookEventType, docs/COMPATIBILITY.md) also gets what a Dagu step sees:
//            WEBHOOK_PAYLOAD (the payload), WEBHOOK_HEADERS ({}: no headers forwarded) and
//            DAG_RUN_ID (the dagRunId, the event's delivery id).
//   llm      POST {base_url}/chat/completions (OpenAI-compatible) with the agent's instructions
//            as the system message and the run's message as the user message; the assistant
//            message is the reply. The API key is read from the environment variable named in
//            the config at each attempt (so it can be rotated without touching the agent).
//
// Every attempt is bounded in time (timeout_ms; a command is killed, its whole process group)
// and in memory (replies and captured output are truncated at kMaxReplyBytes).
// No exceptions cross this interface.
//
// Details the agent side can rely on (and docs should mirror):
//   http/llm  Content-Type: application/json, User-Agent: triggerd, X-Triggerd-Attempt
//             (1-based) and, llm only, X-Triggerd-Run-Id (the idempotency key). Redirects are not
//             followed (a 3xx is a permanent failure). Connections are kept alive and reused per
//             worker thread. Proxies follow libcurl's environment variables (https_proxy,
//             no_proxy, ...). A reply over kMaxReplyBytes is cut there and the transfer stopped.
//   command   The child runs in its own process group, with every inherited descriptor >= 3
//             closed, an empty signal mask and default signal dispositions. stdin carries the
//             payload, or the message when the trigger excludes the payload; TRIGGER_PAYLOAD
//             carries the same text only when it is at most kMaxEnvPayloadBytes (and holds no
//             NUL byte), else it is absent and TRIGGER_PAYLOAD_TRUNCATED=1. Same-named variables
//             of the server's environment are replaced. A Dagu run's WEBHOOK_PAYLOAD carries
//             the payload when its whole entry fits Linux's per-string limit (kMaxEnvStringBytes:
//             payloads up to kMaxDaguEnvPayloadBytes), else it is absent and
//             WEBHOOK_PAYLOAD_TRUNCATED=1 (where Dagu's own step would fail to start, E2BIG);
//             WEBHOOK_PAYLOAD, WEBHOOK_PAYLOAD_TRUNCATED, WEBHOOK_HEADERS and DAG_RUN_ID of the
//             server's environment never reach any command. A child that exits leaving background
//             processes holding its stdout is not waited for: the reply is what it wrote by then.
//             On timeout the group gets SIGTERM, then SIGKILL after kCommandKillGraceMs.
//             SIGPIPE: the writing thread blocks it while it feeds stdin and consumes the one a
//             write to a closed pipe raises; no process-wide signal disposition is changed.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace triggerd::dispatch {

inline constexpr size_t kMaxReplyBytes = 1024 * 1024;
// Larger payloads are not put in TRIGGER_PAYLOAD (Linux refuses any single environment string
// over 128 KiB, MAX_ARG_STRLEN, and all of them together share ARG_MAX).
inline constexpr size_t kMaxEnvPayloadBytes = 64 * 1024;
// Linux's MAX_ARG_STRLEN (32 pages of 4 KiB): execve refuses (E2BIG) any one environment entry
// longer than this, "NAME=value" and its NUL counted.
inline constexpr size_t kMaxEnvStringBytes = 32 * 4096;
// The event type of a run started by a Dagu-style webhook (api/compat/dagu_webhooks.cc).
inline constexpr std::string_view kDaguWebhookEventType = "dagu.webhook";
// The largest payload a Dagu run's WEBHOOK_PAYLOAD carries: the entry "WEBHOOK_PAYLOAD=<payload>"
// and its NUL within kMaxEnvStringBytes (131,055 bytes). Dagu itself passes any size and its step
// fails to start above this; ours starts without the variable (the payload is still on stdin).
// Both payload variables at their limits stay far below ARG_MAX (2 MiB with the default stack).
inline constexpr size_t kMaxDaguEnvPayloadBytes =
    kMaxEnvStringBytes - std::string_view("WEBHOOK_PAYLOAD=").size() - 1;
// Between the SIGTERM and the SIGKILL sent to a timed-out command's process group.
inline constexpr int kCommandKillGraceMs = 1000;
inline constexpr int kMinTimeoutMs = 1;
inline constexpr int kMaxTimeoutMs = 3'600'000;

struct HttpTargetConfig {
  std::string url;  // http:// or https:// with a host; at most 8192 characters
  // Extra request headers, in order (the JSON shape is an object {name: value}). Names are
  // RFC 9110 tokens, unique ignoring case; values have no control characters (CR, LF, NUL, …).
  // At most 64. Refused: Host, Content-Length, Transfer-Encoding, Connection, Expect, TE,
  // Upgrade, Trailer, Keep-Alive, webhook-* and X-Triggerd-* (framing, or ours). Content-Type
  // and User-Agent replace the defaults.
  std::vector<std::pair<std::string, std::string>> headers;
  int timeout_ms = 30'000;  // the whole exchange; connecting gets at most 10 s of it

  bool operator==(const HttpTargetConfig&) const = default;
};

struct CommandTargetConfig {
  // argv[0] is an absolute path (no PATH lookup, no shell); 1..1024 entries, none holding a NUL.
  std::vector<std::string> argv;
  std::string cwd;          // working directory, absolute; "" = the server's
  int timeout_ms = 60'000;  // then SIGTERM, and SIGKILL kCommandKillGraceMs later

  bool operator==(const CommandTargetConfig&) const = default;
};

struct LlmTargetConfig {
  // e.g. "https://api.openai.com/v1" (no trailing /chat/completions; a trailing / is fine); http
  // or https, no query or fragment.
  std::string base_url;
  std::string model;  // required, 1..256 printable characters
  // Name of the environment variable holding the API key ([A-Za-z_][A-Za-z0-9_]*); "" = send
  // no Authorization (a local model server).
  std::string api_key_env;
  int timeout_ms = 120'000;

  bool operator==(const LlmTargetConfig&) const = default;
};

enum class TargetType { kHttp, kCommand, kLlm };

struct TargetConfig {
  TargetType type = TargetType::kHttp;
  HttpTargetConfig http;        // when type == kHttp
  CommandTargetConfig command;  // when type == kCommand
  LlmTargetConfig llm;          // when type == kLlm

  // Compares only the member that `type` selects.
  bool operator==(const TargetConfig& other) const;
};

// [A-Za-z_][A-Za-z0-9_]*, at most 128 characters: what an llm target's api_key_env may be (the
// config file's list of allowed names, app/config.cc, is checked with it too).
bool IsEnvironmentVariableName(std::string_view name);

// "http" | "command" | "llm".
std::string_view TargetTypeName(TargetType type);
// The configured timeout of the selected target. Deliver returns within about this (a command:
// plus kCommandKillGraceMs and the reaping), so a lease must be longer.
int TargetTimeoutMs(const TargetConfig& config);

// Validates a target object as the API receives it ({"type":"http","url":…}, api.md). Unknown
// fields, wrong types, a missing url/argv/base_url/model, a relative argv[0], a timeout outside
// 1..3,600,000 ms: kInvalidArgument whose message names the field (e.g. "target.url: …").
// A field of another type ("argv" in an http target) is an unknown field. null for an optional
// field (headers, cwd, api_key_env, timeout_ms) means its default.
Result<TargetConfig> ParseTargetConfig(const boost::json::value& target);
Result<TargetConfig> ParseTargetConfigText(std::string_view json_text);  // as stored
// The canonical JSON object (every field, defaults filled in); stored as Agent::target_json and
// shown by the API. Round-trips through ParseTargetConfig.
boost::json::object TargetConfigToJson(const TargetConfig& config);

// Credentials in a target are write-only, like the agent's signing secret (common/redact.h): an
// http target's header values read as "[redacted]", its URL's password and query values as
// "redacted", to every role.
TargetConfig RedactTargetConfig(TargetConfig config);
// The target to store when `submitted` replaces `stored` (nullopt: a new agent): a header whose
// value is "[redacted]" keeps the value of the stored header of that name (ignoring case), and
// the URL's markers the stored URL's values (RestoreRedactedUrl), so a target read from the API,
// edited and sent back keeps its credentials. kInvalidArgument naming the field
// ("target.headers.<name>: …", "target.url: …") for a marker with no stored value, or when the
// URL's origin changed: a stored credential is never sent to another origin.
Result<TargetConfig> RestoreRedactedValues(TargetConfig submitted,
                                           const std::optional<TargetConfig>& stored);

// One attempt of one run, everything a target needs. Plain data, no store types.
struct Delivery {
  std::string run_id;  // the idempotency key (webhook-id, TRIGGER_RUN_ID)
  std::string event_id;
  std::string source_id;
  std::string trigger_id;
  std::string agent_id;
  // The event's type and delivery id ("" when none). kDaguWebhookEventType gives a command
  // Dagu's variables, the delivery id being its DAG_RUN_ID.
  std::string event_type;
  std::string delivery_id;
  int attempt = 1;               // 1-based
  std::string message;           // the run's message (JSON text): http body, llm user message
  std::string payload;           // the event payload (JSON text), "" when the trigger excludes it
  std::string instructions;      // the agent's; the llm system message
  std::string signing_secret;    // the agent's whsec_… secret (http; required there: an http
                                 // attempt without a usable secret fails permanently, unsigned)
  int64_t now_unix_seconds = 0;  // webhook-timestamp
};

// The outcome of one attempt.
struct DeliveryResult {
  enum class Kind {
    kSucceeded,  // reply holds the agent's answer
    kRetryable,  // timeouts, connection errors, 408, 429, 5xx, a killed or crashed command, a
                 // non-zero exit status
    kPermanent,  // other 4xx, 3xx, a malformed llm answer, a missing API key variable, a command
                 // that cannot be started (no such file, not executable)
  };
  Kind kind = Kind::kSucceeded;
  // kSucceeded: the reply, as the agent sent it (bytes, not checked to be UTF-8), cut at
  // kMaxReplyBytes (backing off so as not to split a UTF-8 character).
  std::string reply;
  // Otherwise, for people; printable, valid UTF-8, quoting at most 512 bytes of the agent:
  //   "HTTP 503: <start of body>", "HTTP 302 (redirects are not followed; Location: …)",
  //   "timed out after 3000 ms: <libcurl's message>", "exit status 2: <end of stderr>",
  //   "killed by signal 9 (SIGKILL): <end of stderr>",
  //   "timed out after 3000 ms, killed by signal 15 (SIGTERM): <end of stderr>",
  //   "cannot start /opt/agent: No such file or directory (ENOENT)", "malformed chat
  //   completion: …", "the API key variable OPENAI_API_KEY (api_key_env) is not set …"
  std::string error;
  std::optional<int64_t> retry_after_ms;  // a Retry-After the target sent (429/503), if any
};

// Executes attempts against one configured target. Thread-safe: many dispatch workers call
// Deliver concurrently. Deliver blocks for at most about the config's timeout (a command: plus
// kCommandKillGraceMs and the time to reap it). Immutable after MakeTarget.
class Target {
 public:
  virtual ~Target() = default;
  virtual DeliveryResult Deliver(const Delivery& delivery) = 0;
};

// kInvalidArgument for a config that ParseTargetConfig would refuse.
Result<std::unique_ptr<Target>> MakeTarget(const TargetConfig& config);

// One POST outside any run (`triggerd send`): the exchange the http target makes, so the same
// rules hold (redirects not followed, reply cut at kMaxReplyBytes, header lines "Name: value"
// holding CR/LF refused unsent). `transport_error` is set, and `status` 0, when no complete
// answer arrived.
struct PostOutcome {
  int status = 0;
  std::string body;
  std::string transport_error;
};
PostOutcome PostOnce(const std::string& url, const std::vector<std::string>& header_lines,
                     std::string_view body, int timeout_ms);

// One chat completion outside any run (src/nlfilter: filters generated from a description): the
// exchange the llm target makes (same URL, headers, API key handling, answer checks and limits),
// with the caller's messages and without the run headers. kSucceeded: `reply` is
// choices[0].message.content. Otherwise `error` says why, never quoting the key: kRetryable for
// no answer, a timeout, 408, 429 and 5xx; kPermanent for other statuses, a malformed answer, a
// missing or unusable key variable. REQUIRES: `config` passes ParseTargetConfig's checks.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};
DeliveryResult CompleteChat(const LlmTargetConfig& config, const std::vector<ChatMessage>& messages,
                            int64_t now_unix_seconds);

}  // namespace triggerd::dispatch
