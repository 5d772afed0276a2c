// Listing events reads no bodies (issue 18, item 5): GET /api/v1/events over events with large
// bodies must not grow the server's memory by their size. Measured from outside, on the real
// binary: the peak RSS (VmHWM, reset through /proc/<pid>/clear_refs) across the list calls.
// Before the fix each list loaded every listed event whole (headers, body, payload), so a page of
// 100 bodies of 512 KiB raised the peak by 100+ MiB for an answer of ~30 KB.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "api_e2e_fixture.h"

namespace triggerd::e2e {
namespace {

// A field of /proc/<pid>/status in KiB ("VmHWM", "VmRSS"), -1 when unreadable.
int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

class EventListMemoryE2eTest : public ApiE2eTest {};

TEST_F(EventListMemoryE2eTest, ListingEventsWithLargeBodiesDoesNotLoadThem) {
  constexpr int kEvents = 100;
  constexpr size_t kBodyBytes = 512 * 1024;
  json::object source = NewSource();
  const std::string url = Str(source, "url");
  const std::string path = url.substr(url.find("/api/v1/w/"));
  const std::string body = R"({"blob":")" + std::string(kBodyBytes - 11, 'x') + R"("})";
  for (int i = 0; i < kEvents; ++i) {
    HttpResult r = client_->Send("POST", path, body, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  const pid_t pid = process_->pid();
  // Resets the peak to the current RSS (Linux >= 4.0); without it the peak of the ingest stays.
  std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5";
  const int64_t before_kib = StatusKib(pid, "VmHWM");
  ASSERT_GT(before_kib, 0);
  // Three lists at once (the API's blocking pool runs them in parallel), each of every event.
  std::vector<std::thread> lists;
  std::vector<int> statuses(3, 0);
  std::vector<size_t> listed(3, 0);
  for (int t = 0; t < 3; ++t) {
    lists.emplace_back([&, t] {
      HttpClient client("127.0.0.1", process_->port());
      HttpResult r = client.Send("GET", "/api/v1/events?limit=500", "",
                                 {{"Authorization", "Bearer " + admin_}});
      statuses[t] = r.status;
      if (r.status == 200) listed[t] = ParseObject(r.body).at("data").as_array().size();
    });
  }
  for (auto& t : lists) t.join();
  const int64_t growth_kib = StatusKib(pid, "VmHWM") - before_kib;
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(statuses[t], 200);
    EXPECT_EQ(listed[t], static_cast<size_t>(kEvents));
  }
  std::printf("[ measured ] peak RSS growth over 3 concurrent lists of %d events of %zu KiB: "
              "%lld KiB\n",
              kEvents, kBodyBytes / 1024, static_cast<long long>(growth_kib));
  // The bodies are 50 MiB per list; a list of summaries needs well under one body's worth per
  // event. 24 MiB leaves room for allocator and page-cache noise on a loaded machine.
  EXPECT_LT(growth_kib, 24 * 1024);

  // The detail still reads the whole event.
  const std::string id = Str(ParseObject(Api("GET", "/api/v1/events?limit=1").body)
                                 .at("data").as_array().at(0).as_object(), "id");
  json::object detail = GetJson("/api/v1/events/" + id);
  EXPECT_EQ(detail.at("body_bytes").as_int64(), static_cast<int64_t>(kBodyBytes));
  EXPECT_EQ(detail.at("payload").as_object().at("blob").as_string().size(), kBodyBytes - 11);
}

}  // namespace
}  // namespace triggerd::e2e
