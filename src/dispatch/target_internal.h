// Internal to the dispatch targets library: the libcurl exchange the http and llm targets share
// (curl_post.cc), text helpers for error messages, and the per-kind factories MakeTarget
// dispatches to. Not part of the module API; tests may include it.
#pragma once

#include <signal.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dispatch/target.h"

namespace triggerd::dispatch::internal {

// ---- Config (target_config.cc). ------------------------------------------------------------

// The value checks of ParseTargetConfig, for configs built in code (MakeTarget). Messages name
// the field as ParseTargetConfig does ("target.url: …").
Status ValidateTargetConfig(const TargetConfig& config);

// ---- Per-kind factories; `config` has been validated. ---------------------------------------

std::unique_ptr<Target> MakeHttpTarget(const HttpTargetConfig& config);
std::unique_ptr<Target> MakeCommandTarget(const CommandTargetConfig& config);
std::unique_ptr<Target> MakeLlmTarget(const LlmTargetConfig& config);

// Blocks SIGPIPE in the calling thread for its lifetime, so that a write to a pipe or socket
// whose reader has gone fails with EPIPE instead of killing the server; no process-wide signal
// disposition is touched (the server's signal set-up, app/serve.cc, stays its own business).
// A SIGPIPE raised meanwhile is thread-directed and stays pending until ConsumeRaised() takes it
// back; one left pending when the mask is restored would be delivered (default: death).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &set_, &old);
    was_blocked_ = sigismember(&old, SIGPIPE) == 1;
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (!was_blocked_) pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

  // Takes back a SIGPIPE raised since construction, if any. One that was already pending
  // before is not ours and stays (a second one would have merged into it).
  void ConsumeRaised() {
    if (was_pending_) return;
    const timespec zero = {0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

 private:
  sigset_t set_;
  bool was_blocked_ = false;
  bool was_pending_ = false;
};

// Tests only: false makes the command target notice a child's exit by polling waitid instead
// of through a pidfd (its fallback where pidfd_open is unavailable). Not for production use.
void UsePidfdForTesting(bool use);

// ---- One HTTP POST over libcurl (curl_post.cc). ---------------------------------------------

inline constexpr std::string_view kUserAgent = "triggerd";
// At most this much of a failed answer's body, or of a command's stderr, goes into an error.
inline constexpr size_t kErrorSnippetBytes = 512;

struct PostRequest {
  std::string url;
  // Complete header lines ("Name: value"); the caller adds every header it wants (Content-Type,
  // User-Agent, ...); an empty value is written "Name;" (libcurl's spelling). A line holding
  // CR, LF or NUL is refused (PostResponse::refused) rather than sent.
  std::vector<std::string> header_lines;
  std::string_view body;  // must stay valid for the call
  int timeout_ms = 30'000;
};

struct PostResponse {
  // Nothing was sent: the request itself is unusable (a header line with CR/LF), or the outbound
  // policy (outbound/outbound.h) refused every address of the URL's host. Permanent.
  bool refused = false;
  // The transfer failed before a complete answer (no connection, timeout, reset, TLS, ...).
  bool transport_failed = false;
  bool timed_out = false;
  std::string transport_error;  // libcurl's message when transport_failed
  int status = 0;               // the final HTTP status when !transport_failed
  std::string body;             // at most kMaxReplyBytes; the transfer stops there
  bool truncated = false;
  std::optional<std::string> retry_after;  // of the final answer
  std::optional<std::string> location;     // of the final answer
};

// Thread-safe. Blocks for at most about request.timeout_ms. Each thread keeps one libcurl
// handle (and so its connection cache) for all the targets it delivers to.
PostResponse Post(const PostRequest& request);

// The DeliveryResult of an answer that is not a 2xx, or of a failed transfer: retryable for
// transport failures, 408, 429 and 5xx (with retry_after_ms from Retry-After on 429 and 503,
// relative to `now_unix_seconds`); permanent otherwise. REQUIRES: transport_failed or status
// outside 200..299.
DeliveryResult ClassifyFailure(const PostResponse& response, int timeout_ms,
                               int64_t now_unix_seconds);
inline bool IsSuccess(const PostResponse& response) {
  return !response.transport_failed && response.status >= 200 && response.status <= 299;
}

// Retry-After as delta-seconds ("120") or an HTTP-date, in milliseconds from now_unix_seconds
// (a past date is 0). nullopt when the value is neither.
std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix_seconds);

// ---- Text (curl_post.cc). --------------------------------------------------------------------

// At most `max_bytes` from the start (Head) or the end (Tail) of `text`, never splitting a UTF-8
// sequence, with invalid UTF-8 and control characters other than tab and newline replaced by
// '?' and surrounding whitespace dropped, so that an error message stays printable and valid UTF-8
// whatever the agent sent.
std::string HeadSnippet(std::string_view text, size_t max_bytes);
std::string TailSnippet(std::string_view text, size_t max_bytes);
// `text` cut to at most `max_bytes`, backing off to a UTF-8 character boundary when the cut
// would split one (a reply truncated at kMaxReplyBytes).
std::string_view TruncateUtf8(std::string_view text, size_t max_bytes);
// `text` without a UTF-8 sequence left incomplete at its end (by a cut at kMaxReplyBytes made
// without seeing the bytes after it). Text that is not UTF-8 loses at most 3 bytes.
std::string_view DropIncompleteUtf8Tail(std::string_view text);

}  // namespace triggerd::dispatch::internal
