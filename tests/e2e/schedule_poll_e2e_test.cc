// Schedule and poll sources on the real binary (issue 7, items 5 and 6): an interval schedule of
// 1 s with a trigger starts runs carrying {scheduled_at}; after kill -9 and a restart no tick has
// two events or two runs. A poll source against a loopback feed whose content changes (2 items,
// then 3 more with a repeated one) starts exactly one run per distinct item, and its cursor
// survives a restart (no re-runs of old items). Plus the API's validation and the refused ingest.
#include <gmock/gmock.h>

#include <atomic>
#include <set>

#include "api_e2e_fixture.h"
#include "recording_target.h"

namespace triggerd::e2e {
namespace {

class SchedulePollE2eTest : public ApiE2eTest {
 protected:
  // Events of a source, newest first.
  json::array Events(const std::string& source_id) {
    return Arr(GetJson("/api/v1/events?limit=500&source_id=" + source_id), "data");
  }
  json::array WaitForEvents(const std::string& source_id, size_t at_least) {
    json::object last = WaitFor("/api/v1/events?limit=500&source_id=" + source_id,
                                [&](const json::object& list) {
                                  return Arr(list, "data").size() >= at_least;
                                });
    return Arr(last, "data");
  }
  size_t RunsOf(const std::string& trigger_id) {
    return Arr(GetJson("/api/v1/runs?limit=500&trigger_id=" + trigger_id), "data").size();
  }
  void Restart(bool crash) {
    if (crash) {
      process_->Kill();
    } else {
      process_->Stop();
    }
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
  }
};

TEST_F(SchedulePollE2eTest, IntervalScheduleStartsRunsAndNoTickRunsTwiceAcrossKill9) {
  json::object agent = ParkedAgent("", 50);
  json::object source =
      Expect(201, Api("POST", "/api/v1/sources",
                      json::object{{"name", "every second"},
                                   {"kind", "schedule"},
                                   {"enabled", false},
                                   {"schedule", {{"interval_seconds", 1}, {"missed", "catch_up"}}}}));
  const std::string id = Str(source, "id");
  EXPECT_TRUE(source.at("url").is_null()) << json::serialize(source);
  EXPECT_EQ(source.at("schedule").at("interval_seconds").as_int64(), 1);
  json::object trigger = NewTrigger({{"source_id", id}, {"agent_id", Str(agent, "id")}});
  // Enabled once its trigger exists, so that every tick has a run to show.
  Expect(200, Api("PATCH", "/api/v1/sources/" + id, json::object{{"enabled", true}}));

  json::array events = WaitForEvents(id, 3);
  ASSERT_GE(events.size(), 3u);
  json::object first = GetJson("/api/v1/events/" + Str(events.back().as_object(), "id"));
  EXPECT_EQ(Str(first, "event_type"), "schedule.tick");
  const std::string scheduled_at = Str(first.at("payload").as_object(), "scheduled_at");
  EXPECT_EQ(Str(first, "delivery_id"), "tick:" + scheduled_at);
  EXPECT_EQ(scheduled_at.size(), 20u) << scheduled_at;  // 2026-11-23T14:35:01Z

  json::object shown = GetJson("/api/v1/sources/" + id);
  EXPECT_FALSE(shown.at("next_due_at").is_null()) << json::serialize(shown);
  EXPECT_FALSE(shown.at("last_tick_at").is_null()) << json::serialize(shown);

  Restart(/*crash=*/true);
  const size_t before = Events(id).size();
  events = WaitForEvents(id, before + 3);
  std::set<std::string> ticks;
  for (const auto& e : events) {
    EXPECT_TRUE(ticks.insert(Str(e.as_object(), "delivery_id")).second)
        << "tick twice: " << Str(e.as_object(), "delivery_id");
  }
  // One run per tick event: no tick started two runs.
  const size_t now_events = Events(id).size();
  const size_t runs = RunsOf(Str(trigger, "id"));
  EXPECT_GE(runs + 2, now_events);  // ticks may land between the two reads
  EXPECT_LE(runs, now_events + 2);
  std::set<std::string> run_events;
  json::object run_list = GetJson("/api/v1/runs?limit=500&trigger_id=" + Str(trigger, "id"));
  for (const auto& run : Arr(run_list, "data")) {
    EXPECT_TRUE(run_events.insert(Str(run.as_object(), "event_id")).second)
        << "two runs for one tick event";
  }
}

TEST_F(SchedulePollE2eTest, PollStartsOneRunPerDistinctItemAndItsCursorSurvivesRestart) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    std::string body = version == 1 ? R"({"data":{"items":[{"id":"a"},{"id":"b"}]}})"
                                    : R"({"data":{"items":[{"id":"b"},{"id":"c"},{"id":"d"},
                                                           {"id":"e"}]}})";
    return testing::RecordingTarget::Reply(200, body);
  });
  json::object agent = ParkedAgent("", 50);
  json::object source = Expect(
      201, Api("POST", "/api/v1/sources",
               json::object{{"name", "feed"},
                            {"kind", "poll"},
                            {"enabled", false},
                            {"poll",
                             {{"url", feed.Url("/feed?api_key=k3y&page_size=50")},
                              {"interval_seconds", 1},
                              {"headers", {{"Authorization", "Bearer s3cret"}}},
                              {"items_path", "data.items"}}}}));
  const std::string id = Str(source, "id");
  // The credentials are never shown back.
  EXPECT_EQ(Str(source.at("poll").at("headers").as_object(), "Authorization"), "[redacted]");
  EXPECT_EQ(source.at("poll").at("url").as_string(),
            feed.Url("/feed?api_key=redacted&page_size=redacted"));
  json::object trigger = NewTrigger({{"source_id", id}, {"agent_id", Str(agent, "id")}});
  Expect(200, Api("PATCH", "/api/v1/sources/" + id, json::object{{"enabled", true}}));

  WaitForEvents(id, 2);
  version = 2;
  json::array events = WaitForEvents(id, 5);
  // Two more polls with nothing new.
  const size_t polled = feed.requests().size();
  ASSERT_TRUE(feed.WaitFor([&](const auto& r) { return r.size() >= polled + 2; },
                           std::chrono::seconds(15)));
  events = Events(id);
  std::multiset<std::string> ids;
  for (const auto& e : events) ids.insert(Str(e.as_object(), "delivery_id"));
  EXPECT_EQ(ids, (std::multiset<std::string>{"item:a", "item:b", "item:c", "item:d", "item:e"}));
  EXPECT_EQ(RunsOf(Str(trigger, "id")), 5u);

  json::object shown = GetJson("/api/v1/sources/" + id);
  EXPECT_EQ(Str(shown.at("cursor_data").as_object(), "last_id"), "e") << json::serialize(shown);
  // A PATCH that sends the redacted values back keeps the stored credentials, unless the URL
  // points elsewhere: a stored credential never goes to another origin.
  json::object moved_poll = shown.at("poll").as_object();
  moved_poll["url"] = "http://collector.invalid/feed?api_key=redacted";
  moved_poll["headers"] = json::object{};
  Expect(400, Api("PATCH", "/api/v1/sources/" + id, json::object{{"poll", moved_poll}}));
  moved_poll = shown.at("poll").as_object();
  moved_poll["url"] = "http://collector.invalid/feed";
  Expect(400, Api("PATCH", "/api/v1/sources/" + id, json::object{{"poll", moved_poll}}));
  json::object patched = Expect(
      200, Api("PATCH", "/api/v1/sources/" + id,
               json::object{{"poll", shown.at("poll")}}));
  EXPECT_EQ(Str(patched.at("poll").at("headers").as_object(), "Authorization"), "[redacted]");

  Restart(/*crash=*/true);  // (a graceful stop would wait out the parked attempts)
  const size_t after_restart = feed.requests().size();
  ASSERT_TRUE(feed.WaitFor([&](const auto& r) { return r.size() >= after_restart + 2; },
                           std::chrono::seconds(15)));
  EXPECT_EQ(Events(id).size(), 5u);
  EXPECT_EQ(RunsOf(Str(trigger, "id")), 5u);
  EXPECT_EQ(FindHeader(feed.requests().back().headers, "Authorization").value_or(""),
            "Bearer s3cret");
  EXPECT_EQ(feed.requests().back().target, "/feed?api_key=k3y&page_size=50");
}

