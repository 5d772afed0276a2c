// The Stack AI-style triggers API (docs/COMPATIBILITY.md, section 4) on the real binary: the exact
// requests a Stack AI client makes and the exact records it gets back, real GitHub signatures
// (HMAC-SHA256 over the body) through both webhook routes, and the runs reaching a real agent
// endpoint (RecordingTarget) through the ordinary dispatcher.
#include <set>

#include "api_e2e_fixture.h"
#include "common/crypto.h"
#include "recording_target.h"

namespace triggerd::e2e {
namespace {

using testing::RecordingTarget;
using namespace std::chrono_literals;

constexpr const char* kGithubSecret = "gh-webhook-secret-0123456789";

class StackAiTriggersTest : public ApiE2eTest {
 protected:
  void SetUp() override {
    ApiE2eTest::SetUp();
    target_ = std::make_unique<RecordingTarget>(
        [](const auto&, const auto&) { return RecordingTarget::Reply(200, R"({"ok":true})"); });
    base_url_ = "http://127.0.0.1:" + std::to_string(process_->port());
  }

  // An http agent (a Stack AI project) pointing at the recording target.
  std::string Project(const std::string& name = "support-bot", const std::string& key = "") {
    return Str(
        NewAgent(
            {{"name", name},
             {"target", {{"type", "http"}, {"url", target_->Url("/agent")}, {"timeout_ms", 2000}}}},
            key),
        "id");
  }

  // A GitHub pull_request trigger of `project` signed with kGithubSecret; the 201 record.
  json::object GithubTrigger(const std::string& project, const std::string& key = "") {
    return Expect(201,
                  Api("POST", "/projects/" + project + "/triggers",
                      json::object{{"provider_id", "github"},
                                   {"trigger_id", "pull_request"},
                                   {"connection_id", "conn_github_1"},
                                   {"trigger_config", {{"filter", "(eq \"action\" \"opened\")"}}},
                                   {"webhook_data", {{"secret", kGithubSecret}}}},
                      key));
  }

  // POSTs a pull_request webhook as GitHub sends it: X-GitHub-Event, X-GitHub-Delivery and
  // X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, body).
  HttpResult GithubWebhook(const std::string& path, const std::string& delivery,
                           const std::string& action = "opened",
                           const std::string& secret = kGithubSecret,
                           const std::string& event = "pull_request") {
    const std::string body = json::serialize(json::object{
        {"action", action}, {"number", 7}, {"pull_request", {{"title", "Fix " + delivery}}}});
    const std::string signature =
        "sha256=" + crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, body));
    return client_->Send("POST", path, body,
                         {{"Content-Type", "application/json"},
                          {"X-GitHub-Event", event},
                          {"X-GitHub-Delivery", delivery},
                          {"X-Hub-Signature-256", signature}});
  }

  // Waits until the agent got the message of `run_id`.
  bool Delivered(const std::string& run_id) {
    return target_->WaitFor(
        [&](const std::vector<RecordingTarget::Received>& requests) {
          for (const auto& r : requests) {
            if (r.body.find(run_id) != std::string::npos) return true;
          }
          return false;
        },
        20s);
  }

  std::string AdminKeyId() {
    const json::object keys = GetJson("/api/v1/keys");
    for (const auto& k : Arr(keys, "data")) {
      if (Str(k.as_object(), "role") == "admin") return Str(k.as_object(), "id");
    }
    return "";
  }

  static HttpResult Expect401(HttpResult r) {
    EXPECT_EQ(r.status, 401) << r.body;
    return r;
  }

  std::unique_ptr<RecordingTarget> target_;
  std::string base_url_;
};

std::set<std::string> Keys(const json::object& o) {
  std::set<std::string> keys;
  for (const auto& [k, v] : o) keys.insert(std::string(k));
  return keys;
}

