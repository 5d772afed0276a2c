// Durability: every event answered 200 before a kill -9 is there after the restart.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "http_client.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::TempDir;
using testing::TriggerdProcess;
namespace json = boost::json;

TEST(CrashRecoveryTest, EventsAcknowledgedBeforeKill9SurviveRestart) {
  TempDir dir;
  // Senders at full speed on one source: without the rate limits, which would answer 429.
  const auto config = dir.path() / "triggerd.yaml";
  std::ofstream(config) << "source_rate_limit: 0\nworkspace_rate_limit: 0\n";
  TriggerdProcess process(dir.path() / "data", {"--config", config.string()});
  ASSERT_TRUE(process.Start()) << process.error();
  const std::string admin = process.AdminKey();
  Headers auth = {{"Authorization", "Bearer " + admin}};

  HttpClient api("127.0.0.1", process.port());
  auto created = api.Send("POST", "/api/v1/sources", R"({"name":"crash"})", auth);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string url(json::parse(created.body).as_object()["url"].as_string());
  std::string path = url.substr(url.find("/api/v1/w/"));

  // 8 senders post as fast as they can; the process is killed mid-stream.
  constexpr int kSenders = 8;
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> count{0};
  std::vector<std::thread> senders;
  const uint16_t port = process.port();
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      HttpClient client("127.0.0.1", port);
      for (int i = 0; !stop && i < 100'000; ++i) {
        std::string body = "{\"sender\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        auto r = client.Send("POST", path, body, {{"Content-Type", "application/json"}});
        if (r.status != 200) {
          if (r.status == 0) return;  // the server is gone
          ADD_FAILURE() << "unexpected " << r.status << " " << r.body;
          return;
        }
        std::lock_guard lock(mu);
        acknowledged.emplace_back(json::parse(r.body).as_object()["event_id"].as_string());
        ++count;
      }
    });
  }
  // Let a few hundred events through (bounded in time), then crash the server under load.
  for (int waited = 0; count < 400 && waited < 2000; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  process.Kill();
  stop = true;
  for (auto& s : senders) s.join();
  ASSERT_GT(acknowledged.size(), 0u);

  ASSERT_TRUE(process.Start()) << process.error();
  HttpClient after("127.0.0.1", process.port());
  size_t missing = 0;
  for (const auto& id : acknowledged) {
    auto r = after.Send("GET", "/api/v1/events/" + id, "", auth);
    if (r.status != 200) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged events";
  // And the log holds no half-written record: every stored event reads back whole.
  std::string cursor;
  size_t listed = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto r = after.Send("GET", "/api/v1/events?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor),
                        "", auth);
    ASSERT_EQ(r.status, 200);
    auto page = json::parse(r.body).as_object();
    listed += page["data"].as_array().size();
    if (!page["next_cursor"].is_string()) break;
    cursor = std::string(page["next_cursor"].as_string());
  }
  EXPECT_GE(listed, acknowledged.size());
  std::printf("acknowledged %zu, stored %zu, lost %zu\n", acknowledged.size(), listed, missing);
}

}  // namespace
}  // namespace triggerd