// QA: with a cursor_field, an item updated above the cursor is a new event and a run; the delivery
// id names the version ("item:<id>@<cursor value>"), so the update is no duplicate of the first.
TEST_F(SchedulePollE2eTest, AnItemUpdatedAboveTheCursorStartsANewRun) {
  std::atomic<int> version{1};
  testing::RecordingTarget feed([&](const auto&, const auto&) {
    std::string body = version == 1 ? R"([{"id":"a","updated_at":"2026-01-05T10:00:00Z"},
                                          {"id":"b","updated_at":"2026-01-05T11:00:00Z"}])"
                                    : R"([{"id":"a","updated_at":"2026-01-05T10:00:00Z"},
                                          {"id":"b","updated_at":"2026-01-07T08:00:00Z"}])";
    return testing::RecordingTarget::Reply(200, body);
  });
  json::object agent = ParkedAgent("", 50);
  json::object source = Expect(
      201, Api("POST", "/api/v1/sources",
               json::object{{"name", "updated feed"},
                            {"kind", "poll"},
                            {"enabled", false},
                            {"poll",
                             {{"url", feed.Url("/feed")},
                              {"interval_seconds", 1},
                              {"cursor_field", "updated_at"}}}}));
  const std::string id = Str(source, "id");
  json::object trigger = NewTrigger({{"source_id", id}, {"agent_id", Str(agent, "id")}});
  Expect(200, Api("PATCH", "/api/v1/sources/" + id, json::object{{"enabled", true}}));
  WaitForEvents(id, 2);
  version = 2;
  WaitForEvents(id, 3);
  const size_t polled = feed.requests().size();
  ASSERT_TRUE(feed.WaitFor([&](const auto& r) { return r.size() >= polled + 2; },
                           std::chrono::seconds(15)));
  std::multiset<std::string> ids;
  for (const auto& e : Events(id)) ids.insert(Str(e.as_object(), "delivery_id"));
  EXPECT_EQ(ids, (std::multiset<std::string>{"item:a@2026-01-05T10:00:00Z",
                                             "item:b@2026-01-05T11:00:00Z",
                                             "item:b@2026-01-07T08:00:00Z"}));
  EXPECT_EQ(RunsOf(Str(trigger, "id")), 3u);
  HttpResult metrics = client_->Send("GET", "/metrics", "", {});
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_THAT(metrics.body, ::testing::HasSubstr("\ntriggerd_store_duplicates_total 0\n"));
}