TEST_F(StackAiTriggersTest, CreateGivesADisabledRecordWithEveryField) {
  const std::string project = Project();
  json::object record = GithubTrigger(project);
  const std::string id = Str(record, "id");
  ASSERT_TRUE(id.starts_with("trg_")) << json::serialize(record);

  EXPECT_EQ(
      Keys(record),
      (std::set<std::string>{"id", "project_id", "provider_id", "trigger_id", "connection_id",
                             "webhook_data", "cursor_data", "trigger_config", "status", "source_id",
                             "created_by", "updated_by", "created_at", "updated_at"}));
  EXPECT_EQ(Str(record, "project_id"), project);
  EXPECT_EQ(Str(record, "provider_id"), "github");
  EXPECT_EQ(Str(record, "trigger_id"), "pull_request");
  EXPECT_EQ(Str(record, "connection_id"), "conn_github_1");
  EXPECT_EQ(Str(record, "status"), "DISABLED");
  EXPECT_TRUE(record.at("cursor_data").is_null());
  const std::string key_id = AdminKeyId();
  EXPECT_EQ(Str(record, "created_by"), key_id);
  EXPECT_EQ(Str(record, "updated_by"), key_id);
  EXPECT_EQ(Str(record, "created_at"), Str(record, "updated_at"));

  const std::string source_id = Str(record, "source_id");
  EXPECT_EQ(
      record.at("webhook_data"),
      json::value(json::object{{"url", base_url_ + "/v1/webhooks/" + id},
                               {"ingest_url", Str(GetJson("/api/v1/sources/" + source_id), "url")},
                               {"url_secret_elided", false},
                               {"provider_url", base_url_ + "/v1/webhooks/github"},
                               {"has_secret", true},
                               {"has_token", false}}));
  EXPECT_EQ(record.at("trigger_config"),
            json::value(json::object{{"auth", {{"bearer", false}}},
                                     {"allowed_ips", json::array()},
                                     {"allowed_origins", json::array()},
                                     {"delivery_id_header", ""},
                                     {"max_body_bytes", 0},
                                     {"filter", "(eq \"action\" \"opened\")"}}));

  // The same record through GET (the caller's own secret is never shown, so nothing differs).
  EXPECT_EQ(GetJson("/triggers/" + id), record);

  // The domain objects behind it: an ordinary source and a disabled trigger.
  json::object trigger = GetJson("/api/v1/triggers/" + id);
  EXPECT_FALSE(trigger.at("enabled").as_bool());
  EXPECT_EQ(trigger.at("event_types"), json::value(json::array{"pull_request"}));
  EXPECT_EQ(Str(trigger, "agent_id"), project);
  EXPECT_EQ(Str(GetJson("/api/v1/sources/" + source_id), "kind"), "github");
}

