// Issue 18, items 1, 2, 10 and 13, seen from outside: the real binary on 127.0.0.1.
//   1  a trigger filter that reads a credential header is refused when saved;
//   2  filter evaluation has a budget: the expensive evaluations of the report are refused
//      quickly (REST) or recorded as that trigger's failure (ingest), and /healthz and webhooks
//      are answered meanwhile (measured; the bounds are generous, never a speed claim);
//   10 provider signature headers and secret-like names are stored redacted;
//   13 a URL's user name and valueless query keys are shown redacted, and the redacted URL sent
//      back keeps the stored one.
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "api_e2e_fixture.h"
#include "common/crypto.h"

namespace triggerd::e2e {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class SecurityE2eTest : public ApiE2eTest {
 protected:
  // The ingest path of a source answer.
  static std::string IngestPath(const json::object& source) {
    const std::string url = Str(source, "url");
    return url.substr(url.find("/api/v1/w/"));
  }
};

// Item 1: 240 triggers reading $headers.authorization recovered a bearer token from their
// matched/ignored outcomes. A filter may not read a credential header at all.
TEST_F(SecurityE2eTest, TriggerReadingACredentialHeaderIsRefusedAtSave) {
  json::object source = NewSource();
  const Key builder = NewKey("builder");
  json::object agent = ParkedAgent(builder.secret);  // a builder binds only its own agents
  for (const char* filter : {R"((matches "$headers.authorization" "^Bearer tdt_a"))",
                             R"((and (eq "action" "x") (exists "$headers.X-Shopify-Hmac-Sha256")))",
                             R"((starts-with "$headers.x-password" "h"))"}) {
    HttpResult r = Api("POST", "/api/v1/triggers",
                       json::object{{"source_id", Str(source, "id")},
                                    {"agent_id", Str(agent, "id")},
                                    {"filter", filter}},
                       builder.secret);
    EXPECT_EQ(r.status, 400) << filter << ": " << r.body;
    json::object error = ErrorOf(r);
    EXPECT_EQ(Str(error, "type"), "filter_reads_credential") << r.body;
    EXPECT_EQ(Str(error, "field"), "filter") << r.body;
  }
  // Other headers stay readable.
  NewTrigger({{"source_id", Str(source, "id")},
              {"agent_id", Str(agent, "id")},
              {"filter", R"((eq "$headers.X-GitHub-Event" "push"))"}},
             builder.secret);
}

// Item 2: 450 KB /api/v1/filters/eval requests from a user key each held a thread for minutes.
// The route runs on the blocking pool (6 threads), so six of them in flight held every
// management call; now each evaluation has a budget. Six attackers loop for a while, and
// /healthz, a webhook and a management call are timed meanwhile.
TEST_F(SecurityE2eTest, ExpensiveEvaluationsAreRefusedAndDoNotStallHealthzOrWebhooks) {
  const Key user = NewKey("user");
  json::object source = NewSource();
  const std::string as(450 * 1000, 'a');
  json::array numbers;
  for (int i = 0; i < 200 * 1000; ++i) numbers.push_back(1);
  std::string many_values = "(";
  for (int i = 0; i < 20 * 1000; ++i) many_values += "2 ";
  many_values += ")";
  struct Attack {
    json::object body;
    int status;
    const char* type;  // "" when the evaluation answers 200
  };
  const std::vector<Attack> attacks = {
      // RE2 is linear in the input, but this program is ~3000 instructions run over 450 KB.
      {{{"filter", R"((matches "text" "a[ab]{1000}c"))"}, {"payload", {{"text", as}}}},
       400,
       "invalid_filter"},
      // Naive substring search: 450 KB x 30 KB comparisons. A linear search answers at once.
      {{{"filter", R"((contains "text" ")" + std::string(30 * 1000, 'a') + R"(b"))"},
        {"payload", {{"text", as}}}},
       200,
       ""},
      // 200,000 elements x 20,000 values.
      {{{"filter", "(has-any \"n\" " + many_values + ")"}, {"payload", {{"n", numbers}}}},
       422,
       "filter_budget_exceeded"},
  };
  std::vector<std::string> bodies;
  for (const Attack& a : attacks) bodies.push_back(json::serialize(a.body));

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> failures;
  double slowest_attack_ms = 0;
  auto attacker = [&](size_t first) {
    HttpClient client("127.0.0.1", process_->port());
    for (size_t i = first; !stop.load(); ++i) {
      const size_t k = i % attacks.size();
      const auto start = Clock::now();
      HttpResult r = client.Send("POST", "/api/v1/filters/eval", bodies[k],
                                 {{"Authorization", "Bearer " + user.secret},
                                  {"Content-Type", "application/json"}});
      const double ms = MillisSince(start);
      std::lock_guard lock(mu);
      slowest_attack_ms = std::max(slowest_attack_ms, ms);
      json::object answer = ParseObject(r.body);
      const json::value* error = answer.if_contains("error");
      const std::string type =
          error && error->is_object() ? Str(error->as_object(), "type") : std::string();
      if (r.status != attacks[k].status || type != attacks[k].type) {
        failures.push_back("attack " + std::to_string(k) + ": " + std::to_string(r.status) +
                           " " + r.body.substr(0, 300));
      }
    }
  };
  std::vector<std::thread> attackers;
  for (size_t i = 0; i < 6; ++i) attackers.emplace_back(attacker, i);

  HttpClient probe("127.0.0.1", process_->port());
  const std::string path = IngestPath(source);
  double healthz_max_ms = 0, webhook_max_ms = 0, management_max_ms = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the attack is under way
  const auto window = Clock::now();
  for (int i = 0; MillisSince(window) < 1500 || i < 3; ++i) {
    auto start = Clock::now();
    HttpResult health = probe.Send("GET", "/healthz");
    healthz_max_ms = std::max(healthz_max_ms, MillisSince(start));
    EXPECT_EQ(health.status, 200);
    start = Clock::now();
    HttpResult webhook = probe.Send("POST", path, R"({"i":)" + std::to_string(i) + "}",
                                    {{"Content-Type", "application/json"}});
    webhook_max_ms = std::max(webhook_max_ms, MillisSince(start));
    EXPECT_EQ(webhook.status, 200) << webhook.body;
    start = Clock::now();
    HttpResult sources = probe.Send("GET", "/api/v1/sources", "",
                                    {{"Authorization", "Bearer " + user.secret}});
    management_max_ms = std::max(management_max_ms, MillisSince(start));
    EXPECT_EQ(sources.status, 200) << sources.body;
  }
  stop = true;
  for (std::thread& t : attackers) t.join();
  std::cout << "[ measured ] during the attack: /healthz max " << healthz_max_ms
            << " ms, webhook max " << webhook_max_ms << " ms, GET /api/v1/sources max "
            << management_max_ms << " ms, slowest attack request " << slowest_attack_ms
            << " ms\n";
  // Generous bounds for a loaded 2-core machine, not speed claims: before the budget an attack
  // request took minutes, and with six in flight so did every management call.
  EXPECT_LT(healthz_max_ms, 1000);
  EXPECT_LT(webhook_max_ms, 2000);
  EXPECT_LT(management_max_ms, 2000);
  EXPECT_LT(slowest_attack_ms, 5000);
  for (const std::string& f : failures) ADD_FAILURE() << f;
}

// Item 2 at ingest: a trigger whose filter exceeds the budget on an event is recorded as that
// trigger's failure, and the webhook is answered without a stall.
TEST_F(SecurityE2eTest, AnIngestEvaluationOverTheBudgetIsTheTriggersFailure) {
  json::object source = NewSource();
  json::object agent = ParkedAgent();
  std::string many_values = "(";
  for (int i = 0; i < 20 * 1000; ++i) many_values += "2 ";
  many_values += ")";
  json::object heavy = NewTrigger({{"source_id", Str(source, "id")},
                                   {"agent_id", Str(agent, "id")},
                                   {"filter", "(has-any \"n\" " + many_values + ")"}});
  json::object light = NewTrigger({{"source_id", Str(source, "id")},
                                   {"agent_id", Str(agent, "id")},
                                   {"filter", R"((exists "n"))"}});
  json::array numbers;
  for (int i = 0; i < 200 * 1000; ++i) numbers.push_back(1);
  const auto start = Clock::now();
  json::object answer = Ingest(source, json::object{{"n", numbers}});
  const double ms = MillisSince(start);
  std::cout << "[ measured ] webhook with an over-budget trigger: " << ms << " ms\n";
  EXPECT_LT(ms, 2000);
  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  std::map<std::string, json::object> by_trigger;
  for (const auto& m : Arr(event, "matches")) {
    by_trigger[Str(m.as_object(), "trigger_id")] = m.as_object();
  }
  EXPECT_EQ(Str(by_trigger[Str(heavy, "id")], "outcome"), "filter_error");
  EXPECT_NE(Str(by_trigger[Str(heavy, "id")], "message").find("budget"), std::string::npos)
      << json::serialize(by_trigger[Str(heavy, "id")]);
  EXPECT_EQ(Str(by_trigger[Str(light, "id")], "outcome"), "matched");
}

// Item 10: Shopify's signature header was stored in clear (and replayed), as were secret-like
// names such as X-Password.
TEST_F(SecurityE2eTest, ProviderSignatureAndSecretLikeHeadersAreStoredRedacted) {
  const std::string secret = "shpss_e2e_client_secret";
  json::object source = Expect(201, Api("POST", "/api/v1/sources",
                                        json::object{{"name", "shop"},
                                                     {"kind", "shopify"},
                                                     {"secret", secret}}));
  const std::string body = R"({"id":1,"email":"a@b.example"})";
  const std::string signature =
      crypto::Base64Encode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, body));
  HttpResult r = client_->Send("POST", IngestPath(source), body,
                               {{"Content-Type", "application/json"},
                                {"X-Shopify-Topic", "orders/create"},
                                {"X-Shopify-Hmac-Sha256", signature},
                                {"X-Password", "hunter2"},
                                {"X-Session-Id", "s3ss10n"},
                                {"X-Request-Id", "req-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object event = GetJson("/api/v1/events/" + Str(ParseObject(r.body), "event_id"));
  const json::object& headers = event["headers"].as_object();
  auto header = [&](std::string_view name) {
    for (const auto& [k, v] : headers) {
      if (HeaderNameEquals(k, name)) return std::string(v.as_string());
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(header("X-Shopify-Hmac-Sha256"), "[redacted]");
  EXPECT_EQ(header("X-Password"), "[redacted]");
  EXPECT_EQ(header("X-Session-Id"), "[redacted]");
  EXPECT_EQ(header("X-Request-Id"), "req-1");
  EXPECT_EQ(header("X-Shopify-Topic"), "orders/create");
  EXPECT_EQ(r.body.find(signature), std::string::npos);
}

// Item 13: the user name of a URL's userinfo and a query key without a value (often a bare
// token) were shown in clear; the redacted URL sent back must keep the stored one.
TEST_F(SecurityE2eTest, AgentUrlHidesTheUserNameAndValuelessQueryKeys) {
  const std::string url = "http://hookbot@127.0.0.1:" + std::to_string(silent_.port()) +
                          "/hook?sk_live_0123456789&team=blue";
  json::object agent = NewAgent(
      {{"name", "a"}, {"target", {{"type", "http"}, {"url", url}, {"timeout_ms", 1000}}}});
  const std::string shown = "http://redacted@127.0.0.1:" + std::to_string(silent_.port()) +
                            "/hook?redacted&team=redacted";
  EXPECT_EQ(Str(agent["target"].as_object(), "url"), shown);
  // Sent back as shown: accepted, and still shown the same (the stored URL kept).
  json::object patched =
      Expect(200, Api("PATCH", "/api/v1/agents/" + Str(agent, "id"),
                      json::object{{"target", agent["target"]}}));
  EXPECT_EQ(Str(patched["target"].as_object(), "url"), shown);
  EXPECT_EQ(patched["target"].as_object().if_contains("url")->as_string().find("sk_live"),
            std::string::npos);
}

}  // namespace
}  // namespace triggerd::e2e
