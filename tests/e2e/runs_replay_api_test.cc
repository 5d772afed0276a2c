// The real binary on 127.0.0.1:0, driven over HTTP: replay (new runs, replay=true records, only
// the caller's triggers for builders), run listing with its filters and paging, the run detail
// with the message it sends, visibility of runs to their owner and admins, and the cancel/retry
// state rules. Delivery itself (runs reaching succeeded against real targets) is covered by
// dispatch_e2e_test.
//
// Runs are kept in known states without racing the dispatcher: a "parked" agent (concurrency 1,
// an http target that accepts connections and never answers) holds its first run "running" and
// every later run "queued"; a command agent whose argv[0] cannot be executed fails its runs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "api_e2e_fixture.h"

namespace triggerd::e2e {
namespace {

class RunsReplayApiTest : public ApiE2eTest {
 protected:
  // A test retries a command agent's runs (api: command_agents, app/config.h).
  RunsReplayApiTest() { config_yaml_ = "api:\n  command_agents: true\n"; }
};

// ------------------------------------------------------------------------------------ replay

TEST_F(RunsReplayApiTest, ReplayEvaluatesTheTriggersAsTheyAreNowAndStartsNewRuns) {
  json::object source = NewSource();
  json::object agent = ParkedAgent("", 100);
  const std::string src = Str(source, "id"), agt = Str(agent, "id");
  json::object opened =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"filter", "(eq \"action\" \"opened\")"}});
  json::object closed =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"filter", "(eq \"action\" \"closed\")"}});
  json::object answer = Ingest(source, json::object{{"action", "opened"}});
  const std::string event_id = Str(answer, "event_id");
  const std::string first_run = RunsByTrigger(answer)[Str(opened, "id")];
  ASSERT_FALSE(first_run.empty());

  // The "closed" trigger now matches too.
  ASSERT_EQ(Api("PATCH", "/api/v1/triggers/" + Str(closed, "id"),
                json::object{{"filter", "(exists \"action\")"}})
                .status,
            200);
  json::object replay = Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay"));
  EXPECT_EQ(Str(replay, "event_id"), event_id);
  std::map<std::string, std::string> runs = RunsByTrigger(replay);
  ASSERT_EQ(runs.size(), 2u) << json::serialize(replay);
  EXPECT_NE(runs[Str(opened, "id")], first_run);
  EXPECT_FALSE(runs[Str(closed, "id")].empty());
  const json::array& replay_matches = Arr(replay, "matches");
  ASSERT_EQ(replay_matches.size(), 2u);
  for (const auto& m : replay_matches) {
    EXPECT_TRUE(m.as_object().at("replay").as_bool());
    EXPECT_EQ(Str(m.as_object(), "outcome"), "matched");
    EXPECT_EQ(Str(m.as_object(), "event_id"), event_id);
    EXPECT_EQ(Str(m.as_object(), "run_id"), runs[Str(m.as_object(), "trigger_id")]);
  }

  // The event keeps its first records and gains the replayed ones.
  const json::object event = GetJson("/api/v1/events/" + event_id);
  const json::array& matches = Arr(event, "matches");
  ASSERT_EQ(matches.size(), 4u);
  int replayed = 0;
  for (const auto& m : matches) replayed += m.as_object().at("replay").as_bool() ? 1 : 0;
  EXPECT_EQ(replayed, 2);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?event_id=" + event_id)).size(), 3u);
  for (const auto& [trigger_id, run_id] : runs) {
    json::object run = GetJson("/api/v1/runs/" + run_id);
    EXPECT_EQ(Str(run, "event_id"), event_id);
    EXPECT_EQ(Str(run, "trigger_id"), trigger_id);
  }
  json::object replays = GetJson("/api/v1/triggers/" + Str(opened, "id") + "/matches");
  ASSERT_EQ(Arr(replays, "data").size(), 2u);
  EXPECT_TRUE(Arr(replays, "data")[0].as_object().at("replay").as_bool());  // newest first
  EXPECT_FALSE(Arr(replays, "data")[1].as_object().at("replay").as_bool());

  // trigger_ids narrows a replay.
  json::object narrowed =
      Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay",
                      json::object{{"trigger_ids", json::array{Str(closed, "id")}}}));
  EXPECT_EQ(RunsByTrigger(narrowed).size(), 1u);
  EXPECT_TRUE(RunsByTrigger(narrowed).count(Str(closed, "id")));
  EXPECT_EQ(Arr(narrowed, "matches").size(), 1u);

  // A disabled trigger is recorded, and starts nothing.
  ASSERT_EQ(Api("PATCH", "/api/v1/triggers/" + Str(opened, "id"), json::object{{"enabled", false}})
                .status,
            200);
  json::object off =
      Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay",
                      json::object{{"trigger_ids", json::array{Str(opened, "id")}}}));
  EXPECT_TRUE(Arr(off, "runs").empty());
  ASSERT_EQ(Arr(off, "matches").size(), 1u);
  EXPECT_EQ(Str(Arr(off, "matches")[0].as_object(), "outcome"), "disabled");
  EXPECT_TRUE(Arr(off, "matches")[0].as_object().at("run_id").is_null());

  EXPECT_EQ(Api("POST", "/api/v1/events/evt_nope/replay").status, 404);
  HttpResult bad = Api("POST", "/api/v1/events/" + event_id + "/replay",
                       json::object{{"triggers", json::array{}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Str(ErrorOf(bad), "field"), "triggers");
}

TEST_F(RunsReplayApiTest, BuildersReplayToAndSeeRecordsOfTheirOwnTriggersOnly) {
  Key user = NewKey("user");
  Key builder_a = NewKey("builder");
  Key builder_b = NewKey("builder");
  json::object source = NewSource();
  const std::string src = Str(source, "id");
  // A builder binds triggers only to its own agents.
  const std::string agt_a = Str(ParkedAgent(builder_a.secret, 100), "id");
  const std::string agt_b = Str(ParkedAgent(builder_b.secret, 100), "id");
  json::object a = NewTrigger({{"source_id", src}, {"agent_id", agt_a}}, builder_a.secret);
  json::object b = NewTrigger({{"source_id", src}, {"agent_id", agt_b}}, builder_b.secret);
  const std::string event_id = Str(Ingest(source, json::object{{"n", 1}}), "event_id");

  // The event is visible to every role, its records only to their triggers' owners and admins.
  auto trigger_ids = [&](const std::string& key) {
    std::vector<std::string> ids;
    const json::object event = GetJson("/api/v1/events/" + event_id, key);
    for (const auto& m : Arr(event, "matches")) {
      ids.push_back(Str(m.as_object(), "trigger_id"));
    }
    return ids;
  };
  EXPECT_EQ(trigger_ids(admin_), (std::vector<std::string>{Str(a, "id"), Str(b, "id")}));
  EXPECT_EQ(trigger_ids(builder_a.secret), std::vector<std::string>{Str(a, "id")});
  EXPECT_EQ(trigger_ids(builder_b.secret), std::vector<std::string>{Str(b, "id")});
  EXPECT_TRUE(trigger_ids(user.secret).empty());

  HttpResult denied = Api("POST", "/api/v1/events/" + event_id + "/replay", "", user.secret);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Str(ErrorOf(denied), "type"), "insufficient_role");

  json::object by_b =
      Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay", "", builder_b.secret));
  std::map<std::string, std::string> runs = RunsByTrigger(by_b);
  ASSERT_EQ(runs.size(), 1u) << json::serialize(by_b);
  EXPECT_TRUE(runs.count(Str(b, "id")));
  EXPECT_EQ(Arr(by_b, "matches").size(), 1u);
  // B cannot reach A's trigger by naming it.
  json::object named =
      Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay",
                      json::object{{"trigger_ids", json::array{Str(a, "id")}}}, builder_b.secret));
  EXPECT_TRUE(Arr(named, "runs").empty());
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(a, "id"))).size(), 1u);

  // An admin's replay reaches every trigger.
  EXPECT_EQ(
      RunsByTrigger(Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay"))).size(), 2u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(a, "id"))).size(), 2u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(b, "id"))).size(), 3u);
}

// -------------------------------------------------------------------------------------- runs

TEST_F(RunsReplayApiTest, RunsAreListedNewestFirstWithFiltersAndPages) {
  json::object source = NewSource();
  json::object agent_1 = ParkedAgent();
  json::object agent_2 = ParkedAgent();
  const std::string src = Str(source, "id");
  json::object t1 = NewTrigger({{"source_id", src}, {"agent_id", Str(agent_1, "id")}});
  json::object t2 = NewTrigger({{"source_id", src},
                                {"agent_id", Str(agent_2, "id")},
                                {"filter", "(eq \"action\" \"opened\")"}});
  std::vector<std::string> all_runs;  // oldest first
  std::vector<std::string> events;
  for (const char* action : {"opened", "closed", "opened"}) {
    json::object answer = Ingest(source, json::object{{"action", action}});
    events.push_back(Str(answer, "event_id"));
    // Within one event, runs are created in trigger order.
    for (const auto& run : Arr(answer, "runs")) all_runs.push_back(Str(run.as_object(), "run_id"));
  }
  ASSERT_EQ(all_runs.size(), 5u);
  std::vector<std::string> newest_first(all_runs.rbegin(), all_runs.rend());

  json::object list = GetJson("/api/v1/runs");
  EXPECT_EQ(Ids(list), newest_first);
  EXPECT_TRUE(list["next_cursor"].is_null());
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(t1, "id"))).size(), 3u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(t2, "id"))).size(), 2u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?agent_id=" + Str(agent_2, "id"))).size(), 2u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?event_id=" + events[0])).size(), 2u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?event_id=" + events[1])).size(), 1u);
  EXPECT_EQ(
      Ids(GetJson("/api/v1/runs?event_id=" + events[1] + "&agent_id=" + Str(agent_2, "id"))).size(),
      0u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?since=2999-01-01T00:00:00Z")).size(), 0u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?until=2000-01-01T00:00:00Z")).size(), 0u);
  EXPECT_EQ(
      Ids(GetJson("/api/v1/runs?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z")).size(),
      5u);

  // Each parked agent holds its oldest run running; the rest wait.
  WaitForRunStatus(all_runs[0], "running");  // agent 1, first event
  WaitForRunStatus(all_runs[1], "running");  // agent 2, first event
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?status=running")),
            (std::vector<std::string>{all_runs[1], all_runs[0]}));
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?status=queued")).size(), 3u);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?status=queued&agent_id=" + Str(agent_2, "id"))),
            std::vector<std::string>{all_runs[4]});
  EXPECT_TRUE(Ids(GetJson("/api/v1/runs?status=succeeded")).empty());

  // Pages of two.
  std::vector<std::string> paged;
  std::string cursor;
  int pages = 0;
  for (; pages < 5; ++pages) {
    json::object p = GetJson("/api/v1/runs?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    std::vector<std::string> ids = Ids(p);
    EXPECT_LE(ids.size(), 2u);
    paged.insert(paged.end(), ids.begin(), ids.end());
    if (p["next_cursor"].is_null()) break;
    cursor = Str(p, "next_cursor");
  }
  EXPECT_EQ(paged, newest_first);
  EXPECT_EQ(pages, 2);

  for (const char* query :
       {"status=done", "since=yesterday", "until=1", "limit=-1", "limit=x", "cursor=next"}) {
    SCOPED_TRACE(query);
    HttpResult r = Api("GET", std::string("/api/v1/runs?") + query);
    EXPECT_EQ(r.status, 400) << r.body;
    std::string name(query);
    EXPECT_EQ(Str(ErrorOf(r), "field"), name.substr(0, name.find('=')));
  }
}