TEST_F(StackAiTriggersTest, GenericWebhookGetsATokenShownOnce) {
  const std::string project = Project();
  json::object record = Expect(
      201, Api("POST", "/projects/" + project + "/triggers", R"({"provider_id":"webhook"})"));
  EXPECT_EQ(Str(record, "provider_id"), "custom");
  EXPECT_EQ(Str(record, "trigger_id"), "any");
  EXPECT_TRUE(record.at("connection_id").is_null());
  const json::object& data = record.at("webhook_data").as_object();
  const std::string token = Str(data, "token");
  ASSERT_TRUE(token.starts_with("tdt_")) << json::serialize(record);
  EXPECT_FALSE(data.contains("secret"));
  EXPECT_TRUE(data.at("provider_url").is_null());
  EXPECT_FALSE(
      GetJson("/triggers/" + Str(record, "id")).at("webhook_data").as_object().contains("token"));

  // Enabled, the token starts a run through /v1/webhooks/{trigger id}; without it, 401.
  const std::string id = Str(record, "id");
  EXPECT_EQ(Str(Expect(200, Api("POST", "/triggers/" + id + "/enable")), "status"), "ENABLED");
  HttpResult refused = client_->Send("POST", "/v1/webhooks/" + id, R"({"hello":1})",
                                     {{"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 401) << refused.body;
  HttpResult accepted =
      client_->Send("POST", "/v1/webhooks/" + id, R"({"hello":1})",
                    {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
  json::object answer = Expect(200, accepted);
  ASSERT_EQ(RunsByTrigger(answer).count(id), 1u) << accepted.body;
  EXPECT_TRUE(Delivered(RunsByTrigger(answer)[id]));
}

TEST_F(StackAiTriggersTest, ListsPerProjectAndPerOrganisation) {
  const std::string first = Project("first");
  const std::string second = Project("second");
  const std::string a = Str(GithubTrigger(first), "id");
  const std::string b = Str(GithubTrigger(second), "id");
  // A trigger made through /api/v1 is the same kind of record, without the extras.
  json::object source = NewSource("plain");
  json::object plain = NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", first}});

  EXPECT_EQ(Ids(GetJson("/projects/" + first + "/triggers")),
            (std::vector<std::string>{Str(plain, "id"), a}));
  EXPECT_EQ(Ids(GetJson("/projects/" + second + "/triggers")), std::vector<std::string>{b});
  json::object all = GetJson("/triggers");
  EXPECT_EQ(Ids(all), (std::vector<std::string>{Str(plain, "id"), b, a}));
  EXPECT_TRUE(all.at("next_cursor").is_null());
  const json::object& made_elsewhere = Arr(all, "data").at(0).as_object();
  EXPECT_EQ(Str(made_elsewhere, "provider_id"), "custom");
  EXPECT_EQ(Str(made_elsewhere, "status"), "ENABLED");
  EXPECT_TRUE(made_elsewhere.at("connection_id").is_null());
  EXPECT_TRUE(made_elsewhere.at("updated_by").is_null());
  // Its source authenticates by its secret URL alone: that is where to send.
  EXPECT_EQ(Str(made_elsewhere.at("webhook_data").as_object(), "url"), Str(source, "url"));

  HttpResult unknown = Api("GET", "/projects/agt_doesnotexist/triggers");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(StackAiTriggersTest, EnabledTriggerRunsFromBothWebhookRoutesDisabledOnlyStores) {
  const std::string project = Project();
  json::object record = GithubTrigger(project);
  const std::string id = Str(record, "id");
  const std::string source_id = Str(record, "source_id");

  // Disabled (the default): stored, evaluated as disabled, no run.
  json::object stored = Expect(200, GithubWebhook("/v1/webhooks/" + id, "d-0"));
  EXPECT_TRUE(Arr(stored, "runs").empty()) << json::serialize(stored);
  json::object event = GetJson("/api/v1/events/" + Str(stored, "event_id"));
  EXPECT_EQ(Str(event, "source_id"), source_id);
  json::object matches = GetJson("/api/v1/triggers/" + id + "/matches");
  ASSERT_EQ(Arr(matches, "data").size(), 1u);
  EXPECT_EQ(Str(Arr(matches, "data").at(0).as_object(), "outcome"), "disabled");

  json::object enabled = Expect(200, Api("POST", "/triggers/" + id + "/enable"));
  EXPECT_EQ(Str(enabled, "status"), "ENABLED");
  EXPECT_TRUE(GetJson("/api/v1/triggers/" + id).at("enabled").as_bool());

  // By trigger id.
  json::object by_id = Expect(200, GithubWebhook("/v1/webhooks/" + id, "d-1"));
  EXPECT_FALSE(by_id.at("duplicate").as_bool());
  auto runs = RunsByTrigger(by_id);
  ASSERT_EQ(runs.count(id), 1u) << json::serialize(by_id);
  EXPECT_TRUE(Delivered(runs[id]));
  // The same delivery again: ingest's de-duplication, no second run.
  json::object again = Expect(200, GithubWebhook("/v1/webhooks/" + id, "d-1"));
  EXPECT_TRUE(again.at("duplicate").as_bool());
  EXPECT_EQ(Str(again, "event_id"), Str(by_id, "event_id"));

  // By provider name: the signature picks the source.
  json::object by_provider = Expect(200, GithubWebhook("/v1/webhooks/github", "d-2"));
  auto provider_runs = RunsByTrigger(by_provider);
  ASSERT_EQ(provider_runs.count(id), 1u) << json::serialize(by_provider);
  EXPECT_TRUE(Delivered(provider_runs[id]));
  EXPECT_EQ(Str(GetJson("/api/v1/events/" + Str(by_provider, "event_id")), "source_id"), source_id);

  // The filter still applies; a bad signature is refused on both routes; no source of a kind: 404.
  EXPECT_TRUE(
      Arr(Expect(200, GithubWebhook("/v1/webhooks/" + id, "d-3", "closed")), "runs").empty());
  EXPECT_EQ(Str(ErrorOf(Expect401(GithubWebhook("/v1/webhooks/" + id, "d-4", "opened", "wrong"))),
                "type"),
            "invalid_signature");
  Expect401(GithubWebhook("/v1/webhooks/github", "d-5", "opened", "wrong"));
  EXPECT_EQ(GithubWebhook("/v1/webhooks/stripe", "d-6").status, 404);
  EXPECT_EQ(GithubWebhook("/v1/webhooks/trg_neverissued000000000000", "d-7").status, 404);
  EXPECT_EQ(GithubWebhook("/v1/webhooks/nonsense", "d-8").status, 404);

  // Disabled again: stored, no run.
  EXPECT_EQ(Str(Expect(200, Api("POST", "/triggers/" + id + "/disable")), "status"), "DISABLED");
  json::object off = Expect(200, GithubWebhook("/v1/webhooks/github", "d-9"));
  EXPECT_TRUE(Arr(off, "runs").empty()) << json::serialize(off);
  EXPECT_EQ(Str(GetJson("/api/v1/events/" + Str(off, "event_id")), "source_id"), source_id);

  // A second GitHub trigger given the same secret: the provider route cannot choose.
  GithubTrigger(project);
  HttpResult ambiguous = GithubWebhook("/v1/webhooks/github", "d-10");
  EXPECT_EQ(ambiguous.status, 409) << ambiguous.body;
  EXPECT_EQ(Str(ErrorOf(ambiguous), "type"), "ambiguous_webhook");
}

TEST_F(StackAiTriggersTest, TestSamplesAreTheLastPayloadsElseTheCatalogs) {
  const std::string project = Project();
  const std::string id = Str(GithubTrigger(project), "id");
  json::object before = GetJson("/api/v0/project-triggers/" + id + "/test-samples");
  EXPECT_EQ(Str(before, "origin"), "catalog");
  ASSERT_EQ(Arr(before, "data").size(), 1u) << json::serialize(before);
  const json::object& sample = Arr(before, "data").at(0).as_object();
  EXPECT_EQ(Str(sample, "event_type"), "pull_request");
  EXPECT_TRUE(sample.at("event_id").is_null());
  EXPECT_TRUE(sample.at("payload").is_object());

  Expect(200, GithubWebhook("/v1/webhooks/" + id, "s-1", "opened"));
  Expect(200, GithubWebhook("/v1/webhooks/" + id, "s-2", "push", kGithubSecret, "push"));
  json::object second = Expect(200, GithubWebhook("/v1/webhooks/" + id, "s-3", "closed"));
  json::object after = GetJson("/api/v0/project-triggers/" + id + "/test-samples");
  EXPECT_EQ(Str(after, "origin"), "events");
  EXPECT_EQ(Str(after, "trigger_id"), id);
  // Newest first, only the subscribed type (the push is left out).
  const json::array& data = Arr(after, "data");
  ASSERT_EQ(data.size(), 2u) << json::serialize(after);
  EXPECT_EQ(Str(data.at(0).as_object(), "event_id"), Str(second, "event_id"));
  EXPECT_EQ(Str(data.at(0).as_object().at("payload").as_object(), "action"), "closed");
  EXPECT_EQ(Str(data.at(1).as_object().at("payload").as_object(), "action"), "opened");
}

TEST_F(StackAiTriggersTest, ProvidersCatalogAsTriggerDefinitions) {
  json::object list = GetJson("/providers/github/triggers");
  bool found = false;
  for (const auto& d : Arr(list, "data")) {
    const json::object& definition = d.as_object();
    EXPECT_EQ(Keys(definition), (std::set<std::string>{"id", "name", "provider_id", "description",
                                                       "sample", "schema"}));
    if (Str(definition, "id") == "pull_request") found = true;
  }
  EXPECT_TRUE(found);
  json::object one = GetJson("/providers/github/triggers/pull_request");
  EXPECT_EQ(Str(one, "id"), "pull_request");
  EXPECT_EQ(Str(one, "name"), "GitHub: pull_request");
  EXPECT_EQ(Str(one, "provider_id"), "github");
  EXPECT_FALSE(Str(one, "description").empty());
  EXPECT_TRUE(one.at("sample").is_object());
  EXPECT_TRUE(one.at("schema").is_object());
  EXPECT_EQ(Ids(GetJson("/providers/schedule/triggers")),
            std::vector<std::string>{"schedule.tick"});
  EXPECT_EQ(Ids(GetJson("/providers/webhook/triggers")), std::vector<std::string>{"any"});

  HttpResult unknown = Api("GET", "/providers/nope/triggers");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Str(ErrorOf(unknown), "type"), "provider_not_found");
  EXPECT_EQ(Api("GET", "/providers/github/triggers/nope").status, 404);
  EXPECT_EQ(Api("GET", "/providers/nope/triggers/pull_request").status, 404);
  EXPECT_EQ(client_->Send("GET", "/providers/github/triggers").status, 401);
}

TEST_F(StackAiTriggersTest, AnotherWorkspacesIdsAreUnknownIds) {
  const std::string project = Project();
  const std::string id = Str(GithubTrigger(project), "id");
  json::object b = Expect(201, Api("POST", "/api/v1/workspaces", R"({"name":"b"})"));
  const std::string other = Str(b, "admin_key");
  ASSERT_FALSE(other.empty());

  const std::string never_trigger = "trg_" + std::string(id.size() - 4, 'z');
  const std::string never_project = "agt_" + std::string(project.size() - 4, 'z');
  struct Call {
    std::string method, path, body;
  };
  auto calls = [](const std::string& trigger, const std::string& agent) {
    return std::vector<Call>{
        {"GET", "/triggers/" + trigger, ""},
        {"DELETE", "/triggers/" + trigger, ""},
        {"POST", "/triggers/" + trigger + "/enable", ""},
        {"POST", "/triggers/" + trigger + "/disable", ""},
        {"GET", "/api/v0/project-triggers/" + trigger + "/test-samples", ""},
        {"GET", "/projects/" + agent + "/triggers", ""},
        {"POST", "/projects/" + agent + "/triggers", R"({"provider_id":"github"})"},
    };
  };
  auto mine = calls(id, project);
  auto never = calls(never_trigger, never_project);
  for (size_t i = 0; i < mine.size(); ++i) {
    HttpResult theirs = Api(mine[i].method, mine[i].path, mine[i].body, other);
    HttpResult unknown = Api(never[i].method, never[i].path, never[i].body, other);
    EXPECT_EQ(theirs.status, 404) << mine[i].method << " " << mine[i].path << ": " << theirs.body;
    EXPECT_EQ(unknown.status, 404) << never[i].path;
    EXPECT_EQ(Str(ErrorOf(theirs), "type"), Str(ErrorOf(unknown), "type")) << mine[i].path;
  }
  EXPECT_TRUE(Arr(GetJson("/triggers", other), "data").empty());
  // Untouched.
  EXPECT_EQ(Str(GetJson("/triggers/" + id), "status"), "DISABLED");
}

TEST_F(StackAiTriggersTest, RolesBuildersChangeUsersOnlyRead) {
  Key user = NewKey("user");
  Key builder = NewKey("builder");
  const std::string project = Project("builders-bot", builder.secret);
  HttpResult refused =
      Api("POST", "/projects/" + project + "/triggers", R"({"provider_id":"github"})", user.secret);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "type"), "insufficient_role");
  // A project's triggers are added by its creator or an admin, as PATCH /api/v1/agents/{id}
  // changes it: another builder's project is refused, and nothing is made.
  const size_t sources_before = Arr(GetJson("/api/v1/sources"), "data").size();
  HttpResult not_owner = Api("POST", "/projects/" + Project() + "/triggers",
                             R"({"provider_id":"github"})", builder.secret);
  EXPECT_EQ(not_owner.status, 403) << not_owner.body;
  EXPECT_EQ(Str(ErrorOf(not_owner), "type"), "not_owner");
  EXPECT_EQ(Arr(GetJson("/api/v1/sources"), "data").size(), sources_before);
  EXPECT_EQ(Str(GithubTrigger(project), "created_by"), AdminKeyId());  // an admin may

  json::object own = GithubTrigger(project, builder.secret);
  EXPECT_EQ(Str(own, "created_by"), builder.id);
  const std::string id = Str(own, "id");
  EXPECT_EQ(
      Str(Expect(200, Api("POST", "/triggers/" + id + "/enable", "", builder.secret)), "status"),
      "ENABLED");
  // The admin changes it: updated_by follows.
  json::object by_admin = Expect(200, Api("POST", "/triggers/" + id + "/disable"));
  EXPECT_EQ(Str(by_admin, "created_by"), builder.id);
  EXPECT_EQ(Str(by_admin, "updated_by"), AdminKeyId());
  // Triggers are personal, as under /api/v1: a user key sees none of the others' and can change
  // nothing (another's trigger is answered like an unknown one).
  EXPECT_TRUE(Arr(GetJson("/triggers", user.secret), "data").empty());
  EXPECT_EQ(Api("POST", "/triggers/" + id + "/enable", "", user.secret).status, 404);
  EXPECT_EQ(Api("DELETE", "/triggers/" + id, "", user.secret).status, 404);
  EXPECT_EQ(Str(GetJson("/triggers/" + id), "status"), "DISABLED");
  EXPECT_EQ(client_->Send("GET", "/triggers").status, 401);
}

TEST_F(StackAiTriggersTest, BadBodiesAre400NamingTheField) {
  const std::string project = Project();
  const size_t sources_before = Arr(GetJson("/api/v1/sources"), "data").size();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({})", "provider_id"},
      {R"({"provider_id":7})", "provider_id"},
      {R"({"provider_id":"nope"})", "provider_id"},
      {R"({"provider_id":"github","colour":"red"})", "colour"},
      {R"({"provider_id":"github","trigger_id":5})", "trigger_id"},
      {R"({"provider_id":"github","connection_id":[]})", "connection_id"},
      {R"({"provider_id":"github","trigger_config":"x"})", "trigger_config"},
      {R"({"provider_id":"github","trigger_config":{"filter":"(eq \"a\""}})",
       "trigger_config.filter"},
      {R"({"provider_id":"github","trigger_config":{"colour":1}})", "trigger_config.colour"},
      {R"({"provider_id":"github","trigger_config":{"allowed_ips":["no"]}})", "trigger_config"},
      {R"({"provider_id":"github","webhook_data":{"url":"x"}})", "webhook_data.url"},
      {R"({"provider_id":"github","webhook_data":{"secret":""}})", "webhook_data.secret"},
      {R"({"provider_id":"schedule","trigger_config":{"cron":"61 * * * *"}})", "trigger_config"},
      {R"({"provider_id":"schedule","webhook_data":{"secret":"s"}})", "webhook_data"},
  };
  for (const auto& [body, field] : cases) {
    HttpResult r = Api("POST", "/projects/" + project + "/triggers", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(Str(ErrorOf(r), "field"), field) << body << ": " << r.body;
  }
  HttpResult filter = Api("POST", "/projects/" + project + "/triggers",
                          R"({"provider_id":"github","trigger_config":{"filter":"(eq \"a\""}})");
  EXPECT_EQ(Str(ErrorOf(filter), "type"), "invalid_filter");
  // Nothing half-made stays behind.
  EXPECT_EQ(Arr(GetJson("/api/v1/sources"), "data").size(), sources_before);
  EXPECT_TRUE(Arr(GetJson("/triggers"), "data").empty());
}

