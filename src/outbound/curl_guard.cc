#include "outbound/curl_guard.h"

#include <sys/socket.h>

#include <mutex>

namespace triggerd::outbound {

CurlGuard::CurlGuard(CURL* curl, std::shared_ptr<const Policy> policy)
    : curl_(curl), policy_(std::move(policy)) {
  if (policy_ == nullptr || policy_->denies_nothing()) return;
  curl_easy_setopt(curl_, CURLOPT_OPENSOCKETFUNCTION, &CurlGuard::OpenSocket);
  curl_easy_setopt(curl_, CURLOPT_OPENSOCKETDATA, this);
  installed_ = true;
}

CurlGuard::~CurlGuard() {
  if (!installed_) return;
  // Back to libcurl's own socket(): no pointer to this guard stays in the handle.
  curl_easy_setopt(curl_, CURLOPT_OPENSOCKETFUNCTION, nullptr);
  curl_easy_setopt(curl_, CURLOPT_OPENSOCKETDATA, nullptr);
}

curl_socket_t CurlGuard::OpenSocket(void* guard, curlsocktype purpose, curl_sockaddr* address) {
  auto* self = static_cast<CurlGuard*>(guard);
  std::string why;
  if (!self->policy_->Allows(&address->addr, &why)) {
    if (self->refusal_.empty()) self->refusal_ = std::move(why);
    return CURL_SOCKET_BAD;  // libcurl tries the name's next address, else CURLE_COULDNT_CONNECT
  }
  // What libcurl's default does, plus close-on-exec: a command target's child (posix_spawn) must
  // not inherit an agent connection.
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

Status CheckUrlParses(std::string_view url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), &curl_url_cleanup);
  if (handle == nullptr) return Status::Internal("out of memory parsing a URL");
  const std::string text(url);  // libcurl wants a NUL-terminated string
  const CURLUcode code = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0);
  if (code != CURLUE_OK) {
    return Status::InvalidArgument(std::string("libcurl refuses it: ") + curl_url_strerror(code));
  }
  return Status::Ok();
}

bool InitCurlOnce() {
  static std::once_flag once;
  static CURLcode init = CURLE_FAILED_INIT;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return init == CURLE_OK;
}

}  // namespace triggerd::outbound
