// The HTTP exchange of the http and llm targets: one POST over libcurl's easy interface, a
// handle per thread so that keep-alive connections are reused across attempts, and the mapping
// from an answer to a DeliveryResult.
#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "common/headers.h"
#include "common/utf8.h"
#include "dispatch/target_internal.h"
#include "outbound/curl_guard.h"

namespace triggerd::dispatch::internal {
namespace {

constexpr long kMaxConnectTimeoutMs = 10'000;
// Retry-After beyond this is clamped (the dispatcher caps it at its max_backoff anyway); keeps
// the arithmetic far from overflow.
constexpr int64_t kMaxRetryAfterSeconds = 365LL * 24 * 3600;

// The thread's libcurl handle. curl_easy_reset between uses keeps the connection and DNS caches,
// so consecutive attempts from one worker to one agent reuse the connection.
struct ThreadHandle {
  CURL* curl = nullptr;
  // The outbound policy the cached connections were checked against.
  std::shared_ptr<const outbound::Policy> policy;
  ~ThreadHandle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

// The thread's handle and the outbound policy its transfer is checked against. A new policy (a
// config reload) gets a new handle: a connection kept alive from before must not outlive the
// policy that allowed it.
CURL* AcquireHandle(std::shared_ptr<const outbound::Policy>* policy) {
  if (!outbound::InitCurlOnce()) return nullptr;
  thread_local ThreadHandle handle;
  *policy = outbound::ProcessPolicy();
  if (handle.curl != nullptr && handle.policy != *policy) {
    curl_easy_cleanup(handle.curl);
    handle.curl = nullptr;
  }
  if (handle.curl == nullptr) handle.curl = curl_easy_init();
  handle.policy = *policy;
  return handle.curl;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<PostResponse*>(user);
  const size_t length = size * count;
  const size_t room = kMaxReplyBytes - response->body.size();
  if (length > room) {
    // Keep what fits and stop the transfer: an endless or huge body must not hold a worker.
    response->body.append(data, room);
    response->truncated = true;
    return 0;  // != length: libcurl aborts with CURLE_WRITE_ERROR, which Post accepts
  }
  response->body.append(data, length);
  return length;
}

std::string_view TrimWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<PostResponse*>(user);
  const size_t length = size * count;
  const std::string_view line(data, length);
  if (line.starts_with("HTTP/")) {
    // A new status line (after a 100 Continue, say): only the final answer's headers count.
    response->retry_after.reset();
    response->location.reset();
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = TrimWhitespace(line.substr(colon + 1));
  if (HeaderNameEquals(name, "Retry-After")) {
    response->retry_after = std::string(value);
  } else if (HeaderNameEquals(name, "Location")) {
    response->location = std::string(value.substr(0, 2 * kErrorSnippetBytes));
  }
  return length;
}

bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos || s.find('\0') != s.npos;
}

// Printable, valid UTF-8, no surrounding whitespace: fit for an error message.
std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    const char c = text[i];
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else if (n == 1 &&
               ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f)) {
      out.push_back('?');
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  const size_t start = out.find_first_not_of(" \t\n");
  return start == std::string::npos ? std::string() : out.substr(start);
}

}  // namespace

std::string_view TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Back off over continuation bytes (at most 3) so the cut does not split a character.
  for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++k) {
    --cut;
  }
  return text.substr(0, cut);
}

std::string_view DropIncompleteUtf8Tail(std::string_view text) {
  // Find the last lead byte among the final 4 and check that its sequence is complete.
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    const auto c = static_cast<unsigned char>(text[text.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    return need > back ? text.substr(0, text.size() - back) : text;
  }
  return text;
}

std::string HeadSnippet(std::string_view text, size_t max_bytes) {
  return Sanitize(TruncateUtf8(text, max_bytes));
}

std::string TailSnippet(std::string_view text, size_t max_bytes) {
  // Trailing newlines are not worth the room.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() > max_bytes) {
    size_t start = text.size() - max_bytes;
    for (int k = 0;
         k < 3 && start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80;
         ++k) {
      ++start;
    }
    text.remove_prefix(start);
  }
  return Sanitize(text);
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, int64_t now_unix_seconds) {
  value = TrimWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range || seconds > kMaxRetryAfterSeconds) {
      seconds = kMaxRetryAfterSeconds;
    } else if (ec != std::errc()) {
      return std::nullopt;
    }
    return seconds * 1000;
  }
  // An HTTP-date (RFC 9110 IMF-fixdate, or the obsolete forms libcurl also reads).
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const int64_t delta =
      std::clamp<int64_t>(static_cast<int64_t>(when) - now_unix_seconds, 0, kMaxRetryAfterSeconds);
  return delta * 1000;
}

