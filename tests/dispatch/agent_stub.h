// A stand-in agent for the http and llm targets: the project's own http::Server on
// 127.0.0.1:0 that records every request and answers as the test tells it.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/headers.h"
#include "http/http.h"

namespace triggerd::dispatch::testing {

struct RecordedRequest {
  std::string method;
  std::string path;
  Headers headers;
  std::string body;
  std::string Header(std::string_view name) const {
    auto v = FindHeader(headers, name);
    return v ? std::string(*v) : std::string();
  }
  bool HasHeader(std::string_view name) const { return FindHeader(headers, name).has_value(); }
};

class AgentStub {
 public:
  using Answer = std::function<http::Response(const RecordedRequest&)>;

  // Starts the server; every request is answered 200 "{}" until Answer() says otherwise.
  AgentStub();
  // Releases held requests (answering them 200), then stops the server.
  ~AgentStub();
  AgentStub(const AgentStub&) = delete;
  AgentStub& operator=(const AgentStub&) = delete;

  bool started() const { return server_ != nullptr; }
  uint16_t port() const { return server_->port(); }
  // "http://127.0.0.1:<port><path>"
  std::string Url(const std::string& path) const;
  size_t open_connections() const { return server_->open_connections(); }

  // How every following request is answered (from a server thread).
  void SetAnswer(Answer answer);
  // Following requests get no answer until the stub is destroyed (a slow agent).
  void HoldAnswers();

  std::vector<RecordedRequest> Requests() const;
  // Waits (up to `timeout`) until at least `n` requests have arrived.
  bool AwaitRequests(size_t n, std::chrono::milliseconds timeout) const;

 private:
  void Handle(http::Request request, http::Reply reply);

  http::Router router_;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::vector<RecordedRequest> requests_;  // guarded by mu_
  Answer answer_;                          // guarded by mu_
  bool hold_ = false;                      // guarded by mu_
  std::vector<http::Reply> held_;          // guarded by mu_
};

// A JSON response with extra headers.
http::Response JsonAnswer(int status, std::string body, Headers headers = {});

}  // namespace triggerd::dispatch::testing