TEST_F(RunsReplayApiTest, RunDetailShowsItsStateAndTheMessageItSends) {
  json::object source = NewSource();
  json::object agent = ParkedAgent();
  const std::string agt = Str(agent, "id");
  json::object with_payload = NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", agt}});
  json::object without_payload =
      NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", agt}, {"include_payload", false}});
  json::object answer = Ingest(source, json::object{{"action", "opened"}, {"number", 7}}, "d-9");
  std::map<std::string, std::string> runs = RunsByTrigger(answer);
  ASSERT_EQ(runs.size(), 2u);

  json::object running = WaitForRunStatus(runs[Str(with_payload, "id")], "running");
  EXPECT_EQ(Str(running, "id"), runs[Str(with_payload, "id")]);
  EXPECT_EQ(Str(running, "event_id"), Str(answer, "event_id"));
  EXPECT_EQ(Str(running, "trigger_id"), Str(with_payload, "id"));
  EXPECT_EQ(Str(running, "agent_id"), agt);
  EXPECT_EQ(running["attempts"].as_int64(), 1);
  EXPECT_EQ(running["max_attempts"].as_int64(), 8);  // the agent's, copied at creation
  EXPECT_FALSE(Str(running, "started_at").empty());
  EXPECT_TRUE(running["finished_at"].is_null());
  EXPECT_FALSE(Str(running, "created_at").empty());

  // The first message is what the target receives: the event, with its payload.
  const json::array& messages = Arr(running, "messages");
  ASSERT_GE(messages.size(), 1u);
  const json::object& sent = messages[0].as_object();
  EXPECT_EQ(Str(sent, "role"), "event");
  EXPECT_EQ(Str(sent, "at"), Str(running, "created_at"));
  json::object content = ParseObject(Str(sent, "content"));
  EXPECT_EQ(Str(content, "run_id"), Str(running, "id"));
  EXPECT_EQ(Str(content, "trigger_id"), Str(with_payload, "id"));
  EXPECT_EQ(Str(content, "agent_id"), agt);
  EXPECT_EQ(Str(content["event"].as_object(), "id"), Str(answer, "event_id"));
  EXPECT_EQ(Str(content["event"].as_object(), "delivery_id"), "d-9");
  EXPECT_EQ(json::serialize(content["payload"]), R"({"action":"opened","number":7})");

  // The other run waits behind it (concurrency 1), and its message leaves the payload out.
  json::object queued = GetJson("/api/v1/runs/" + runs[Str(without_payload, "id")]);
  EXPECT_EQ(Str(queued, "status"), "queued");
  EXPECT_EQ(queued["attempts"].as_int64(), 0);
  EXPECT_FALSE(Str(queued, "next_attempt_at").empty());
  EXPECT_TRUE(queued["started_at"].is_null());
  EXPECT_TRUE(queued["last_error"].is_null());
  json::object bare = ParseObject(Str(Arr(queued, "messages")[0].as_object(), "content"));
  EXPECT_FALSE(bare.contains("payload")) << json::serialize(bare);
  EXPECT_EQ(Str(bare["event"].as_object(), "id"), Str(answer, "event_id"));

  EXPECT_EQ(Api("GET", "/api/v1/runs/run_nope").status, 404);
}

