// A blocking HTTP/1.1 client for tests, on a real loopback socket. One connection, reused while
// the server keeps it alive (reconnects transparently when it was closed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/headers.h"

namespace triggerd::testing {

struct HttpResult {
  int status = 0;  // 0 when the exchange failed (see error)
  Headers headers;
  std::string body;
  std::string error;
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request with Content-Length set from `body`.
  HttpResult Send(const std::string& method, const std::string& target, const std::string& body = "",
                  const Headers& headers = {});
  // Sends the body with Transfer-Encoding: chunked, in chunks of `chunk_size` bytes.
  HttpResult SendChunked(const std::string& method, const std::string& target,
                         const std::string& body, size_t chunk_size, const Headers& headers = {});
  // Writes raw bytes on a fresh connection and returns everything read until the server closes
  // or `timeout_ms` passes.
  std::string SendRaw(const std::string& bytes, int timeout_ms = 5000);

  uint16_t port() const { return port_; }

  struct Impl;  // the connection state (Beast types stay out of this header)

 private:
  std::string host_;
  uint16_t port_;
  Impl* impl_;
};

}  // namespace triggerd::testing
