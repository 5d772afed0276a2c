// One nesting limit for JSON payloads (issue 18, item 7; common/json_parse.h, kMaxJsonDepth): a
// body nested exactly to the limit is accepted and reads back intact through every reader — the
// event API, the agent's message, replay's filter — and one level more is refused at ingest.
// Before the limit was shared, ingest accepted 128 levels while the readers parsed with
// Boost.JSON's default of 32, so a 33–128-deep payload read back as null (API), a string (agent)
// and null on replay (no run).
#include <gtest/gtest.h>

#include <string>

#include "api_e2e_fixture.h"
#include "common/json_parse.h"
#include "recording_target.h"

namespace triggerd::e2e {
namespace {

// {"action":"opened","deep":[[…]]}: `depth` levels of objects and arrays in all.
std::string NestedBody(size_t depth) {
  return R"({"action":"opened","deep":)" + std::string(depth - 1, '[') +
         std::string(depth - 1, ']') + "}";
}

// Parses what the service sends back, which nests a level or two deeper than the payload.
json::value ParseDeep(const std::string& text) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth + 8;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  EXPECT_FALSE(ec) << ec.message();
  return v;
}

class PayloadDepthE2eTest : public ApiE2eTest {};

TEST_F(PayloadDepthE2eTest, APayloadAtTheLimitReadsBackIntactEverywhere) {
  testing::RecordingTarget agent_endpoint(
      [](const auto&, const auto&) { return testing::RecordingTarget::Reply(200); });
  json::object source = NewSource();
  json::object agent = NewAgent(
      {{"target", {{"type", "http"}, {"url", agent_endpoint.Url("/hook")}, {"timeout_ms", 5000}}}});
  NewTrigger({{"source_id", Str(source, "id")},
              {"agent_id", Str(agent, "id")},
              {"filter", "(eq \"action\" \"opened\")"}});
  const std::string body = NestedBody(kMaxJsonDepth);
  ASSERT_GT(kMaxJsonDepth, 32u);  // Boost.JSON's default, which the readers used to apply

  std::string path = Str(source, "url").substr(Str(source, "url").find("/api/v1/w/"));
  HttpResult ingested = client_->Send("POST", path, body, {{"Content-Type", "application/json"}});
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  json::object answer = ParseObject(ingested.body);
  ASSERT_EQ(Arr(answer, "runs").size(), 1u) << ingested.body;
  const std::string event_id = Str(answer, "event_id");

  // The event API: the payload as sent, not null.
  HttpResult detail = Api("GET", "/api/v1/events/" + event_id);
  ASSERT_EQ(detail.status, 200) << detail.body;
  EXPECT_EQ(json::serialize(ParseDeep(detail.body).at("payload")), body);

  // The agent: the payload as JSON inside its message, not a string.
  ASSERT_TRUE(agent_endpoint.WaitFor([](const auto& got) { return !got.empty(); },
                                     std::chrono::seconds(15)));
  json::value message = ParseDeep(agent_endpoint.requests().front().body);
  EXPECT_EQ(json::serialize(message.at("payload")), body);

  // Replay: the filter sees the payload again, so the trigger matches and a run starts.
  json::object replay = Expect(200, Api("POST", "/api/v1/events/" + event_id + "/replay"));
  EXPECT_EQ(Arr(replay, "runs").size(), 1u) << json::serialize(replay);
}

TEST_F(PayloadDepthE2eTest, APayloadOneLevelDeeperIsRefusedAtIngest) {
  json::object source = NewSource();
  std::string path = Str(source, "url").substr(Str(source, "url").find("/api/v1/w/"));
  HttpResult r = client_->Send("POST", path, NestedBody(kMaxJsonDepth + 1),
                               {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400) << r.body;
  json::object error = ErrorOf(r);
  EXPECT_EQ(Str(error, "type"), "invalid_body");
  EXPECT_NE(Str(error, "message").find("deeper than " + std::to_string(kMaxJsonDepth)),
            std::string::npos)
      << r.body;
  // Nothing was stored.
  EXPECT_TRUE(Arr(GetJson("/api/v1/events"), "data").empty());
}

}  // namespace
}  // namespace triggerd::e2e
