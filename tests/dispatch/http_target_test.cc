// The http target against a real loopback agent (the project's http::Server).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "agent_stub.h"
#include "common/crypto.h"
#include "dispatch/target.h"
#include "outbound/outbound.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::dispatch {
namespace {

using testing::AgentStub;
using ::testing::HasSubstr;
using testing::JsonAnswer;
using testing::RecordedRequest;
using ::testing::StartsWith;
using Kind = DeliveryResult::Kind;

// The Standard Webhooks / Svix documentation's example secret.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr int64_t kNow = 1'700'000'000;

class HttpTargetTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(stub_.started()); }

  std::unique_ptr<Target> Make(int timeout_ms = 5000,
                               std::vector<std::pair<std::string, std::string>> headers = {},
                               std::string path = "/hook") {
    TargetConfig config;
    config.type = TargetType::kHttp;
    config.http.url = stub_.Url(path);
    config.http.headers = std::move(headers);
    config.http.timeout_ms = timeout_ms;
    auto target = MakeTarget(config);
    EXPECT_OK(target);
    return target ? std::move(target).value() : nullptr;
  }

  static Delivery MakeDelivery() {
    Delivery d;
    d.run_id = "run_0AbCdEf";
    d.event_id = "evt_1";
    d.source_id = "src_1";
    d.trigger_id = "trg_1";
    d.agent_id = "agt_1";
    d.attempt = 3;
    d.message = R"({"run_id":"run_0AbCdEf","payload":{"action":"opened","n":1}})";
    d.payload = R"({"action":"opened","n":1})";
    d.signing_secret = std::string(kSecret);
    d.now_unix_seconds = kNow;
    return d;
  }

  AgentStub stub_;
};

TEST_F(HttpTargetTest, PostsTheMessageSignedTheStandardWebhooksWay) {
  stub_.SetAnswer([](const RecordedRequest&) { return JsonAnswer(200, R"({"ok":true})"); });
  auto target = Make();
  const Delivery d = MakeDelivery();
  const DeliveryResult r = target->Deliver(d);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, R"({"ok":true})");

  const auto requests = stub_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/hook");
  EXPECT_EQ(req.body, d.message);
  EXPECT_EQ(req.Header("Content-Type"), "application/json");
  EXPECT_EQ(req.Header("User-Agent"), "triggerd");
  EXPECT_EQ(req.Header("X-Triggerd-Attempt"), "3");
  EXPECT_EQ(req.Header("webhook-id"), d.run_id);
  EXPECT_EQ(req.Header("webhook-timestamp"), "1700000000");
  EXPECT_FALSE(req.HasHeader("Expect"));

  // The project's verifier accepts it...
  verify::Secrets secrets;
  secrets.signing = {std::string(kSecret)};
  auto verifier = verify::MakeVerifier("standard-webhooks", verify::AuthSettings{}, secrets);
  ASSERT_OK(verifier);
  EXPECT_OK((*verifier)->Verify({req.headers, req.body, "POST", stub_.Url("/hook"), kNow}));
  // ... and refuses the same headers on another body.
  EXPECT_FALSE((*verifier)->Verify({req.headers, req.body + " ", "POST", "", kNow}).ok());

  // Recomputed by hand: key = base64-decoded part after whsec_, content "id.ts.body".
  auto key = crypto::Base64Decode(kSecret.substr(6));
  ASSERT_TRUE(key.has_value());
  const std::string expected =
      "v1," + crypto::Base64Encode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, *key,
                                                d.run_id + ".1700000000." + d.message));
  EXPECT_EQ(req.Header("webhook-signature"), expected);
}

TEST_F(HttpTargetTest, SendsConfiguredHeadersAndLetsThemReplaceDefaults) {
  auto target = Make(5000, {{"Authorization", "Bearer agent-token"},
                            {"Content-Type", "application/cloudevents+json"},
                            {"X-Empty", ""},
                            {"X-Custom", "caf\xC3\xA9"}});
  const DeliveryResult r = target->Deliver(MakeDelivery());
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  const auto req = stub_.Requests().at(0);
  EXPECT_EQ(req.Header("Authorization"), "Bearer agent-token");
  EXPECT_EQ(req.Header("Content-Type"), "application/cloudevents+json");
  EXPECT_TRUE(req.HasHeader("X-Empty"));
  EXPECT_EQ(req.Header("X-Empty"), "");
  EXPECT_EQ(req.Header("X-Custom"), "caf\xC3\xA9");
  size_t content_types = 0;
  for (const auto& h : req.headers) content_types += HeaderNameEquals(h.name, "Content-Type");
  EXPECT_EQ(content_types, 1u);
  EXPECT_EQ(req.Header("User-Agent"), "triggerd");
}

TEST_F(HttpTargetTest, EmptyAnswerIsAnEmptyReply) {
  stub_.SetAnswer([](const RecordedRequest&) { return JsonAnswer(204, ""); });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "");
}