TEST_F(RunsReplayApiTest, RunsAreVisibleToTheirOwnerAndAdminsOnly) {
  Key user = NewKey("user");
  Key builder_a = NewKey("builder");
  Key builder_b = NewKey("builder");
  json::object source = NewSource();
  const std::string src = Str(source, "id");
  // A builder binds triggers only to its own agents.
  const std::string agt_a = Str(ParkedAgent(builder_a.secret, 100), "id");
  const std::string agt_b = Str(ParkedAgent(builder_b.secret, 100), "id");
  json::object a = NewTrigger({{"source_id", src}, {"agent_id", agt_a}}, builder_a.secret);
  json::object b = NewTrigger({{"source_id", src}, {"agent_id", agt_b}}, builder_b.secret);
  std::map<std::string, std::string> runs = RunsByTrigger(Ingest(source, json::object{{"n", 1}}));
  const std::string run_a = runs[Str(a, "id")], run_b = runs[Str(b, "id")];
  ASSERT_FALSE(run_a.empty());
  ASSERT_FALSE(run_b.empty());
  EXPECT_EQ(Str(GetJson("/api/v1/runs/" + run_a), "owner"), builder_a.id);

  EXPECT_EQ(Ids(GetJson("/api/v1/runs", builder_a.secret)), std::vector<std::string>{run_a});
  EXPECT_EQ(Ids(GetJson("/api/v1/runs", builder_b.secret)), std::vector<std::string>{run_b});
  EXPECT_TRUE(Ids(GetJson("/api/v1/runs", user.secret)).empty());
  EXPECT_EQ(Ids(GetJson("/api/v1/runs")).size(), 2u);
  // Filters cannot widen what a key sees.
  EXPECT_TRUE(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(a, "id"), builder_b.secret)).empty());

  for (const Key* k : {&builder_b, &user}) {
    for (const char* route : {"", "/cancel", "/retry"}) {
      HttpResult r = Api(*route ? "POST" : "GET", "/api/v1/runs/" + run_a + route, "", k->secret);
      EXPECT_EQ(r.status, 404) << route << " " << r.body;
      EXPECT_EQ(Str(ErrorOf(r), "type"), "not_found");
    }
  }
  EXPECT_EQ(Api("GET", "/api/v1/runs/" + run_a, "", builder_a.secret).status, 200);
  EXPECT_EQ(Api("GET", "/api/v1/runs/" + run_a).status, 200);
}

