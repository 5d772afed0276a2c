#include "recording_target.h"

#include <cstdio>
#include <cstdlib>

namespace triggerd::testing {

RecordingTarget::RecordingTarget(Script script, bool sees_earlier)
    : script_(std::move(script)), sees_earlier_(sees_earlier) {
  router_.Add("*", "/{a}", [this](http::Request r, http::Reply reply) {
    Handle(std::move(r), std::move(reply));
  });
  router_.Add("*", "/{a}/{b}", [this](http::Request r, http::Reply reply) {
    Handle(std::move(r), std::move(reply));
  });
  router_.Add("*", "/{a}/{b}/{c}", [this](http::Request r, http::Reply reply) {
    Handle(std::move(r), std::move(reply));
  });
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.threads = 2;
  auto server = http::Server::Start(options, &router_);
  if (!server) {
    std::fprintf(stderr, "RecordingTarget: %s\n", server.error().message().c_str());
    std::abort();
  }
  server_ = std::move(server).value();
}

RecordingTarget::~RecordingTarget() { Stop(); }

void RecordingTarget::Stop() {
  // Delayed answers first: they reply on connections the server still owns.
  // From here on requests are answered at once (Handle), so no delayed answer starts after the
  // joins below.
  std::vector<std::thread> delayed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    delayed.swap(delayed_);
  }
  for (auto& t : delayed) t.join();
  if (server_) server_->Stop(std::chrono::milliseconds(2000));
  server_.reset();
}

uint16_t RecordingTarget::port() const { return server_->port(); }

std::string RecordingTarget::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::vector<RecordingTarget::Received> RecordingTarget::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool RecordingTarget::WaitFor(const std::function<bool(const std::vector<Received>&)>& done,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done(requests_); });
}

RecordingTarget::Answer RecordingTarget::Reply(int status, std::string body, Headers headers) {
  Answer answer;
  answer.response.status = status;
  answer.response.body = std::move(body);
  answer.response.headers = std::move(headers);
  return answer;
}

void RecordingTarget::Handle(http::Request request, http::Reply reply) {
  Received received{request.method, request.path, request.headers, request.body, request.target};
  std::vector<Received> earlier;
  if (sees_earlier_) {
    std::lock_guard<std::mutex> lock(mu_);
    earlier = requests_;
  }
  Answer answer = script_(received, earlier);
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(received));
  }
  cv_.notify_all();
  std::unique_lock<std::mutex> lock(mu_);
  if (answer.delay.count() <= 0 || stopping_) {
    lock.unlock();
    reply(std::move(answer.response));
    return;
  }
  delayed_.emplace_back([answer = std::move(answer), reply = std::move(reply)]() mutable {
    std::this_thread::sleep_for(answer.delay);
    reply(std::move(answer.response));
  });
}

}  // namespace triggerd::testing