TEST_F(HttpTargetTest, ServerErrorIsRetryableWithTheStartOfTheBody) {
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(503, "overloaded " + std::string(2000, 'x'));
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_THAT(r.error, StartsWith("HTTP 503: overloaded xxx"));
  EXPECT_EQ(r.error.size(), std::string("HTTP 503: ").size() + 512);
  EXPECT_EQ(r.retry_after_ms, std::nullopt);
}

TEST_F(HttpTargetTest, RetryAfterSecondsOn503) {
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(503, "{}", {{"Retry-After", "7"}});
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.retry_after_ms, 7000);
}

TEST_F(HttpTargetTest, RetryAfterHttpDateOn429IsRelativeToTheDeliveryClock) {
  // 2023-11-14T22:15:20Z = kNow + 120 s.
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(429, "{}", {{"Retry-After", "Tue, 14 Nov 2023 22:15:20 GMT"}});
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.retry_after_ms, 120'000);
}

TEST_F(HttpTargetTest, ClassifiesStatuses) {
  std::atomic<int> status{0};
  stub_.SetAnswer([&](const RecordedRequest&) { return JsonAnswer(status, "{}"); });
  auto target = Make();
  const std::pair<int, Kind> cases[] = {{200, Kind::kSucceeded}, {201, Kind::kSucceeded},
                                        {408, Kind::kRetryable}, {429, Kind::kRetryable},
                                        {500, Kind::kRetryable}, {502, Kind::kRetryable},
                                        {400, Kind::kPermanent}, {401, Kind::kPermanent},
                                        {404, Kind::kPermanent}, {410, Kind::kPermanent}};
  for (const auto& [code, kind] : cases) {
    status = code;
    const DeliveryResult r = target->Deliver(MakeDelivery());
    EXPECT_EQ(r.kind, kind) << code << " " << r.error;
    if (kind != Kind::kSucceeded) {
      EXPECT_THAT(r.error, StartsWith("HTTP " + std::to_string(code)));
    }
  }
}

TEST_F(HttpTargetTest, RedirectIsPermanentAndNotFollowed) {
  const std::string elsewhere = stub_.Url("/elsewhere");
  stub_.SetAnswer([&](const RecordedRequest&) {
    return JsonAnswer(307, "", {{"Location", elsewhere}});
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, StartsWith("HTTP 307 (redirects are not followed; Location: " + elsewhere));
  const auto requests = stub_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/hook");
}

TEST_F(HttpTargetTest, SlowAgentTimesOut) {
  stub_.HoldAnswers();
  auto target = Make(300);
  const auto started = std::chrono::steady_clock::now();
  const DeliveryResult r = target->Deliver(MakeDelivery());
  const auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_THAT(r.error, StartsWith("timed out after 300 ms: "));
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  // "Did not hang": loose, the suite also runs loaded and under ASan.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST_F(HttpTargetTest, HugeAnswerIsTruncatedAtTheReplyLimit) {
  stub_.SetAnswer(
      [](const RecordedRequest&) { return JsonAnswer(200, std::string(3 * kMaxReplyBytes, 'r')); });
  const auto started = std::chrono::steady_clock::now();
  const DeliveryResult r = Make(3000)->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply.size(), kMaxReplyBytes);
  // "Did not hang": loose, the suite also runs loaded and under ASan.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(HttpTargetTest, AnswerAtTheReplyLimitIsKeptWhole) {
  stub_.SetAnswer(
      [](const RecordedRequest&) { return JsonAnswer(200, std::string(kMaxReplyBytes, 'r')); });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply.size(), kMaxReplyBytes);
}

