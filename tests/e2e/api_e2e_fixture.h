// Shared by the end-to-end tests of the agents, triggers, runs and replay routes: the real binary
// on 127.0.0.1:0, keys of each role, and helpers that create resources and read JSON answers.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd::e2e {

namespace json = boost::json;
using testing::HttpClient;
using testing::HttpResult;

inline json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

inline std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

inline const json::array& Arr(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) {
    ADD_FAILURE() << key << " is not an array in " << json::serialize(o);
    return kEmpty;
  }
  return v->as_array();
}

// The error object of an error answer, after checking the documented shape.
inline json::object ErrorOf(const HttpResult& r) {
  json::object body = ParseObject(r.body);
  const json::value* error = body.if_contains("error");
  if (error == nullptr || !error->is_object()) {
    ADD_FAILURE() << "no error object: " << r.body;
    return {};
  }
  json::object e = error->as_object();
  EXPECT_FALSE(Str(e, "type").empty()) << r.body;
  EXPECT_FALSE(Str(e, "message").empty()) << r.body;
  return e;
}

// A TCP port that accepts connections (the kernel completes them into the backlog) but never
// reads or answers: an http target on it keeps an attempt in flight until its timeout. With an
// agent of concurrency 1, the first run holds the only slot and every later run stays queued,
// which makes "running" and "queued" states observable without racing the dispatcher.
class SilentPort {
 public:
  SilentPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { close(fd_); }
  SilentPort(const SilentPort&) = delete;
  SilentPort& operator=(const SilentPort&) = delete;
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class ApiE2eTest : public ::testing::Test {
 protected:
  // Starts the service; with `config_yaml_` set (by a derived fixture's constructor), with
  // `--config` naming a file of that text.
  void SetUp() override {
    std::vector<std::string> args;
    if (!config_yaml_.empty()) {
      const auto config = dir_.path() / "triggerd.yaml";
      std::ofstream(config) << config_yaml_;
      args = {"--config", config.string()};
    }
    process_ = std::make_unique<testing::TriggerdProcess>(dir_.path() / "data", args);
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = "") {
    Headers headers = {{"Authorization", "Bearer " + (key.empty() ? admin_ : key)}};
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return client_->Send(method, path, body, headers);
  }
  HttpResult Api(const std::string& method, const std::string& path, const json::object& body,
                 const std::string& key = "") {
    return Api(method, path, json::serialize(body), key);
  }

  // The JSON answer of a call expected to give `status`.
  json::object Expect(int status, const HttpResult& r) {
    EXPECT_EQ(r.status, status) << r.body;
    return ParseObject(r.body);
  }

  struct Key {
    std::string id;
    std::string secret;
  };
  Key NewKey(const std::string& role) {
    json::object k = Expect(
        201, Api("POST", "/api/v1/keys", json::object{{"name", role + " key"}, {"role", role}}));
    return {Str(k, "id"), Str(k, "key")};
  }

  // An open custom source (no signature), optionally with a delivery id header.
  json::object NewSource(const std::string& name = "src") {
    return Expect(201, Api("POST", "/api/v1/sources",
                           json::object{{"name", name}, {"delivery_id_header", "X-Delivery"}}));
  }

  json::object NewAgent(json::object spec, const std::string& key = "") {
    if (!spec.contains("name")) spec["name"] = "agent";
    return Expect(201, Api("POST", "/api/v1/agents", spec, key));
  }
  // An http agent whose target never answers (see SilentPort); concurrency 1 by default.
  json::object ParkedAgent(const std::string& key = "", int concurrency = 1) {
    return NewAgent({{"name", "parked"},
                     {"target", {{"type", "http"}, {"url", silent_.url()}, {"timeout_ms", 600000}}},
                     {"concurrency", concurrency}},
                    key);
  }

  json::object NewTrigger(json::object spec, const std::string& key = "") {
    return Expect(201, Api("POST", "/api/v1/triggers", spec, key));
  }

  // POSTs a webhook to an open source; returns the 200 answer.
  json::object Ingest(const json::object& source, const json::value& payload,
                      const std::string& delivery_id = "") {
    std::string url = Str(source, "url");
    std::string path = url.substr(url.find("/api/v1/w/"));
    Headers headers = {{"Content-Type", "application/json"}};
    if (!delivery_id.empty()) headers.push_back({"X-Delivery", delivery_id});
    HttpResult r = client_->Send("POST", path, json::serialize(payload), headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseObject(r.body);
  }

  json::object GetJson(const std::string& path, const std::string& key = "") {
    return Expect(200, Api("GET", path, "", key));
  }

  // Polls `path` until `done` holds for its JSON (or 15 s pass); returns the last answer.
  json::object WaitFor(const std::string& path,
                       const std::function<bool(const json::object&)>& done,
                       const std::string& key = "") {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    json::object last;
    while (std::chrono::steady_clock::now() < deadline) {
      HttpResult r = Api("GET", path, "", key);
      if (r.status == 200) {
        last = ParseObject(r.body);
        if (done(last)) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "timed out waiting on " << path << "; last: " << json::serialize(last);
    return last;
  }
  json::object WaitForRunStatus(const std::string& run_id, const std::string& status,
                                const std::string& key = "") {
    return WaitFor(
        "/api/v1/runs/" + run_id,
        [&](const json::object& run) { return Str(run, "status") == status; }, key);
  }

  // Run ids of the ingest (or replay) answer's `runs`, by trigger id.
  static std::map<std::string, std::string> RunsByTrigger(const json::object& answer) {
    std::map<std::string, std::string> runs;
    for (const auto& run : Arr(answer, "runs")) {
      runs[Str(run.as_object(), "trigger_id")] = Str(run.as_object(), "run_id");
    }
    return runs;
  }

  // Ids of a list answer's `data`, in order.
  static std::vector<std::string> Ids(const json::object& list, std::string_view key = "id") {
    std::vector<std::string> ids;
    for (const auto& item : Arr(list, "data")) ids.push_back(Str(item.as_object(), key));
    return ids;
  }

  std::string config_yaml_;
  testing::TempDir dir_;
  SilentPort silent_;
  std::unique_ptr<testing::TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

}  // namespace triggerd::e2e
