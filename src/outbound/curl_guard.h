// libcurl under the outbound policy (outbound/outbound.h): the one piece of curl glue that every
// libcurl caller in triggerd uses (dispatch/curl_post.cc, schedule/poll.cc), so that no
// connection is opened that the policy refuses.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "outbound/outbound.h"

namespace triggerd::outbound {

// Checks every connection the transfers on one easy handle open: CURLOPT_OPENSOCKETFUNCTION sees
// the address libcurl is about to connect to (after DNS, per attempt: every address of a name,
// each happy-eyeballs try, each DNS answer), and a refused one gets no socket, so no packet
// leaves. With an HTTP proxy (libcurl honours http_proxy / https_proxy / ALL_PROXY) the address
// checked is the proxy's; the proxy decides where it connects. A connection libcurl reuses from
// its cache was checked when it was opened.
//
// REQUIRES: `curl` outlives the guard, and the guard outlives the transfers it watches (the
// callback points at it); the destructor takes the callback off the handle again.
class CurlGuard {
 public:
  // `policy`: normally ProcessPolicy(), taken once per transfer. A policy that denies nothing
  // installs no callback.
  CurlGuard(CURL* curl, std::shared_ptr<const Policy> policy);
  ~CurlGuard();
  CurlGuard(const CurlGuard&) = delete;
  CurlGuard& operator=(const CurlGuard&) = delete;

  // The first refusal, e.g. "outbound policy refused 169.254.169.254 (outbound.deny_networks:
  // link-local)"; "" when every connection was allowed. A transfer that failed with
  // CURLE_COULDNT_CONNECT while refusal() is set failed because of the policy (libcurl's own
  // message then only says it could not connect).
  const std::string& refusal() const { return refusal_; }
  // True when a refusal is why a transfer that ended with `code` failed.
  bool Refused(CURLcode code) const { return code == CURLE_COULDNT_CONNECT && !refusal_.empty(); }

 private:
  static curl_socket_t OpenSocket(void* guard, curlsocktype purpose, curl_sockaddr* address);

  CURL* curl_;
  std::shared_ptr<const Policy> policy_;
  bool installed_ = false;
  std::string refusal_;
};

// Whether libcurl's own URL parser (curl_url_set, as a transfer would parse CURLOPT_URL) takes
// `url`: Ok, or kInvalidArgument with libcurl's reason ("Port number was not a decimal number
// between 0 and 65535"). Saved URLs are checked with it besides our own rules, so a URL that
// Boost.URL reads differently (http://h:18399.evil/) is refused at save, not at the first
// transfer. Thread-safe.
Status CheckUrlParses(std::string_view url);

// curl_global_init, once per process, before the first handle (it is not thread-safe in every
// libcurl build). False when it failed: no transfer can be made.
bool InitCurlOnce();

}  // namespace triggerd::outbound
