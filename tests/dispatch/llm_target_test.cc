// The llm target against a loopback stand-in speaking the chat-completions wire format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>

#include "agent_stub.h"
#include "dispatch/target.h"
#include "test_util.h"

namespace triggerd::dispatch {
namespace {

using testing::AgentStub;
using ::testing::HasSubstr;
using testing::JsonAnswer;
using ::testing::Not;
using testing::RecordedRequest;
using ::testing::StartsWith;
using Kind = DeliveryResult::Kind;

constexpr char kKeyVariable[] = "TRIGGERD_TEST_LLM_KEY";

std::string Completion(const boost::json::value& content) {
  return boost::json::serialize(boost::json::object{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"model", "test-model"},
      {"choices", boost::json::array{boost::json::object{
                      {"index", 0},
                      {"message", boost::json::object{{"role", "assistant"}, {"content", content}}},
                      {"finish_reason", "stop"}}}}});
}

class LlmTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stub_.started());
    setenv(kKeyVariable, "sk-test-123", 1);
    stub_.SetAnswer([](const RecordedRequest&) { return JsonAnswer(200, Completion("Done.")); });
  }
  void TearDown() override { unsetenv(kKeyVariable); }

  std::unique_ptr<Target> Make(std::string api_key_env = kKeyVariable, int timeout_ms = 5000,
                               std::string base_path = "/v1") {
    TargetConfig config;
    config.type = TargetType::kLlm;
    config.llm.base_url = stub_.Url(base_path);
    config.llm.model = "test-model";
    config.llm.api_key_env = std::move(api_key_env);
    config.llm.timeout_ms = timeout_ms;
    auto target = MakeTarget(config);
    EXPECT_OK(target);
    return target ? std::move(target).value() : nullptr;
  }

  static Delivery MakeDelivery() {
    Delivery d;
    d.run_id = "run_llm1";
    d.attempt = 2;
    d.message = R"({"run_id":"run_llm1","payload":{"title":"Fix \"bug\"\n"}})";
    d.instructions = "Summarise the pull request in one line.";
    d.now_unix_seconds = 1'700'000'000;
    return d;
  }

  AgentStub stub_;
};

TEST_F(LlmTargetTest, SendsAChatCompletionAndReturnsTheAssistantMessage) {
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "Done.");

  const auto requests = stub_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/v1/chat/completions");
  EXPECT_EQ(req.Header("Authorization"), "Bearer sk-test-123");
  EXPECT_EQ(req.Header("Content-Type"), "application/json");
  EXPECT_EQ(req.Header("X-Triggerd-Run-Id"), "run_llm1");
  EXPECT_EQ(req.Header("X-Triggerd-Attempt"), "2");
  const boost::json::value body = boost::json::parse(req.body);
  const boost::json::value expected = boost::json::parse(R"({
    "model": "test-model",
    "messages": [
      {"role": "system", "content": "Summarise the pull request in one line."},
      {"role": "user",
       "content": "{\"run_id\":\"run_llm1\",\"payload\":{\"title\":\"Fix \\\"bug\\\"\\n\"}}"}
    ]})");
  EXPECT_EQ(body, expected) << req.body;
}

TEST_F(LlmTargetTest, ReadsTheKeyAtEachAttempt) {
  auto target = Make();
  ASSERT_EQ(target->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  setenv(kKeyVariable, "sk-rotated", 1);
  ASSERT_EQ(target->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  const auto requests = stub_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer sk-test-123");
  EXPECT_EQ(requests[1].Header("Authorization"), "Bearer sk-rotated");
}

TEST_F(LlmTargetTest, TrailingSlashInBaseUrlIsFine) {
  ASSERT_EQ(Make(kKeyVariable, 5000, "/v1/")->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  EXPECT_EQ(stub_.Requests().at(0).path, "/v1/chat/completions");
}

TEST_F(LlmTargetTest, WithoutInstructionsThereIsNoSystemMessage) {
  Delivery d = MakeDelivery();
  d.instructions.clear();
  ASSERT_EQ(Make()->Deliver(d).kind, Kind::kSucceeded);
  const boost::json::value body = boost::json::parse(stub_.Requests().at(0).body);
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].at("role"), "user");
}

TEST_F(LlmTargetTest, NoKeyVariableMeansNoAuthorization) {
  ASSERT_EQ(Make("")->Deliver(MakeDelivery()).kind, Kind::kSucceeded);
  EXPECT_FALSE(stub_.Requests().at(0).HasHeader("Authorization"));
}

TEST_F(LlmTargetTest, UnsetKeyVariableIsPermanentNamesItAndSendsNothing) {
  auto target = Make("TRIGGERD_TEST_UNSET_KEY_VARIABLE");
  const DeliveryResult r = target->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, HasSubstr("TRIGGERD_TEST_UNSET_KEY_VARIABLE"));
  EXPECT_THAT(r.error, HasSubstr("not set"));
  setenv(kKeyVariable, "", 1);
  EXPECT_EQ(Make()->Deliver(MakeDelivery()).kind, Kind::kPermanent);
  setenv(kKeyVariable, "sk\r\nX-Injected: 1", 1);
  const DeliveryResult broken = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(broken.kind, Kind::kPermanent);
  EXPECT_THAT(broken.error, Not(HasSubstr("Injected")));
  EXPECT_TRUE(stub_.Requests().empty());
}

