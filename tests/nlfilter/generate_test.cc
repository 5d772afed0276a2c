// The compile/repair loop through the production client (MakeChatCompletionsModel, i.e.
// dispatch::CompleteChat over libcurl) against a loopback stand-in speaking the chat-completions
// wire format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "nlfilter/nlfilter.h"
#include "recording_target.h"
#include "test_util.h"

namespace triggerd::nlfilter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RecordingTarget;

constexpr char kKeyVariable[] = "TRIGGERD_TEST_NLFILTER_KEY";
constexpr char kKey[] = "sk-nlfilter-test-key";

std::string Completion(std::string_view content) {
  return boost::json::serialize(boost::json::object{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"choices", boost::json::array{boost::json::object{
                      {"index", 0},
                      {"message", boost::json::object{{"role", "assistant"}, {"content", content}}},
                      {"finish_reason", "stop"}}}}});
}

constexpr std::string_view kGood =
    "```filter\n(and (eq \"action\" \"opened\") (gt \"pull_request.changed_files\" 20))\n```\n"
    "Opened pull requests with more than 20 changed files.";
constexpr std::string_view kBad = "```filter\n(eqq \"action\" \"opened\")\n```";

boost::json::value Pr(int changed_files) {
  return boost::json::parse(R"({"action":"opened","pull_request":{"changed_files":)" +
                            std::to_string(changed_files) + "}}");
}

// The messages of a recorded chat-completions request.
boost::json::array Messages(const RecordingTarget::Received& r) {
  return boost::json::parse(r.body).at("messages").as_array();
}

class GenerateTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv(kKeyVariable, kKey, 1); }
  void TearDown() override { unsetenv(kKeyVariable); }

  // A stand-in answering the i-th request with answers[i] (200 chat completions).
  static RecordingTarget::Script Answers(std::vector<std::string_view> answers) {
    return [answers](const RecordingTarget::Received&,
                     const std::vector<RecordingTarget::Received>& earlier) {
      const std::size_t i = std::min(earlier.size(), answers.size() - 1);
      return RecordingTarget::Reply(200, Completion(answers[i]),
                                    {{"Content-Type", "application/json"}});
    };
  }

  std::unique_ptr<ChatModel> Model(const RecordingTarget& target, int timeout_ms = 10'000) {
    auto model =
        MakeChatCompletionsModel({target.Url("/v1"), "test-model", kKeyVariable, timeout_ms});
    EXPECT_OK(model);
    return model ? std::move(model).value() : nullptr;
  }

  static Request PrRequest() {
    Request request;
    request.description = "only when a PR is opened with more than 20 changed files";
    request.source_kind = "github";
    request.event_type = "pull_request";
    request.samples = {{Pr(25), "pull_request"}, {Pr(3), "pull_request"}};
    return request;
  }
};

TEST_F(GenerateTest, GoodAnswerCompilesAndIsEvaluatedOnTheSamples) {
  RecordingTarget target(Answers({kGood}));
  auto model = Model(target);
  auto s = Generate(*model, PrRequest());
  ASSERT_OK(s);
  EXPECT_EQ(s->filter, R"((and (eq "action" "opened") (gt "pull_request.changed_files" 20)))");
  EXPECT_EQ(s->explanation, "Opened pull requests with more than 20 changed files.");
  EXPECT_EQ(s->turns, 1);
  ASSERT_EQ(s->sample_results.size(), 2u);
  EXPECT_TRUE(s->sample_results[0].matched);
  EXPECT_FALSE(s->sample_results[1].matched);
  EXPECT_EQ(s->sample_results[1].explanation.at("result"), false);

  const auto requests = target.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  std::string authorization;
  for (const auto& h : requests[0].headers) {
    if (h.name == "Authorization") authorization = h.value;
  }
  EXPECT_EQ(authorization, std::string("Bearer ") + kKey);
  const boost::json::array messages = Messages(requests[0]);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[1].at("role"), "user");
  const std::string user(messages[1].at("content").as_string());
  EXPECT_THAT(user, HasSubstr("\"only when a PR is opened with more than 20 changed files\""));
  EXPECT_THAT(user, HasSubstr("pull_request.changed_files (number)"));
}

TEST_F(GenerateTest, NonCompilingAnswerIsRepairedOnASecondTurnCarryingTheCompilerError) {
  RecordingTarget target(Answers({kBad, kGood}));
  auto model = Model(target);
  auto s = Generate(*model, PrRequest());
  ASSERT_OK(s);
  EXPECT_EQ(s->turns, 2);
  EXPECT_THAT(s->filter, HasSubstr("(gt \"pull_request.changed_files\" 20)"));
  const auto requests = target.requests();
  ASSERT_EQ(requests.size(), 2u);
  const boost::json::array second = Messages(requests[1]);
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[2].at("role"), "assistant");
  EXPECT_EQ(second[2].at("content").as_string(), kBad);
  EXPECT_EQ(second[3].at("role"), "user");
  EXPECT_THAT(std::string(second[3].at("content").as_string()),
              HasSubstr("1:2: unknown operator \"eqq\""));
}

TEST_F(GenerateTest, TwoNonCompilingAnswersFail) {
  RecordingTarget target(Answers({kBad, "(and (has-any \"labels\" ()))"}));
  auto model = Model(target);
  FailedExpression last;
  auto s = Generate(*model, PrRequest(), &last);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kInvalidFilterCode);
  EXPECT_THAT(s.error().message(), HasSubstr("has-any requires a non-empty list of values"));
  EXPECT_EQ(last.filter, "(and (has-any \"labels\" ()))");
  EXPECT_EQ(last.error.column, 24);
  EXPECT_EQ(target.requests().size(), 2u);
}