TEST_F(RunsReplayApiTest, CancelStopsOnlyWaitingRunsAndRetryOnlyFinishedOnes) {
  Key builder = NewKey("builder");
  json::object source = NewSource();
  json::object agent = ParkedAgent(builder.secret);
  json::object trigger = NewTrigger(
      {{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}}, builder.secret);
  const std::string trg = Str(trigger, "id");
  std::string first = RunsByTrigger(Ingest(source, json::object{{"n", 1}}))[trg];
  std::string second = RunsByTrigger(Ingest(source, json::object{{"n", 2}}))[trg];
  std::string third = RunsByTrigger(Ingest(source, json::object{{"n", 3}}))[trg];
  ASSERT_FALSE(first.empty());
  WaitForRunStatus(first, "running");
  ASSERT_EQ(Str(GetJson("/api/v1/runs/" + second), "status"), "queued");

  // A running attempt cannot be cut short; a queued run cannot be retried.
  HttpResult running = Api("POST", "/api/v1/runs/" + first + "/cancel", "", builder.secret);
  EXPECT_EQ(running.status, 409) << running.body;
  EXPECT_EQ(Str(ErrorOf(running), "type"), "invalid_run_state");
  HttpResult not_failed = Api("POST", "/api/v1/runs/" + second + "/retry", "", builder.secret);
  EXPECT_EQ(not_failed.status, 409) << not_failed.body;
  EXPECT_EQ(Str(ErrorOf(not_failed), "type"), "invalid_run_state");
  HttpResult not_failed_either = Api("POST", "/api/v1/runs/" + first + "/retry");
  EXPECT_EQ(not_failed_either.status, 409);

  // The owner cancels a queued run: 200 with the run, finished.
  json::object cancelled =
      Expect(200, Api("POST", "/api/v1/runs/" + second + "/cancel", "", builder.secret));
  EXPECT_EQ(Str(cancelled, "id"), second);
  EXPECT_EQ(Str(cancelled, "status"), "cancelled");
  EXPECT_FALSE(Str(cancelled, "finished_at").empty());
  EXPECT_TRUE(cancelled["next_attempt_at"].is_null());
  EXPECT_EQ(cancelled["attempts"].as_int64(), 0);
  EXPECT_EQ(Str(Arr(cancelled, "messages")[0].as_object(), "role"), "event");
  // Not twice, and a cancelled run is not retried.
  EXPECT_EQ(Api("POST", "/api/v1/runs/" + second + "/cancel", "", builder.secret).status, 409);
  EXPECT_EQ(Api("POST", "/api/v1/runs/" + second + "/retry", "", builder.secret).status, 409);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?status=cancelled")), std::vector<std::string>{second});
  // An admin may cancel a builder's run.
  EXPECT_EQ(Str(Expect(200, Api("POST", "/api/v1/runs/" + third + "/cancel")), "status"),
            "cancelled");
  EXPECT_EQ(Str(GetJson("/api/v1/runs/" + first), "status"), "running");  // untouched

  EXPECT_EQ(Api("POST", "/api/v1/runs/run_nope/cancel").status, 404);
  EXPECT_EQ(Api("POST", "/api/v1/runs/run_nope/retry").status, 404);
  EXPECT_EQ(Api("GET", "/api/v1/runs/" + second + "/cancel").status, 405);
}

