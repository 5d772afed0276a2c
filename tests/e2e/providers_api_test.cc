// The provider catalog over HTTP on the real binary: GET /api/v1/providers and
// /api/v1/providers/{kind}, readable by any key, 404 with the error body for an unknown kind,
// and the warnings of POST /api/v1/filters/check when it is told the kind and event types.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "http_client.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::TempDir;
using testing::TriggerdProcess;
namespace json = boost::json;

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text.substr(0, 500);
    return {};
  }
  return v.as_object();
}

std::string Str(const json::value* v) {
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

const json::object* FindByName(const json::array& items, std::string_view key,
                               std::string_view value) {
  for (const auto& item : items) {
    if (item.is_object() && Str(item.as_object().if_contains(key)) == value) {
      return &item.as_object();
    }
  }
  return nullptr;
}

class ProvidersApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    process_ = std::make_unique<TriggerdProcess>(dir_.path() / "data");
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = "") {
    return client_->Send(method, path, body,
                         {{"Authorization", "Bearer " + (key.empty() ? admin_ : key)}});
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(ProvidersApiTest, ListsEveryPresetWithVerificationLocationsAndEventTypes) {
  HttpResult r = Api("GET", "/api/v1/providers");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = ParseObject(r.body);
  ASSERT_TRUE(answer["data"].is_array());
  EXPECT_TRUE(answer["next_cursor"].is_null());
  const json::array& data = answer["data"].as_array();
  EXPECT_EQ(data.size(), 19u);  // every preset of verify.h kProviders but custom
  for (const auto& item : data) {
    const json::object& p = item.as_object();
    EXPECT_FALSE(Str(p.if_contains("display_name")).empty());
    EXPECT_FALSE(p.at("event_types").as_array().empty()) << Str(p.if_contains("kind"));
    EXPECT_FALSE(p.at("verification").as_object().at("headers").as_array().empty());
    for (const auto& e : p.at("event_types").as_array()) {
      EXPECT_FALSE(e.as_object().contains("sample")) << "the list stays light";
    }
  }

  const json::object* github = FindByName(data, "kind", "github");
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(Str(github->if_contains("display_name")), "GitHub");
  const json::object& v = github->at("verification").as_object();
  EXPECT_EQ(Str(v.if_contains("algorithm")), "HMAC-SHA256");
  EXPECT_EQ(Str(&v.at("headers").as_array().at(0)), "X-Hub-Signature-256");
  EXPECT_EQ(Str(v.if_contains("prefix")), "sha256=");
  EXPECT_TRUE(v.at("timestamp_tolerance_seconds").is_null());
  EXPECT_EQ(json::serialize(github->at("event_type")),
            R"({"source":"header","name":"X-GitHub-Event"})");
  EXPECT_EQ(json::serialize(github->at("delivery_id")),
            R"({"source":"header","name":"X-GitHub-Delivery"})");
  EXPECT_FALSE(github->at("samples").as_object().at("illustrative").as_bool());
  const json::object* pr = FindByName(github->at("event_types").as_array(), "name", "pull_request");
  ASSERT_NE(pr, nullptr);
  EXPECT_TRUE(pr->at("has_schema").as_bool());
  EXPECT_FALSE(Str(pr->if_contains("description")).empty());

  const json::object* stripe = FindByName(data, "kind", "stripe");
  ASSERT_NE(stripe, nullptr);
  EXPECT_EQ(stripe->at("verification").as_object().at("timestamp_tolerance_seconds").as_int64(),
            300);
  EXPECT_EQ(json::serialize(stripe->at("delivery_id")), R"({"source":"body","name":"id"})");
  EXPECT_TRUE(stripe->at("samples").as_object().at("illustrative").as_bool());

  const json::object* slack = FindByName(data, "kind", "slack");
  ASSERT_NE(slack, nullptr);
  EXPECT_EQ(Str(slack->at("handshake").as_object().if_contains("name")), "url_verification");
  const json::object* sw = FindByName(data, "kind", "standard-webhooks");
  ASSERT_NE(sw, nullptr);
  EXPECT_EQ(Str(sw->at("delivery_id").as_object().if_contains("alt_name")), "svix-id");
  const json::object* twilio = FindByName(data, "kind", "twilio");
  ASSERT_NE(twilio, nullptr);
  EXPECT_TRUE(twilio->at("event_type").is_null());
}

TEST_F(ProvidersApiTest, OneProviderCarriesSamplesAndSchemas) {
  HttpResult r = Api("GET", "/api/v1/providers/github");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  json::object github = ParseObject(r.body);
  EXPECT_EQ(Str(github.if_contains("kind")), "github");
  const json::object* pr = FindByName(github["event_types"].as_array(), "name", "pull_request");
  ASSERT_NE(pr, nullptr);
  EXPECT_EQ(Str(pr->at("sample").as_object().if_contains("action")), "opened");
  const json::object& schema = pr->at("schema").as_object();
  const json::object* changed =
      FindByName(schema.at("fields").as_array(), "path", "pull_request.changed_files");
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(json::serialize(changed->at("kinds")), R"(["number"])");
  const json::object* star = FindByName(github["event_types"].as_array(), "name", "star");
  ASSERT_NE(star, nullptr);
  EXPECT_TRUE(star->at("schema").is_null());
  EXPECT_TRUE(star->at("sample").is_object());

  r = Api("GET", "/api/v1/providers/slack");
  ASSERT_EQ(r.status, 200);
  json::object slack = ParseObject(r.body);
  EXPECT_EQ(Str(slack["handshake"].as_object().at("sample").as_object().if_contains("type")),
            "url_verification");

  r = Api("GET", "/api/v1/providers/hubspot");
  ASSERT_EQ(r.status, 200);
  json::object hubspot = ParseObject(r.body);
  EXPECT_TRUE(hubspot["event_types"].as_array().at(0).as_object().at("sample").is_array());
}

TEST_F(ProvidersApiTest, UnknownKindIsNotFoundWithTheErrorBody) {
  for (const char* kind : {"nope", "custom", "GitHub"}) {
    HttpResult r = Api("GET", std::string("/api/v1/providers/") + kind);
    EXPECT_EQ(r.status, 404) << kind;
    json::object body = ParseObject(r.body);
    ASSERT_TRUE(body["error"].is_object()) << r.body;
    EXPECT_EQ(Str(body["error"].as_object().if_contains("type")), "not_found");
    EXPECT_FALSE(Str(body["error"].as_object().if_contains("message")).empty());
  }
}

TEST_F(ProvidersApiTest, AnyKeyMayReadAndNoKeyMayNot) {
  HttpResult made = Api("POST", "/api/v1/keys", R"({"name":"reader","role":"user"})");
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string user_key = Str(ParseObject(made.body).if_contains("key"));
  ASSERT_FALSE(user_key.empty());
  EXPECT_EQ(Api("GET", "/api/v1/providers", "", user_key).status, 200);
  EXPECT_EQ(Api("GET", "/api/v1/providers/jira", "", user_key).status, 200);
  EXPECT_EQ(client_->Send("GET", "/api/v1/providers").status, 401);
  EXPECT_EQ(client_->Send("GET", "/api/v1/providers/github").status, 401);
  EXPECT_EQ(Api("GET", "/api/v1/providers", "", "tdk_not_a_key").status, 401);
}

TEST_F(ProvidersApiTest, FilterCheckWarnsAboutFieldsTheEventTypesNeverHave) {
  HttpResult r =
      Api("POST", "/api/v1/filters/check",
          R"j({"filter":"(and (eq \"action\" \"opened\") (gt \"pull_request.chnged_files\" 20))",
                         "kind":"github","event_types":["pull_request"]})j");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = ParseObject(r.body);
  EXPECT_TRUE(answer["ok"].as_bool());
  ASSERT_EQ(answer["warnings"].as_array().size(), 1u) << r.body;
  EXPECT_EQ(Str(&answer["warnings"].as_array()[0]),
            "pull_request.chnged_files is not a field of github pull_request events (did you "
            "mean pull_request.changed_files?)");

  // Real fields: an empty list. Without a kind: the answer keeps its old shape.
  r = Api("POST", "/api/v1/filters/check",
          R"j({"filter":"(has \"pull_request.labels.*.name\" \"bug\")","kind":"github",
              "event_types":["pull_request"]})j");
  EXPECT_EQ(r.body, "{\"ok\":true,\"warnings\":[]}\n");
  r = Api("POST", "/api/v1/filters/check", R"j({"filter":"(eq \"nope\" 1)"})j");
  EXPECT_EQ(r.body, "{\"ok\":true}\n");
  // A filter that does not compile is still just ok: false.
  r = Api("POST", "/api/v1/filters/check", R"j({"filter":"(eqq","kind":"github"})j");
  EXPECT_FALSE(ParseObject(r.body)["ok"].as_bool());

  r = Api("POST", "/api/v1/filters/check", R"j({"filter":"","kind":"nope"})j");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Str(ParseObject(r.body)["error"].as_object().if_contains("field")), "kind");
  r = Api("POST", "/api/v1/filters/check", R"j({"filter":"","event_types":["push"]})j");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Str(ParseObject(r.body)["error"].as_object().if_contains("field")), "event_types");
  r = Api("POST", "/api/v1/filters/check",
          R"j({"filter":"","kind":"github","event_types":"push"})j");
  EXPECT_EQ(r.status, 400);
  r = Api("POST", "/api/v1/filters/check", R"j({"filter":"","colour":"red"})j");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Str(ParseObject(r.body)["error"].as_object().if_contains("field")), "colour");
}

