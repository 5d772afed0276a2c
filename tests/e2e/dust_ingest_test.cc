// Surface 1 of docs/COMPATIBILITY.md: the Dust Triggers API's receive route,
// `POST /api/v1/w/{wId}/triggers/hooks/{webhookSourceId}` (and with the URL secret), answering
// each status Dust documents (200 received, 400 invalid request, 404 workspace or webhook source
// not found, 405 method not allowed) plus the ones a source's own settings add (401 bearer).
// A sender written for Dust changes only its base URL.
#include "api_e2e_fixture.h"

namespace triggerd::e2e {
namespace {

class DustIngestTest : public ApiE2eTest {
 protected:
  void SetUp() override {
    ApiE2eTest::SetUp();
    source_ = Expect(
        201, Api("POST", "/api/v1/sources", R"({"name":"from-dust","auth":{"bearer":true}})"));
    token_ = Str(source_, "token");
    ASSERT_FALSE(token_.empty());
    const std::string url = Str(source_, "url");
    secret_path_ = url.substr(url.find("/api/v1/w/"));
    path_ = secret_path_.substr(0, secret_path_.rfind('/'));
    workspace_id_ = path_.substr(10, path_.find('/', 10) - 10);
  }

  HttpResult Post(const std::string& path, const std::string& body,
                  const std::string& method = "POST", bool with_token = true) {
    Headers headers = {{"Content-Type", "application/json"}};
    if (with_token) headers.push_back({"Authorization", "Bearer " + token_});
    return client_->Send(method, path, body, headers);
  }

  json::object source_;
  std::string token_, path_, secret_path_, workspace_id_;
};

TEST_F(DustIngestTest, TwoHundredOnBothUrlFormsWithTheEventStored) {
  for (const std::string& path : {path_, secret_path_}) {
    HttpResult r = Post(path, R"({"ticket":{"id":7,"status":"open"}})");
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    json::object answer = ParseObject(r.body);
    EXPECT_EQ(Str(answer, "event_id").rfind("evt_", 0), 0u) << r.body;
    EXPECT_TRUE(answer.at("received_at").is_number() || answer.at("received_at").is_string());
    EXPECT_FALSE(answer.at("duplicate").as_bool());
    EXPECT_TRUE(Arr(answer, "runs").empty());  // no trigger on this source yet
    json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
    EXPECT_EQ(Str(event, "source_id"), Str(source_, "id"));
  }
}

TEST_F(DustIngestTest, FourHundredForARequestThatIsNotAJsonBody) {
  for (const std::string& body : {std::string("{\"unterminated\":"), std::string("not json"),
                                  std::string("\"a string\""), std::string("")}) {
    HttpResult r = Post(path_, body);
    EXPECT_EQ(r.status, 400) << "body " << body << ": " << r.body;
    ErrorOf(r);
  }
  EXPECT_EQ(Arr(GetJson("/api/v1/events?source_id=" + Str(source_, "id")), "data").size(), 0u);
}

TEST_F(DustIngestTest, FourOhFourForAnUnknownWorkspaceOrSourceWithOneAnswer) {
  std::string unknown_workspace = path_;
  unknown_workspace.replace(10, workspace_id_.size(), "ws_doesnotexist");
  std::string unknown_source = path_.substr(0, path_.rfind('/') + 1) + "src_doesnotexist";
  HttpResult a = Post(unknown_workspace, "{}");
  HttpResult b = Post(unknown_source, "{}");
  HttpResult c = Post(path_ + "/wrong-url-secret", "{}");
  for (const HttpResult* r : {&a, &b, &c}) {
    EXPECT_EQ(r->status, 404) << r->body;
    ErrorOf(*r);
  }
  // Which part was wrong is not told: the three answers are the same.
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(b.body, c.body);
}

TEST_F(DustIngestTest, FourOhFiveWithAllowForEveryOtherMethod) {
  for (const std::string method : {"GET", "PUT", "PATCH", "DELETE"}) {
    HttpResult r = Post(path_, method == "GET" || method == "DELETE" ? "" : "{}", method);
    EXPECT_EQ(r.status, 405) << method << ": " << r.body;
    EXPECT_EQ(r.Header("Allow"), "POST") << method;
    ErrorOf(r);
  }
  // An unknown source stays 404 whatever the method: lookup comes first.
  EXPECT_EQ(Post(path_.substr(0, path_.rfind('/') + 1) + "src_doesnotexist", "", "GET").status,
            404);
}

TEST_F(DustIngestTest, FourOhOneWhenTheSourceAsksForABearerTokenAndItIsMissingOrWrong) {
  HttpResult missing = Post(path_, "{}", "POST", /*with_token=*/false);
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_EQ(Str(ErrorOf(missing), "type"), "missing_token");
  token_ += "x";
  HttpResult wrong = Post(path_, "{}");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(Str(ErrorOf(wrong), "type"), "invalid_token");
}

}  // namespace
}  // namespace triggerd::e2e
