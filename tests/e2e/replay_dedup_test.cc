// Replay protection and de-duplication together, on the real binary with real signatures
// (Standard Webhooks: HMAC-SHA256 over "id.timestamp.body", computed here with OpenSSL).
// A captured request replayed inside the window is a duplicate (200, same event, no new run);
// outside the window it is refused (401) and stores nothing; a provider's legitimate retry
// (same id, fresh timestamp and signature) is a duplicate; the window is per source.
#include <ctime>

#include "api_e2e_fixture.h"
#include "common/crypto.h"

namespace triggerd::e2e {
namespace {

class ReplayDedupTest : public ApiE2eTest {
 protected:
  // A standard-webhooks source with a trigger on it; returns the source (with its secret).
  json::object SignedSource(const std::string& name, json::object auth = {}) {
    json::object spec{{"name", name}, {"kind", "standard-webhooks"}};
    if (!auth.empty()) spec["auth"] = auth;
    json::object source = Expect(201, Api("POST", "/api/v1/sources", spec));
    NewTrigger({{"name", name}, {"source_id", Str(source, "id")}, {"agent_id", Str(agent_, "id")}});
    return source;
  }

  HttpResult Send(const json::object& source, const std::string& id, int64_t timestamp,
                  const std::string& body) {
    std::string secret = Str(source, "secret");
    auto key = crypto::Base64Decode(secret.substr(secret.find('_') + 1));
    EXPECT_TRUE(key.has_value()) << secret;
    const std::string ts = std::to_string(timestamp);
    const std::string mac = crypto::HmacParts(crypto::DigestAlgorithm::kSha256, key.value_or(""),
                                              {id, ".", ts, ".", body});
    std::string url = Str(source, "url");
    return client_->Send("POST", url.substr(url.find("/api/v1/w/")), body,
                         {{"Content-Type", "application/json"},
                          {"webhook-id", id},
                          {"webhook-timestamp", ts},
                          {"webhook-signature", "v1," + crypto::Base64Encode(mac)}});
  }

  size_t Count(const std::string& list_path) { return Arr(GetJson(list_path), "data").size(); }

  void SetUp() override {
    ApiE2eTest::SetUp();
    agent_ = ParkedAgent("", 4);
  }

  json::object agent_;
};

TEST_F(ReplayDedupTest, ReplaysAreDuplicatesInsideTheWindowAndRefusedOutsideIt) {
  json::object source = SignedSource("sw");
  const std::string events = "/api/v1/events?source_id=" + Str(source, "id");
  const int64_t now = std::time(nullptr);
  const std::string body = R"({"type":"invoice.paid","amount":42})";

  HttpResult first = Send(source, "msg_1", now, body);
  ASSERT_EQ(first.status, 200) << first.body;
  json::object a = ParseObject(first.body);
  EXPECT_FALSE(a.at("duplicate").as_bool());
  ASSERT_EQ(RunsByTrigger(a).size(), 1u);

  // The captured request, byte for byte, a moment later: a duplicate, nothing new.
  HttpResult replayed = Send(source, "msg_1", now, body);
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  json::object b = ParseObject(replayed.body);
  EXPECT_TRUE(b.at("duplicate").as_bool());
  EXPECT_EQ(Str(b, "event_id"), Str(a, "event_id"));
  EXPECT_TRUE(RunsByTrigger(b).empty()) << replayed.body;

  // The provider's own retry: same id, new timestamp and signature. Still the same event.
  HttpResult retried = Send(source, "msg_1", now + 30, body);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Str(ParseObject(retried.body), "event_id"), Str(a, "event_id"));

  // Outside the default 5-minute window, either way, a valid signature is not enough.
  for (int64_t ts : {now - 6 * 60, now + 6 * 60}) {
    HttpResult stale = Send(source, "msg_2", ts, body);
    EXPECT_EQ(stale.status, 401) << stale.body;
    EXPECT_EQ(Str(ErrorOf(stale), "type"), "timestamp_out_of_tolerance");
  }
  // An old capture of the first message is refused too, not reported as a duplicate: the
  // window is checked before anything is looked up, so a replay learns nothing.
  HttpResult old_capture = Send(source, "msg_1", now - 3600, body);
  EXPECT_EQ(old_capture.status, 401) << old_capture.body;

  // Inside the window, a new id is a new event.
  HttpResult second = Send(source, "msg_2", now - 4 * 60, body);
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_FALSE(ParseObject(second.body).at("duplicate").as_bool());

  // Exactly two events and two runs: the refusals stored nothing, the duplicates started nothing.
  EXPECT_EQ(Count(events), 2u);
  EXPECT_EQ(Count("/api/v1/runs?agent_id=" + Str(agent_, "id")), 2u);
}

TEST_F(ReplayDedupTest, TheWindowIsConfigurablePerSource) {
  json::object wide = SignedSource("wide", {{"tolerance_seconds", 1800}});
  json::object normal = SignedSource("normal");
  const int64_t twenty_minutes_ago = std::time(nullptr) - 20 * 60;
  const std::string body = R"({"n":1})";

  EXPECT_EQ(Send(wide, "m", twenty_minutes_ago, body).status, 200);
  EXPECT_EQ(Send(wide, "m", twenty_minutes_ago, body).status, 200);  // duplicate
  EXPECT_EQ(Send(normal, "m", twenty_minutes_ago, body).status, 401);
  EXPECT_EQ(Count("/api/v1/events?source_id=" + Str(wide, "id")), 1u);
  EXPECT_EQ(Count("/api/v1/events?source_id=" + Str(normal, "id")), 0u);

  // The same delivery id on another source is another event: dedup is per source.
  const int64_t now = std::time(nullptr);
  EXPECT_EQ(Send(normal, "m", now, body).status, 200);
  EXPECT_EQ(Count("/api/v1/events?source_id=" + Str(normal, "id")), 1u);
  EXPECT_EQ(Count("/api/v1/runs?agent_id=" + Str(agent_, "id")), 2u);
}

}  // namespace
}  // namespace triggerd::e2e
