// POST /api/v1/filters/generate end to end: the real binary with `llm:` in its config pointing
// at a loopback stand-in that speaks the chat-completions wire format, recording every prompt.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include "api_e2e_fixture.h"
#include "recording_target.h"

namespace triggerd::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RecordingTarget;

constexpr char kKeyVariable[] = "TRIGGERD_E2E_LLM_KEY";
constexpr char kModelKey[] = "sk-e2e-model-key-42";

std::string Completion(std::string_view content) {
  return json::serialize(json::object{
      {"id", "chatcmpl-e2e"},
      {"object", "chat.completion"},
      {"choices", json::array{json::object{
                      {"index", 0},
                      {"message", json::object{{"role", "assistant"}, {"content", content}}},
                      {"finish_reason", "stop"}}}}});
}

constexpr std::string_view kGood =
    "```filter\n(and (eq \"action\" \"opened\") (gt \"pull_request.changed_files\" 20))\n```\n"
    "Opened pull requests with more than 20 changed files.";
constexpr std::string_view kBad = "```filter\n(eqq \"action\" \"opened\")\n```";

class FilterGenerateE2eTest : public ::testing::Test {
 protected:
  // The stand-in answers request i with answers_[i] (the last one again after that) as a
  // chat completion, or raw_ as the whole body when set.
  FilterGenerateE2eTest()
      : model_([this](const RecordingTarget::Received&,
                      const std::vector<RecordingTarget::Received>& earlier) {
          {
            // Held while gate_closed_: a model that takes its time (bounded, so a broken test
            // cannot hang).
            std::unique_lock<std::mutex> gate(gate_mu_);
            model_waiting_ = true;
            gate_cv_.notify_all();
            gate_cv_.wait_for(gate, std::chrono::seconds(30), [this] { return !gate_closed_; });
          }
          std::lock_guard<std::mutex> lock(mu_);
          if (!raw_.empty()) return RecordingTarget::Reply(200, raw_);
          const std::string& answer = answers_.at(std::min(earlier.size(), answers_.size() - 1));
          return RecordingTarget::Reply(200, Completion(answer),
                                        {{"Content-Type", "application/json"}});
        }) {}

  void Start(bool with_llm = true) {
    const std::string config = (dir_.path() / "triggerd.yaml").string();
    std::ofstream(config) << (with_llm ? "llm:\n  base_url: " + model_.Url("/v1") +
                                             "\n  model: test-model\n  api_key_env: " +
                                             kKeyVariable + "\n  timeout_ms: 10000\n"
                                       : std::string("log_level: info\n"))
                          << extra_config_;
    process_ = std::make_unique<testing::TriggerdProcess>(
        dir_.path() / "data", std::vector<std::string>{"--config", config});
    process_->SetEnv(kKeyVariable, kModelKey);
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
  }

  void Answer(std::vector<std::string> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_ = std::move(answers);
  }
  void AnswerRaw(std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    raw_ = std::move(body);
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body,
                 const std::string& key = "") {
    return client_->Send(method, path, body,
                         {{"Authorization", "Bearer " + (key.empty() ? admin_ : key)},
                          {"Content-Type", "application/json"}});
  }
  HttpResult Generate(const json::object& body, const std::string& key = "") {
    return Api("POST", "/api/v1/filters/generate", json::serialize(body), key);
  }

  // The system and user messages of the i-th request the model received.
  std::pair<std::string, std::string> Prompt(std::size_t i) {
    const auto requests = model_.requests();
    if (i >= requests.size()) {
      ADD_FAILURE() << "the model got " << requests.size() << " requests";
      return {};
    }
    const json::array messages = json::parse(requests[i].body).at("messages").as_array();
    return {std::string(messages.at(0).at("content").as_string()),
            std::string(messages.at(1).at("content").as_string())};
  }