TEST_F(HttpTargetTest, TruncationDoesNotSplitACharacter) {
  // 'x' then 3-byte characters: the limit falls inside one.
  stub_.SetAnswer([](const RecordedRequest&) {
    std::string body = "x";
    while (body.size() < kMaxReplyBytes + 10) body += "\xE2\x82\xAC";
    return JsonAnswer(200, body);
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_LE(r.reply.size(), kMaxReplyBytes);
  EXPECT_GE(r.reply.size(), kMaxReplyBytes - 3);
  EXPECT_EQ((r.reply.size() - 1) % 3, 0u);
}

TEST_F(HttpTargetTest, ConnectionRefusedIsRetryable) {
  // A port that was free a moment ago and has no listener.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  TargetConfig config;
  config.type = TargetType::kHttp;
  config.http.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hook";
  config.http.timeout_ms = 1000;
  auto target = MakeTarget(config);
  ASSERT_OK(target);
  const DeliveryResult r = (*target)->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(HttpTargetTest, ReusesTheConnectionAcrossAttemptsOfAThread) {
  auto target = Make();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(target->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  }
  // A second target to the same agent shares the thread's connection cache too.
  EXPECT_EQ(Make()->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  EXPECT_EQ(stub_.Requests().size(), 6u);
  EXPECT_EQ(stub_.open_connections(), 1u);
}

TEST_F(HttpTargetTest, ManyThreadsDeliverConcurrently) {
  stub_.SetAnswer([](const RecordedRequest& req) { return JsonAnswer(200, req.body); });
  auto target = Make();
  constexpr int kThreads = 8, kEach = 10;
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Delivery d = MakeDelivery();
        d.run_id = "run_" + std::to_string(t) + "x" + std::to_string(i);
        d.message = "{\"n\":\"" + d.run_id + "\"}";
        const DeliveryResult r = target->Deliver(d);
        if (r.kind == Kind::kSucceeded && r.reply == d.message) ++succeeded;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded, kThreads * kEach);
  EXPECT_EQ(stub_.Requests().size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(HttpTargetTest, LeavesTheThreadSignalMaskAsItWas) {
  // SIGPIPE is blocked around the transfer only.
  sigset_t before, after;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  EXPECT_EQ(Make()->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_EQ(sigismember(&after, SIGPIPE), sigismember(&before, SIGPIPE));
}

TEST_F(HttpTargetTest, WithoutAUsableSecretNothingIsSent) {
  auto target = Make();
  for (std::string secret : {"", "whsec_", "whsec_!!!not base64!!!"}) {
    Delivery d = MakeDelivery();
    d.signing_secret = secret;
    const DeliveryResult r = target->Deliver(d);
    EXPECT_EQ(r.kind, Kind::kPermanent) << secret;
    EXPECT_THAT(r.error, HasSubstr("signing secret"));
  }
  EXPECT_TRUE(stub_.Requests().empty());
}

outbound::Policy MakePolicy(const std::vector<std::string>& deny,
                            const std::vector<std::string>& allow = {}) {
  auto policy = outbound::Policy::Make(deny, allow);
  EXPECT_OK(policy);
  return policy ? *policy : outbound::Policy::Default();
}

// The outbound policy (outbound/outbound.h) is checked where libcurl opens the connection: a
// refused agent gets no request, and the attempt fails for good with the policy's reason.
TEST_F(HttpTargetTest, AnAgentTheOutboundPolicyDeniesGetsNoRequestAndTheAttemptFailsForGood) {
  outbound::ScopedProcessPolicy policy(MakePolicy({"loopback"}));
  auto target = Make(2000);
  const DeliveryResult r = target->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);  // retrying cannot help until the policy changes
  EXPECT_EQ(r.error, "outbound policy refused 127.0.0.1 (outbound.deny_networks: loopback)");
  EXPECT_TRUE(stub_.Requests().empty());
}

TEST_F(HttpTargetTest, AnAllowedNetworkOverridesTheDenyAndIsDelivered) {
  outbound::ScopedProcessPolicy policy(MakePolicy({"loopback"}, {"127.0.0.0/24"}));
  auto target = Make(2000);
  const DeliveryResult r = target->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(stub_.Requests().size(), 1u);
}

// A worker's kept-alive connection does not outlive the policy that allowed it: the next
// attempt under a new policy opens (and checks) a connection of its own.
TEST_F(HttpTargetTest, ANewPolicyAppliesToTheNextAttemptDespiteAKeptAliveConnection) {
  auto target = Make(2000);
  ASSERT_EQ(target->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  outbound::ScopedProcessPolicy policy(MakePolicy({"loopback"}));
  const DeliveryResult r = target->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.error, "outbound policy refused 127.0.0.1 (outbound.deny_networks: loopback)");
  EXPECT_EQ(stub_.Requests().size(), 1u);
}

// The cloud metadata service under the default policy: refused in the open-socket callback, so
// no packet is needed (nor sent). Before it is tried, this test proves on loopback that the
// guard is in force, so that a regression cannot send traffic to 169.254.169.254.
TEST_F(HttpTargetTest, TheDefaultPolicyRefusesTheCloudMetadataServiceBeforeConnecting) {
  {
    outbound::ScopedProcessPolicy policy(MakePolicy({"loopback"}));
    ASSERT_EQ(Make(1000)->Deliver(MakeDelivery()).kind, Kind::kPermanent);
    ASSERT_TRUE(stub_.Requests().empty());
  }
  sockaddr_in metadata{};
  metadata.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "169.254.169.254", &metadata.sin_addr), 1);
  ASSERT_FALSE(outbound::ProcessPolicy()->Allows(reinterpret_cast<const sockaddr*>(&metadata)));

  TargetConfig config;
  config.type = TargetType::kHttp;
  config.http.url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/";
  config.http.timeout_ms = 1000;  // quick even if it did connect
  auto target = MakeTarget(config);
  ASSERT_OK(target);
  const DeliveryResult r = (*target)->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.error,
            "outbound policy refused 169.254.169.254 (outbound.deny_networks: link-local)");
}

}  // namespace
}  // namespace triggerd::dispatch