PostResponse Post(const PostRequest& request) {
  PostResponse response;
  for (const auto& line : request.header_lines) {
    if (HasLineBreak(line)) {
      response.refused = true;
      response.transport_error = "refusing to send a header value holding CR, LF or NUL";
      return response;
    }
  }
  std::shared_ptr<const outbound::Policy> policy;
  CURL* curl = AcquireHandle(&policy);
  if (curl == nullptr) {
    response.transport_failed = true;
    response.transport_error = "libcurl could not be initialised";
    return response;
  }
  curl_slist* headers = nullptr;
  bool out_of_memory = false;
  for (const auto& line : request.header_lines) {
    curl_slist* next = curl_slist_append(headers, line.c_str());
    if (next == nullptr) {
      out_of_memory = true;
      break;
    }
    headers = next;
  }
  // libcurl would add "Expect: 100-continue" to a large body and wait up to a second for an
  // answer many servers never send.
  if (curl_slist* next = curl_slist_append(headers, "Expect:")) {
    headers = next;
  } else {
    out_of_memory = true;
  }
  if (out_of_memory) {
    curl_slist_free_all(headers);
    response.transport_failed = true;
    response.transport_error = "out of memory building the request headers";
    return response;
  }

  char error[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = request.timeout_ms;
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, kMaxConnectTimeoutMs));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  // Never nullptr (an empty default string_view): libcurl would then read the body from stdin.
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);

  // Every connection this transfer opens is checked against the outbound policy first.
  outbound::CurlGuard guard(curl, std::move(policy));
  CURLcode code;
  {
    // libcurl sends with MSG_NOSIGNAL, but a TLS library writing to a reset connection may
    // still raise SIGPIPE; it must not take the server down.
    ScopedSigpipeBlock sigpipe;
    code = curl_easy_perform(curl);
    sigpipe.ConsumeRaised();
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // Leave no pointer into this frame behind in the handle (the connections stay cached).
  curl_easy_reset(curl);
  curl_slist_free_all(headers);

  if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && response.truncated)) {
    response.status = static_cast<int>(status);
    return response;
  }
  if (guard.Refused(code)) {
    // No connection was opened: retrying cannot help until the policy changes.
    response.refused = true;
    response.transport_error = guard.refusal();
    return response;
  }
  response.transport_failed = true;
  response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
  response.transport_error = error[0] != '\0' ? std::string(error) : curl_easy_strerror(code);
  return response;
}

DeliveryResult ClassifyFailure(const PostResponse& response, int timeout_ms,
                               int64_t now_unix_seconds) {
  DeliveryResult result;
  if (response.refused) {
    result.kind = DeliveryResult::Kind::kPermanent;
    result.error = response.transport_error;
    return result;
  }
  result.kind = DeliveryResult::Kind::kRetryable;
  if (response.transport_failed) {
    result.error = response.timed_out ? "timed out after " + std::to_string(timeout_ms) +
                                            " ms: " + response.transport_error
                                      : response.transport_error;
    return result;
  }
  const int status = response.status;
  const bool retryable = status == 408 || status == 429 || (status >= 500 && status <= 599);
  if (!retryable) result.kind = DeliveryResult::Kind::kPermanent;
  result.error = "HTTP " + std::to_string(status);
  if (status >= 300 && status <= 399) {
    result.error += " (redirects are not followed";
    if (response.location) {
      result.error += "; Location: " + HeadSnippet(*response.location, kErrorSnippetBytes);
    }
    result.error += ")";
  }
  const std::string body = HeadSnippet(response.body, kErrorSnippetBytes);
  if (!body.empty()) result.error += ": " + body;
  if ((status == 429 || status == 503) && response.retry_after) {
    result.retry_after_ms = ParseRetryAfter(*response.retry_after, now_unix_seconds);
  }
  return result;
}

}  // namespace triggerd::dispatch::internal

namespace triggerd::dispatch {

PostOutcome PostOnce(const std::string& url, const std::vector<std::string>& header_lines,
                     std::string_view body, int timeout_ms) {
  internal::PostResponse response =
      internal::Post({.url = url, .header_lines = header_lines, .body = body, .timeout_ms = timeout_ms});
  PostOutcome outcome;
  if (response.refused || response.transport_failed) {
    outcome.transport_error = response.transport_error.empty() ? "the request failed"
                                                               : response.transport_error;
    return outcome;
  }
  outcome.status = response.status;
  outcome.body = std::move(response.body);
  return outcome;
}

}  // namespace triggerd::dispatch
