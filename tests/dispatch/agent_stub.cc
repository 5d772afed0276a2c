#include "agent_stub.h"

#include <gtest/gtest.h>

namespace triggerd::dispatch::testing {

namespace {
constexpr size_t kBodyLimit = 16 * 1024 * 1024;
}  // namespace

AgentStub::AgentStub() : router_(kBodyLimit) {
  answer_ = [](const RecordedRequest&) { return JsonAnswer(200, "{}"); };
  // Any method, any path up to three segments deep.
  for (const char* pattern : {"/{a}", "/{a}/{b}", "/{a}/{b}/{c}"}) {
    router_.Add("*", pattern, [this](http::Request request, http::Reply reply) {
      Handle(std::move(request), std::move(reply));
    });
  }
  http::ServerOptions options;
  options.port = 0;
  options.threads = 2;
  auto server = http::Server::Start(options, &router_);
  if (!server) {
    ADD_FAILURE() << "agent stub: " << server.error().ToString();
    return;
  }
  server_ = std::move(server).value();
}

AgentStub::~AgentStub() {
  std::vector<http::Reply> held;
  {
    std::lock_guard lock(mu_);
    hold_ = false;
    held.swap(held_);
  }
  for (auto& reply : held) reply(JsonAnswer(200, "{}"));
  if (server_) server_->Stop(std::chrono::seconds(2));
}

std::string AgentStub::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

void AgentStub::SetAnswer(Answer answer) {
  std::lock_guard lock(mu_);
  answer_ = std::move(answer);
}

void AgentStub::HoldAnswers() {
  std::lock_guard lock(mu_);
  hold_ = true;
}

std::vector<RecordedRequest> AgentStub::Requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool AgentStub::AwaitRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void AgentStub::Handle(http::Request request, http::Reply reply) {
  RecordedRequest recorded{request.method, request.path, request.headers, std::move(request.body)};
  Answer answer;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(recorded);
    arrived_.notify_all();
    if (hold_) {
      held_.push_back(std::move(reply));
      return;
    }
    answer = answer_;
  }
  reply(answer(recorded));
}

http::Response JsonAnswer(int status, std::string body, Headers headers) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

}  // namespace triggerd::dispatch::testing