TEST_F(SchedulePollE2eTest, RefusesBadConfigsWithPreciseErrors) {
  struct Case {
    json::object body;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"name", "x"}, {"kind", "schedule"}, {"schedule", {{"cron", "*/5 * * *"}}}}, "5 fields"},
      {{{"name", "x"}, {"kind", "schedule"}, {"schedule", {{"cron", "0 25 * * *"}}}}, "hour"},
      {{{"name", "x"},
        {"kind", "schedule"},
        {"schedule", {{"cron", "0 9 * * *"}, {"timezone", "Europe/Atlantis"}}}},
       "time zone"},
      {{{"name", "x"}, {"kind", "schedule"}, {"schedule", {{"interval_seconds", 0}}}},
       "interval_seconds"},
      {{{"name", "x"},
        {"kind", "schedule"},
        {"schedule", {{"cron", "0 9 * * *"}, {"interval_seconds", 5}}}},
       "schedule: give exactly one of cron"},
      {{{"name", "x"}, {"kind", "poll"}, {"poll", {{"url", "http://x/"}, {"interval", 5}}}},
       "poll: unknown member \"interval\""},
      {{{"name", "x"}, {"kind", "schedule"}}, "needs \"schedule\""},
      {{{"name", "x"},
        {"kind", "schedule"},
        {"schedule", {{"interval_seconds", 5}}},
        {"auth", {{"bearer", true}}}},
       "no ingest URL"},
      {{{"name", "x"}, {"kind", "poll"}, {"poll", {{"url", "ftp://x/"}, {"interval_seconds", 5}}}},
       "http or https"},
      {{{"name", "x"}, {"kind", "custom"}, {"schedule", {{"interval_seconds", 5}}}},
       "applies to sources of kind"},
  };
  for (const auto& c : cases) {
    HttpResult r = Api("POST", "/api/v1/sources", c.body);
    EXPECT_EQ(r.status, 400) << json::serialize(c.body) << " -> " << r.body;
    EXPECT_THAT(Str(ErrorOf(r), "message"), ::testing::HasSubstr(c.says)) << r.body;
  }
}

TEST_F(SchedulePollE2eTest, AScheduleSourceAcceptsNoWebhook) {
  json::object source = Expect(
      201, Api("POST", "/api/v1/sources",
               json::object{{"name", "nightly"},
                            {"kind", "schedule"},
                            {"schedule", {{"cron", "0 3 * * *"}, {"timezone", "Europe/Paris"}}}}));
  std::string ws = Str(source, "workspace_id");
  // Without its (never shown) URL secret the source does not exist for a sender.
  HttpResult r = client_->Send("POST", "/api/v1/w/" + ws + "/triggers/hooks/" + Str(source, "id"),
                               "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Str(source.at("schedule").as_object(), "timezone"), "Europe/Paris");
  json::object shown = GetJson("/api/v1/sources/" + Str(source, "id"));
  EXPECT_TRUE(shown.at("cursor_data").is_null());
  EXPECT_THAT(Str(shown, "next_due_at"), ::testing::HasSubstr(":00:00"));  // 03:00 in Paris
}

}  // namespace
}  // namespace triggerd::e2e