TEST_F(RunsReplayApiTest, RetryQueuesAFailedRunAgainWithAFreshBudget) {
  // A command that cannot be started fails its attempt; with one attempt the run is finished
  // (failed, or dead should the target class the error as retryable).
  std::filesystem::path not_executable = dir_.path() / "not-executable";
  std::ofstream(not_executable) << "#!/bin/sh\nexit 0\n";
  chmod(not_executable.c_str(), 0644);
  json::object agent = NewAgent({{"target",
                                  {{"type", "command"},
                                   {"argv", json::array{not_executable.string()}},
                                   {"timeout_ms", 5000}}},
                                 {"max_attempts", 1}});
  json::object source = NewSource();
  json::object trigger =
      NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}});
  std::string run_id = RunsByTrigger(Ingest(source, json::object{{"n", 1}}))[Str(trigger, "id")];
  ASSERT_FALSE(run_id.empty());
  auto finished = [](const json::object& run) {
    std::string status = Str(run, "status");
    return status == "failed" || status == "dead";
  };
  json::object failed = WaitFor("/api/v1/runs/" + run_id, finished);
  EXPECT_EQ(failed["attempts"].as_int64(), 1);
  EXPECT_FALSE(Str(failed, "finished_at").empty());
  EXPECT_FALSE(Str(failed, "last_error").empty());
  const json::array& messages = Arr(failed, "messages");
  ASSERT_EQ(messages.size(), 2u) << json::serialize(failed);
  EXPECT_EQ(Str(messages[1].as_object(), "role"), "error");
  EXPECT_EQ(messages[1].as_object().at("attempt").as_int64(), 1);

  // Another key's run is not found, whatever the route.
  Key user = NewKey("user");
  EXPECT_EQ(Api("POST", "/api/v1/runs/" + run_id + "/retry", "", user.secret).status, 404);

  json::object retried = Expect(200, Api("POST", "/api/v1/runs/" + run_id + "/retry"));
  EXPECT_EQ(Str(retried, "id"), run_id);
  // Queued again at once; the dispatcher may already have claimed it by the time it is read.
  std::string status = Str(retried, "status");
  EXPECT_TRUE(status == "queued" || status == "running" || finished(retried)) << status;
  json::object again = WaitFor("/api/v1/runs/" + run_id, [&](const json::object& run) {
    return finished(run) && run.at("attempts").as_int64() == 2;
  });
  EXPECT_EQ(Arr(again, "messages").size(), 3u) << json::serialize(again);
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?status=" + Str(again, "status"))),
            std::vector<std::string>{run_id});
}

}  // namespace
}  // namespace triggerd::e2e
