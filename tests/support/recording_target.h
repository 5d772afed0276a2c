// A stand-in agent endpoint for tests: a real HTTP server on 127.0.0.1 (the project's own
// http::Server) that records every request and answers each as the test's script says —
// fail the first k attempts, answer slowly, 429 with Retry-After, 400, chat completions, ….
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/headers.h"
#include "http/http.h"

namespace triggerd::testing {

class RecordingTarget {
 public:
  struct Received {
    std::string method;
    std::string path;
    Headers headers;
    std::string body;
    std::string target;  // path and query
  };
  struct Answer {
    http::Response response;
    std::chrono::milliseconds delay{0};  // answer after this long (from another thread)
  };
  // Called for each request with it and the requests received before it (this one excluded).
  using Script = std::function<Answer(const Received& request,
                                      const std::vector<Received>& earlier)>;

  // Listens on 127.0.0.1, a free port. Aborts the test binary when it cannot.
  explicit RecordingTarget(Script script) : RecordingTarget(std::move(script), true) {}
  // A script that does not look at earlier requests: none are copied for it (benchmarks send
  // thousands, and copying them all for each request would be what they measure).
  using PlainScript = std::function<Answer(const Received& request)>;
  explicit RecordingTarget(PlainScript script)
      : RecordingTarget(Script([plain = std::move(script)](const Received& request,
                                                           const std::vector<Received>&) {
                          return plain(request);
                        }),
                        false) {}
  ~RecordingTarget();  // Stop()
  void Stop();

  uint16_t port() const;
  std::string Url(const std::string& path = "/") const;
  std::vector<Received> requests() const;
  // Waits until `done(requests)` holds or `timeout` passes; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<Received>&)>& done,
               std::chrono::milliseconds timeout) const;

  // An answer with this status and body.
  static Answer Reply(int status, std::string body = "{}", Headers headers = {});

 private:
  void Handle(http::Request request, http::Reply reply);

  RecordingTarget(Script script, bool sees_earlier);

  Script script_;
  const bool sees_earlier_;  // whether Handle copies the earlier requests for the script
  http::Router router_{1 << 20};
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Received> requests_;      // guarded by mu_
  std::vector<std::thread> delayed_;    // guarded by mu_
  bool stopping_ = false;               // guarded by mu_: Stop has begun, answer without delay
};

}  // namespace triggerd::testing