TEST_F(StackAiTriggersTest, ScheduleTriggerConfigIsTheSourcesSchedule) {
  const std::string project = Project();
  json::object record =
      Expect(201, Api("POST", "/projects/" + project + "/triggers",
                      R"({"provider_id":"schedule","trigger_config":{"interval_seconds":3600}})"));
  EXPECT_EQ(Str(record, "provider_id"), "schedule");
  EXPECT_TRUE(record.at("webhook_data").is_null());
  EXPECT_TRUE(record.at("cursor_data").is_null());  // no tick yet (hourly)
  const json::object& config = record.at("trigger_config").as_object();
  EXPECT_EQ(config.at("interval_seconds").to_number<int64_t>(), 3600);
  EXPECT_TRUE(config.at("filter").is_null());
  json::object source = GetJson("/api/v1/sources/" + Str(record, "source_id"));
  EXPECT_EQ(Str(source, "kind"), "schedule");
  EXPECT_EQ(source.at("schedule").as_object().at("interval_seconds").to_number<int64_t>(), 3600);
}

TEST_F(StackAiTriggersTest, DeleteRemovesTheTriggerAndTheSourceItMade) {
  const std::string project = Project();
  json::object lone = GithubTrigger(project);
  const std::string lone_source = Str(lone, "source_id");
  EXPECT_EQ(Api("DELETE", "/triggers/" + Str(lone, "id")).status, 204);
  EXPECT_EQ(Api("GET", "/triggers/" + Str(lone, "id")).status, 404);
  EXPECT_EQ(Api("GET", "/api/v1/sources/" + lone_source).status, 404);
  EXPECT_EQ(GithubWebhook("/v1/webhooks/" + Str(lone, "id"), "x-1").status, 404);

  // A source another trigger uses (bound to it through /api/v1) stays.
  json::object shared = GithubTrigger(project);
  const std::string shared_source = Str(shared, "source_id");
  json::object other = NewTrigger({{"source_id", shared_source}, {"agent_id", project}});
  EXPECT_EQ(Api("DELETE", "/triggers/" + Str(shared, "id")).status, 204);
  EXPECT_EQ(Api("GET", "/api/v1/sources/" + shared_source).status, 200);
  EXPECT_EQ(Ids(GetJson("/projects/" + project + "/triggers")),
            std::vector<std::string>{Str(other, "id")});
}

}  // namespace
}  // namespace triggerd::e2e