// The catalog's sample, signed as GitHub signs it, goes through the real ingest path and is
// typed by the preset: the catalog describes what the service accepts.
TEST_F(ProvidersApiTest, CatalogSampleSignedLikeGithubIsAcceptedAndTyped) {
  HttpResult made = Api("POST", "/api/v1/sources",
                        R"({"name":"gh","kind":"github","secret":"catalog-e2e-secret"})");
  ASSERT_EQ(made.status, 201) << made.body;
  json::object source = ParseObject(made.body);
  std::string url = Str(source.if_contains("url"));
  url = url.substr(url.find("/api/v1/w/"));

  HttpResult detail = Api("GET", "/api/v1/providers/github");
  json::object github = ParseObject(detail.body);
  const json::object* pr = FindByName(github["event_types"].as_array(), "name", "pull_request");
  ASSERT_NE(pr, nullptr);
  const std::string body = json::serialize(pr->at("sample"));
  const std::string signature =
      "sha256=" +
      crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, "catalog-e2e-secret", body));
  HttpResult posted = client_->Send("POST", url, body,
                                    {{"Content-Type", "application/json"},
                                     {"X-GitHub-Event", "pull_request"},
                                     {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                                     {"X-Hub-Signature-256", signature}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  const std::string event_id = Str(ParseObject(posted.body).if_contains("event_id"));
  HttpResult event = Api("GET", "/api/v1/events/" + event_id);
  ASSERT_EQ(event.status, 200) << event.body;
  EXPECT_EQ(Str(ParseObject(event.body).if_contains("event_type")), "pull_request");

  // One byte changed: refused.
  HttpResult tampered = client_->Send("POST", url, body + " ",
                                      {{"Content-Type", "application/json"},
                                       {"X-GitHub-Event", "pull_request"},
                                       {"X-Hub-Signature-256", signature}});
  EXPECT_EQ(tampered.status, 401);
}

}  // namespace
}  // namespace triggerd