  testing::TempDir dir_;
  std::string extra_config_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool gate_closed_ = false;
  bool model_waiting_ = false;
  std::mutex mu_;
  std::vector<std::string> answers_{std::string(kGood)};
  std::string raw_;
  RecordingTarget model_;
  std::unique_ptr<testing::TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(FilterGenerateE2eTest, ProviderSampleGoodAnswerIs200WithSampleResults) {
  Start();
  const std::string description = "only when a PR is opened with more than 20 changed files";
  HttpResult r = Generate(
      {{"description", description}, {"provider", "github"}, {"event_type", "pull_request"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = ParseObject(r.body);
  EXPECT_EQ(Str(answer, "filter"),
            R"((and (eq "action" "opened") (gt "pull_request.changed_files" 20)))");
  EXPECT_EQ(Str(answer, "explanation"), "Opened pull requests with more than 20 changed files.");
  EXPECT_EQ(answer.at("turns"), 1);
  const json::array& results = Arr(answer, "sample_results");
  ASSERT_EQ(results.size(), 1u);
  const json::object& first = results[0].as_object();
  EXPECT_EQ(Str(first, "origin"), "catalog");
  EXPECT_EQ(Str(first, "event_type"), "pull_request");
  EXPECT_TRUE(first.at("sample").is_object());
  EXPECT_TRUE(first.at("matched").is_bool());
  EXPECT_EQ(first.at("explanation").at("result"), first.at("matched"));

  // What the model was told: the language, the event's fields and sample, the description.
  ASSERT_EQ(model_.requests().size(), 1u);
  EXPECT_EQ(model_.requests()[0].path, "/v1/chat/completions");
  const auto [system, user] = Prompt(0);
  EXPECT_THAT(system, HasSubstr("(has-any field (value...))"));
  EXPECT_THAT(system, HasSubstr("(starts-with field \"text\")"));
  EXPECT_THAT(system, HasSubstr("\"pull_request.labels.*.name\""));
  EXPECT_THAT(user, HasSubstr("Source kind: github"));
  EXPECT_THAT(user, HasSubstr("Event type: pull_request"));
  EXPECT_THAT(user, HasSubstr("pull_request.changed_files (number)"));
  EXPECT_THAT(user, HasSubstr("Sample payload 1"));
  EXPECT_THAT(user, HasSubstr("<<<DESCRIPTION\n\"" + description + "\"\nDESCRIPTION>>>"));
  // The key went to the model, and nowhere else.
  const auto requests = model_.requests();
  bool keyed = false;
  for (const auto& h : requests[0].headers) {
    keyed = keyed || (h.name == "Authorization" && h.value == std::string("Bearer ") + kModelKey);
  }
  EXPECT_TRUE(keyed);
  EXPECT_THAT(process_->Output(), Not(HasSubstr(kModelKey)));
}

TEST_F(FilterGenerateE2eTest, CustomSourceSamplesAreEventBodiesWithoutSecretsOrHeaders) {
  Start();
  HttpResult created =
      Api("POST", "/api/v1/sources", R"({"name":"custom","auth":{"bearer":true}})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object source = ParseObject(created.body);
  const std::string token = Str(source, "token");
  ASSERT_FALSE(token.empty());
  const std::string url = Str(source, "url");
  const std::string path = url.substr(url.find("/api/v1/w/"));
  HttpResult ingested =
      client_->Send("POST", path, R"({"action":"opened","pull_request":{"changed_files":25}})",
                    {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer " + token},
                     {"X-Custom-Header", "header-value-never-for-the-model"}});
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  const std::string event_id = Str(ParseObject(ingested.body), "event_id");

  HttpResult r = Generate({{"description", "big opened PRs"}, {"source_id", Str(source, "id")}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = ParseObject(r.body);
  const json::array& results = Arr(answer, "sample_results");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(Str(results[0].as_object(), "origin"), "event");
  EXPECT_EQ(Str(results[0].as_object(), "event_id"), event_id);
  EXPECT_EQ(results[0].at("matched"), true);

  const auto [system, user] = Prompt(0);
  EXPECT_THAT(user, HasSubstr("Source kind: custom"));
  EXPECT_THAT(user, HasSubstr(R"("changed_files":25)"));
  EXPECT_THAT(user, HasSubstr("pull_request.changed_files (number)"));
  for (const std::string& prompt : {system, user}) {
    EXPECT_THAT(prompt, Not(HasSubstr(token)));
    EXPECT_THAT(prompt, Not(HasSubstr("header-value-never-for-the-model")));
    EXPECT_THAT(prompt, Not(HasSubstr("X-Custom-Header")));
    EXPECT_THAT(prompt, Not(HasSubstr("Authorization")));
    EXPECT_THAT(prompt, Not(HasSubstr(Str(source, "url"))));
  }
  EXPECT_THAT(model_.requests()[0].body, Not(HasSubstr(token)));
}

TEST_F(FilterGenerateE2eTest, NonCompilingThenGoodIs200AndTheSecondTurnCarriesTheError) {
  Start();
  Answer({std::string(kBad), std::string(kGood)});
  HttpResult r = Generate({{"description", "opened PRs"}, {"provider", "github"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseObject(r.body).at("turns"), 2);
  ASSERT_EQ(model_.requests().size(), 2u);
  const json::array second = json::parse(model_.requests()[1].body).at("messages").as_array();
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[2].at("role"), "assistant");
  EXPECT_THAT(std::string(second[3].at("content").as_string()),
              HasSubstr("1:2: unknown operator \"eqq\""));
}

TEST_F(FilterGenerateE2eTest, TwoNonCompilingAnswersAre422WithTheCompilerError) {
  Start();
  Answer({std::string(kBad)});
  HttpResult r = Generate({{"description", "opened PRs"}, {"provider", "github"}});
  ASSERT_EQ(r.status, 422) << r.body;
  json::object error = ErrorOf(r);
  EXPECT_EQ(Str(error, "type"), "generated_filter_invalid");
  EXPECT_THAT(Str(error, "message"), HasSubstr("1:2: unknown operator \"eqq\""));
  EXPECT_EQ(Str(error, "filter"), "(eqq \"action\" \"opened\")");
  EXPECT_EQ(error.at("line"), 1);
  EXPECT_EQ(error.at("column"), 2);
  EXPECT_EQ(model_.requests().size(), 2u);
}

TEST_F(FilterGenerateE2eTest, MalformedModelAnswersAre502) {
  Start();
  Answer({"I would rather not."});
  HttpResult none = Generate({{"description", "opened PRs"}, {"provider", "github"}});
  ASSERT_EQ(none.status, 502) << none.body;
  EXPECT_EQ(Str(ErrorOf(none), "type"), "llm_failed");
  EXPECT_THAT(Str(ErrorOf(none), "message"), HasSubstr("no filter expression"));

  AnswerRaw("this is not JSON");
  HttpResult not_json = Generate({{"description", "opened PRs"}, {"provider", "github"}});
  ASSERT_EQ(not_json.status, 502) << not_json.body;
  EXPECT_THAT(Str(ErrorOf(not_json), "message"), HasSubstr("not JSON"));
}

// The model's turns run off the io threads: with a single io thread and the model taking its
// time, the server still answers everything else (webhooks included) meanwhile.
TEST_F(FilterGenerateE2eTest, TheServerKeepsServingWhileTheModelThinks) {
  extra_config_ = "threads: 1\n";
  Start();
  {
    std::lock_guard<std::mutex> gate(gate_mu_);
    gate_closed_ = true;
  }
  HttpResult generated;
  std::thread generator([&] {
    HttpClient own("127.0.0.1", process_->port());
    generated = own.Send(
        "POST", "/api/v1/filters/generate", R"({"description":"opened PRs","provider":"github"})",
        {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}});
  });
  {
    std::unique_lock<std::mutex> gate(gate_mu_);
    ASSERT_TRUE(
        gate_cv_.wait_for(gate, std::chrono::seconds(30), [this] { return model_waiting_; }));
  }
  HttpResult health = client_->Send("GET", "/healthz");
  EXPECT_EQ(health.status, 200) << health.error;
  HttpResult sources = Api("GET", "/api/v1/sources", "");
  EXPECT_EQ(sources.status, 200) << sources.body;
  {
    std::lock_guard<std::mutex> gate(gate_mu_);
    gate_closed_ = false;
  }
  gate_cv_.notify_all();
  generator.join();
  ASSERT_EQ(generated.status, 200) << generated.body << generated.error;
  EXPECT_EQ(ParseObject(generated.body).at("filter"),
            "(and (eq \"action\" \"opened\") (gt \"pull_request.changed_files\" 20))");
}

TEST_F(FilterGenerateE2eTest, NotConfiguredIs501SayingHowToConfigure) {
  Start(/*with_llm=*/false);
  HttpResult r = Generate({{"description", "opened PRs"}, {"provider", "github"}});
  ASSERT_EQ(r.status, 501) << r.body;
  json::object error = ErrorOf(r);
  EXPECT_EQ(Str(error, "type"), "llm_not_configured");
  EXPECT_THAT(Str(error, "message"), HasSubstr("llm:"));
  EXPECT_THAT(Str(error, "message"), HasSubstr("base_url"));
  EXPECT_TRUE(model_.requests().empty());
}

TEST_F(FilterGenerateE2eTest, BadRequestsAreRefusedBeforeTheModel) {
  Start();
  auto expect = [&](int status, const std::string& body, const std::string& field) {
    HttpResult r = Api("POST", "/api/v1/filters/generate", body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    json::object error = ErrorOf(r);
    if (!field.empty()) {
      EXPECT_EQ(Str(error, "field"), field) << r.body;
    }
  };
  expect(400, "not json", "");
  expect(400, R"({"provider":"github"})", "description");
  expect(400, R"({"description":"  ","provider":"github"})", "description");
  expect(400, R"({"description":"x","provider":"github","extra":1})", "extra");
  expect(400, R"({"description":"x"})", "source_id");
  expect(400, R"({"description":"x","provider":"github","source_id":"src_x"})", "provider");
  expect(400, R"({"description":"x","provider":"nope"})", "provider");
  expect(400, R"({"description":"x","provider":"custom"})", "provider");
  expect(400, R"({"description":"x","provider":"github","event_type":"pull_requests"})",
         "event_type");
  expect(400, R"({"description":7,"provider":"github"})", "description");
  expect(404, R"({"description":"x","source_id":"src_nope"})", "source_id");
  const std::string at_limit(2000, 'd');
  const std::string over_limit(2001, 'd');
  expect(400, json::serialize(json::object{{"description", over_limit}, {"provider", "github"}}),
         "description");
  EXPECT_TRUE(model_.requests().empty());
  EXPECT_EQ(Generate({{"description", at_limit}, {"provider", "github"}}).status, 200);

  // Role: builder or admin.
  HttpResult user_key = Api("POST", "/api/v1/keys", R"({"name":"u","role":"user"})");
  ASSERT_EQ(user_key.status, 201) << user_key.body;
  HttpResult forbidden = Generate({{"description", "x"}, {"provider", "github"}},
                                  Str(ParseObject(user_key.body), "key"));
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  HttpResult builder_key = Api("POST", "/api/v1/keys", R"({"name":"b","role":"builder"})");
  EXPECT_EQ(Generate({{"description", "x"}, {"provider", "github"}},
                     Str(ParseObject(builder_key.body), "key"))
                .status,
            200);
  EXPECT_EQ(client_->Send("POST", "/api/v1/filters/generate", "{}").status, 401);
}

}  // namespace
}  // namespace triggerd::e2e