TEST_F(LlmTargetTest, MalformedAnswersArePermanent) {
  const std::string answers[] = {
      "not json",
      "[]",
      "{}",
      R"({"choices":[]})",
      R"({"choices":[{}]})",
      R"({"choices":[{"message":"hi"}]})",
      R"({"choices":[{"message":{"role":"assistant"}}]})",
      Completion(nullptr),
      Completion(42),
  };
  auto target = Make();
  for (const std::string& answer : answers) {
    stub_.SetAnswer([&](const RecordedRequest&) { return JsonAnswer(200, answer); });
    const DeliveryResult r = target->Deliver(MakeDelivery());
    EXPECT_EQ(r.kind, Kind::kPermanent) << answer;
    EXPECT_THAT(r.error, StartsWith("malformed chat completion: ")) << answer;
  }
}

TEST_F(LlmTargetTest, ErrorObjectInA200IsQuoted) {
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(200, R"({"error":{"message":"model overloaded"}})");
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_THAT(r.error, HasSubstr("model overloaded"));
}

TEST_F(LlmTargetTest, RateLimitIsRetryableWithRetryAfter) {
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(429, R"({"error":{"message":"Rate limit reached","type":"requests"}})",
                      {{"Retry-After", "2"}});
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.retry_after_ms, 2000);
  EXPECT_THAT(r.error, StartsWith("HTTP 429: "));
  EXPECT_THAT(r.error, HasSubstr("Rate limit reached"));
}

TEST_F(LlmTargetTest, StatusesClassifyAsForHttp) {
  stub_.SetAnswer([](const RecordedRequest&) { return JsonAnswer(500, "{}"); });
  EXPECT_EQ(Make()->Deliver(MakeDelivery()).kind, Kind::kRetryable);
  stub_.SetAnswer([](const RecordedRequest&) { return JsonAnswer(401, "{}"); });
  EXPECT_EQ(Make()->Deliver(MakeDelivery()).kind, Kind::kPermanent);
}

TEST_F(LlmTargetTest, SlowModelTimesOut) {
  stub_.HoldAnswers();
  const auto started = std::chrono::steady_clock::now();
  const DeliveryResult r = Make(kKeyVariable, 300)->Deliver(MakeDelivery());
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_THAT(r.error, StartsWith("timed out after 300 ms"));
  // "Did not hang": loose, the suite also runs loaded and under ASan.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(LlmTargetTest, UnicodeContentSurvives) {
  stub_.SetAnswer([](const RecordedRequest&) {
    return JsonAnswer(200, Completion("R\u00e9sum\u00e9: \u2705 merged"));
  });
  const DeliveryResult r = Make()->Deliver(MakeDelivery());
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "R\xC3\xA9sum\xC3\xA9: \xE2\x9C\x85 merged");
}

// CompleteChat (src/nlfilter's model): the same exchange with the caller's conversation and
// without run headers.
TEST_F(LlmTargetTest, CompleteChatSendsTheCallersMessagesWithoutRunHeaders) {
  LlmTargetConfig config;
  config.base_url = stub_.Url("/v1/");
  config.model = "test-model";
  config.api_key_env = kKeyVariable;
  config.timeout_ms = 5000;
  const DeliveryResult r = CompleteChat(
      config, {{"system", "s"}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}}, 0);
  ASSERT_EQ(r.kind, Kind::kSucceeded) << r.error;
  EXPECT_EQ(r.reply, "Done.");
  const auto requests = stub_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer sk-test-123");
  EXPECT_EQ(requests[0].Header("X-Triggerd-Run-Id"), "");
  EXPECT_EQ(requests[0].Header("X-Triggerd-Attempt"), "");
  EXPECT_EQ(boost::json::parse(requests[0].body), boost::json::parse(R"({"model":"test-model",
      "messages":[{"role":"system","content":"s"},{"role":"user","content":"u1"},
                  {"role":"assistant","content":"a1"},{"role":"user","content":"u2"}]})"));

  unsetenv(kKeyVariable);
  const DeliveryResult missing = CompleteChat(config, {{"user", "u"}}, 0);
  EXPECT_EQ(missing.kind, Kind::kPermanent);
  EXPECT_THAT(missing.error, HasSubstr("TRIGGERD_TEST_LLM_KEY (api_key_env) is not set"));
}

}  // namespace
}  // namespace triggerd::dispatch