TEST_F(GenerateTest, EachSampleIsEvaluatedWithItsOwnEventType) {
  RecordingTarget target(Answers({"```filter\n(eq \"$event\" \"push\")\n```"}));
  auto model = Model(target);
  Request request = PrRequest();
  request.event_type.clear();
  request.samples = {{Pr(1), "push"}, {Pr(1), "pull_request"}};
  auto s = Generate(*model, request);
  ASSERT_OK(s);
  ASSERT_EQ(s->sample_results.size(), 2u);
  EXPECT_TRUE(s->sample_results[0].matched);
  EXPECT_FALSE(s->sample_results[1].matched);
  const auto requests = target.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string user(Messages(requests[0])[1].at("content").as_string());
  EXPECT_THAT(user, HasSubstr("Sample payload 1, event type push"));
  EXPECT_THAT(user, HasSubstr("Sample payload 2, event type pull_request"));
  EXPECT_THAT(user, HasSubstr("Event type: any"));
}

TEST_F(GenerateTest, CommentOnlyAnswerIsNotAFilter) {
  // A block of comments compiles to the empty filter, which would wake on every event.
  RecordingTarget target(Answers({"```\n; no filter needed (all events)\n```"}));
  auto model = Model(target);
  FailedExpression last;
  auto s = Generate(*model, PrRequest(), &last);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kInvalidFilterCode);
  EXPECT_THAT(s.error().message(), HasSubstr("the filter is empty"));
  EXPECT_EQ(target.requests().size(), 2u);
}

TEST_F(GenerateTest, AnswerWithoutExpressionIsAModelFailure) {
  RecordingTarget target(Answers({"Sorry, I cannot write that filter."}));
  auto model = Model(target);
  auto s = Generate(*model, PrRequest());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kModelFailedCode);
  EXPECT_THAT(s.error().message(), HasSubstr("no filter expression"));
  EXPECT_THAT(s.error().message(), HasSubstr("Sorry, I cannot"));
}

TEST_F(GenerateTest, NonJsonAnswerIsAModelFailure) {
  RecordingTarget target(
      [](const auto&, const auto&) { return RecordingTarget::Reply(200, "<html>gateway</html>"); });
  auto model = Model(target);
  auto s = Generate(*model, PrRequest());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kModelFailedCode);
  EXPECT_THAT(s.error().message(), HasSubstr("malformed chat completion: not JSON"));
}

TEST_F(GenerateTest, ErrorStatusIsAModelFailureWithoutTheKey) {
  RecordingTarget target([](const auto&, const auto&) {
    return RecordingTarget::Reply(401, R"({"error":{"message":"bad key"}})");
  });
  auto model = Model(target);
  auto s = Generate(*model, PrRequest());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kModelFailedCode);
  EXPECT_THAT(s.error().message(), HasSubstr("HTTP 401"));
  EXPECT_THAT(s.error().message(), Not(HasSubstr(kKey)));
}

TEST_F(GenerateTest, SlowModelTimesOut) {
  RecordingTarget target([](const auto&, const auto&) {
    RecordingTarget::Answer answer = RecordingTarget::Reply(200, Completion(kGood));
    answer.delay = std::chrono::milliseconds(1500);
    return answer;
  });
  auto model = Model(target, /*timeout_ms=*/300);
  auto s = Generate(*model, PrRequest());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kModelFailedCode);
  EXPECT_THAT(s.error().message(), HasSubstr("timed out after 300 ms"));
}

TEST_F(GenerateTest, UnreachableModelIsAModelFailure) {
  std::string url;
  {
    RecordingTarget gone([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
    url = gone.Url("/v1");
  }
  auto model = MakeChatCompletionsModel({url, "m", "", 2000});
  ASSERT_OK(model);
  auto s = Generate(**model, PrRequest());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), kModelFailedCode);
}

TEST_F(GenerateTest, DescriptionLimits) {
  RecordingTarget target(Answers({kGood}));
  auto model = Model(target);
  Request request = PrRequest();
  request.description = std::string(kMaxDescriptionChars, 'x');
  EXPECT_OK(Generate(*model, request));
  // Characters, not bytes: 2000 two-byte characters are fine.
  std::string accented;
  for (std::size_t i = 0; i < kMaxDescriptionChars; ++i) accented += "é";
  request.description = accented;
  EXPECT_OK(Generate(*model, request));
  request.description += "x";
  auto s = Generate(*model, request);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().type(), ErrorType::kInvalidArgument);
  request.description = " \n ";
  EXPECT_FALSE(Generate(*model, request));
  EXPECT_EQ(target.requests().size(), 2u);  // refused descriptions never reach the model
}

TEST_F(GenerateTest, ConfigIsCheckedLikeTheLlmTarget) {
  auto bad = MakeChatCompletionsModel({"ftp://x", "m", "", 1000});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), ::testing::StartsWith("llm.base_url"));
  EXPECT_FALSE(MakeChatCompletionsModel({"http://127.0.0.1:1/v1", "", "", 1000}));
  EXPECT_FALSE(MakeChatCompletionsModel({"http://127.0.0.1:1/v1", "m", "1BAD", 1000}));
}

}  // namespace
}  // namespace triggerd::nlfilter
