// The Stack AI-style triggers API (docs/COMPATIBILITY.md, section 4) on the real binary: the exact
// requests a Stack AI client makes and the exact records it gets back, real GitHub and Stripe
// signatures (HMAC-SHA256) through both webhook routes, and the runs reaching a real agent
// endpoint (RecordingTarget) through the ordinary dispatcher. The requests marked "Stack AI's
// documentation" copy the shapes of Stack AI's API reference (Triggers: Create Trigger, Get
// Triggers, Get Trigger, Enable/Disable, Get Available Triggers By Provider, and the generated
// client's paths), not paraphrases.
#include <ctime>
#include <regex>
#include <set>

#include "api_e2e_fixture.h"
#include "common/crypto.h"
#include "recording_target.h"

namespace triggerd::e2e {
namespace {

using testing::RecordingTarget;
using namespace std::chrono_literals;

constexpr const char* kGithubSecret = "gh-webhook-secret-0123456789";
constexpr const char* kStripeSecret = "whsec_stackai0123456789abcdef";

// A lower-case 8-4-4-4-12 UUID, as Stack AI's model types project_trigger_id.
bool IsUuid(const std::string& s) {
  static const std::regex kUuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return std::regex_match(s, kUuid);
}

json::array ParseArray(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) {
    ADD_FAILURE() << "not a JSON array: " << text;
    return {};
  }
  return v.as_array();
}

std::vector<std::string> IdsOf(const json::array& records, std::string_view key = "id") {
  std::vector<std::string> ids;
  for (const auto& r : records) ids.push_back(Str(r.as_object(), key));
  return ids;
}

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

  // A 200 answer that is a JSON array (Stack AI's lists).
  json::array GetArray(const std::string& path, const std::string& key = "") {
    HttpResult r = Api("GET", path, "", key);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return ParseArray(r.body);
  }

  // POSTs a Stripe event as Stripe sends it: Stripe-Signature "t=<unix>,v1=<hex HMAC-SHA256(
  // secret, "<t>.<body>")>".
  HttpResult StripeWebhook(const std::string& path, const std::string& type,
                           const std::string& event_id, const std::string& secret = kStripeSecret) {
    const std::string body = json::serialize(
        json::object{{"id", event_id},
                     {"object", "event"},
                     {"type", type},
                     {"data", {{"object", {{"id", "cus_" + event_id}, {"object", "customer"}}}}}});
    const std::string t = std::to_string(std::time(nullptr));
    const std::string v1 =
        crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, t + "." + body));
    return client_->Send(
        "POST", path, body,
        {{"Content-Type", "application/json"}, {"Stripe-Signature", "t=" + t + ",v1=" + v1}});
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

  EXPECT_EQ(Keys(record),
            (std::set<std::string>{"project_trigger_id", "id", "project_id", "provider_id",
                                   "trigger_id", "connection_id", "webhook_data", "cursor_data",
                                   "trigger_config", "status", "source_id", "created_by",
                                   "updated_by", "created_at", "updated_at"}));
  EXPECT_TRUE(IsUuid(Str(record, "project_trigger_id"))) << json::serialize(record);
  EXPECT_EQ(Str(record, "project_id"), project);
  EXPECT_EQ(Str(record, "provider_id"), "github");
  EXPECT_EQ(Str(record, "trigger_id"), "on_pull_request");
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

  // The same record through GET, by either id (the caller's own secret is never shown, so
  // nothing differs).
  EXPECT_EQ(GetJson("/triggers/" + id), record);
  EXPECT_EQ(GetJson("/triggers/" + Str(record, "project_trigger_id")), record);

  // The domain objects behind it: an ordinary source and a disabled trigger.
  json::object trigger = GetJson("/api/v1/triggers/" + id);
  EXPECT_FALSE(trigger.at("enabled").as_bool());
  EXPECT_EQ(trigger.at("event_types"), json::value(json::array{"pull_request"}));
  EXPECT_EQ(Str(trigger, "agent_id"), project);
  EXPECT_EQ(Str(GetJson("/api/v1/sources/" + source_id), "kind"), "github");
}

TEST_F(StackAiTriggersTest, GenericWebhookGetsATokenShownOnce) {
  const std::string project = Project();
  json::object record = Expect(201, Api("POST", "/projects/" + project + "/triggers",
                                        R"({"provider_id":"webhook","trigger_id":"any"})"));
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

  // Arrays, as Stack AI answers Get Triggers.
  EXPECT_EQ(IdsOf(GetArray("/projects/" + first + "/triggers")),
            (std::vector<std::string>{Str(plain, "id"), a}));
  EXPECT_EQ(IdsOf(GetArray("/projects/" + second + "/triggers")), std::vector<std::string>{b});
  json::array all = GetArray("/triggers");
  EXPECT_EQ(IdsOf(all), (std::vector<std::string>{Str(plain, "id"), b, a}));
  // Paged on request: ?limit= and the X-Next-Cursor header.
  HttpResult first_page = Api("GET", "/triggers?limit=2");
  EXPECT_EQ(IdsOf(ParseArray(first_page.body)), (std::vector<std::string>{Str(plain, "id"), b}));
  ASSERT_FALSE(first_page.Header("X-Next-Cursor").empty());
  HttpResult last_page =
      Api("GET", "/triggers?limit=2&cursor=" + first_page.Header("X-Next-Cursor"));
  EXPECT_EQ(IdsOf(ParseArray(last_page.body)), std::vector<std::string>{a});
  EXPECT_TRUE(last_page.Header("X-Next-Cursor").empty());
  EXPECT_TRUE(Api("GET", "/triggers").Header("X-Next-Cursor").empty());
  const json::object& made_elsewhere = all.at(0).as_object();
  // Its project_trigger_id is derived from its id (version 8) and every route takes it.
  const std::string derived = Str(made_elsewhere, "project_trigger_id");
  EXPECT_TRUE(IsUuid(derived)) << derived;
  EXPECT_EQ(derived[14], '8');
  EXPECT_EQ(Str(GetJson("/triggers/" + derived), "id"), Str(plain, "id"));
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
  EXPECT_TRUE(IsUuid(Str(after, "project_trigger_id")));
  // Newest first, only the subscribed type (the push is left out).
  const json::array& data = Arr(after, "data");
  ASSERT_EQ(data.size(), 2u) << json::serialize(after);
  EXPECT_EQ(Str(data.at(0).as_object(), "event_id"), Str(second, "event_id"));
  EXPECT_EQ(Str(data.at(0).as_object().at("payload").as_object(), "action"), "closed");
  EXPECT_EQ(Str(data.at(1).as_object().at("payload").as_object(), "action"), "opened");
}

TEST_F(StackAiTriggersTest, ProvidersCatalogAsTriggerDefinitions) {
  // Stack AI's documentation: GET /providers/{provider_id}/triggers, an array of definitions.
  json::array list = GetArray("/providers/github/triggers");
  bool found = false;
  for (const auto& d : list) {
    const json::object& definition = d.as_object();
    EXPECT_EQ(Keys(definition),
              (std::set<std::string>{"trigger_id", "provider_id", "name", "description",
                                     "event_type", "sample", "schema"}));
    if (Str(definition, "trigger_id") == "on_pull_request") found = true;
  }
  EXPECT_TRUE(found);
  // Stack AI's generated client asks for one with a trailing slash.
  json::object one = GetJson("/providers/github/triggers/on_pull_request/");
  EXPECT_EQ(Str(one, "trigger_id"), "on_pull_request");
  EXPECT_EQ(Str(one, "event_type"), "pull_request");
  EXPECT_EQ(Str(one, "name"), "GitHub: pull_request");
  EXPECT_EQ(Str(one, "provider_id"), "github");
  EXPECT_FALSE(Str(one, "description").empty());
  EXPECT_TRUE(one.at("sample").is_object());
  EXPECT_TRUE(one.at("schema").is_object());
  EXPECT_EQ(GetJson("/providers/github/triggers/pull_request"), one);  // the event type too
  EXPECT_EQ(Str(GetJson("/providers/stripe/triggers/on_customer_created"), "event_type"),
            "customer.created");
  EXPECT_EQ(IdsOf(GetArray("/providers/schedule/triggers"), "trigger_id"),
            std::vector<std::string>{"on_schedule_tick"});
  EXPECT_EQ(IdsOf(GetArray("/providers/webhook/triggers"), "trigger_id"),
            std::vector<std::string>{"any"});

  HttpResult unknown = Api("GET", "/providers/nope/triggers");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Str(ErrorOf(unknown), "type"), "provider_not_found");
  EXPECT_EQ(Api("GET", "/providers/github/triggers/nope").status, 404);
  EXPECT_EQ(Api("GET", "/providers/nope/triggers/pull_request").status, 404);
}

TEST_F(StackAiTriggersTest, ProvidersCatalogNeedsNoKeyAndTakesAnyRole) {
  // As Stack AI documents it: no key. Before, 401.
  HttpResult anonymous = client_->Send("GET", "/providers/stripe/triggers", "", {});
  ASSERT_EQ(anonymous.status, 200) << anonymous.body;
  const json::array definitions = ParseArray(anonymous.body);
  EXPECT_FALSE(definitions.empty());
  EXPECT_EQ(IdsOf(definitions, "trigger_id").at(0).substr(0, 3), "on_");
  HttpResult one = client_->Send("GET", "/providers/stripe/triggers/on_customer_created/", "", {});
  EXPECT_EQ(one.status, 200) << one.body;
  for (const std::string role : {"user", "builder", "admin"}) {
    const Key key = NewKey(role);
    EXPECT_EQ(ParseArray(Api("GET", "/providers/stripe/triggers", "", key.secret).body),
              definitions)
        << role;
    EXPECT_EQ(Api("GET", "/providers/stripe/triggers/on_customer_created", "", key.secret).status,
              200)
        << role;
  }
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
        {"POST", "/projects/" + agent + "/triggers",
         R"({"provider_id":"github","trigger_id":"on_pull_request"})"},
    };
  };
  auto mine = calls(id, project);
  auto mine_by_uuid = calls(Str(GetJson("/triggers/" + id), "project_trigger_id"), project);
  mine.insert(mine.end(), mine_by_uuid.begin(), mine_by_uuid.end() - 2);
  auto never = calls(never_trigger, never_project);
  auto never_by_uuid = calls("7d444840-9dc0-41d1-a1b2-3c4d5e6f7a8b", never_project);
  never.insert(never.end(), never_by_uuid.begin(), never_by_uuid.end() - 2);
  for (size_t i = 0; i < mine.size(); ++i) {
    HttpResult theirs = Api(mine[i].method, mine[i].path, mine[i].body, other);
    HttpResult unknown = Api(never[i].method, never[i].path, never[i].body, other);
    EXPECT_EQ(theirs.status, 404) << mine[i].method << " " << mine[i].path << ": " << theirs.body;
    EXPECT_EQ(unknown.status, 404) << never[i].path;
    EXPECT_EQ(Str(ErrorOf(theirs), "type"), Str(ErrorOf(unknown), "type")) << mine[i].path;
  }
  EXPECT_TRUE(GetArray("/triggers", other).empty());
  // Untouched.
  EXPECT_EQ(Str(GetJson("/triggers/" + id), "status"), "DISABLED");
}

TEST_F(StackAiTriggersTest, RolesBuildersChangeUsersOnlyRead) {
  Key user = NewKey("user");
  Key builder = NewKey("builder");
  const std::string project = Project("builders-bot", builder.secret);
  const std::string body = R"({"provider_id":"github","trigger_id":"on_pull_request"})";
  HttpResult refused = Api("POST", "/projects/" + project + "/triggers", body, user.secret);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "type"), "insufficient_role");
  // A project's triggers are added by its creator or an admin, as PATCH /api/v1/agents/{id}
  // changes it: another builder's project is refused, and nothing is made.
  const size_t sources_before = Arr(GetJson("/api/v1/sources"), "data").size();
  HttpResult not_owner = Api("POST", "/projects/" + Project() + "/triggers", body, builder.secret);
  EXPECT_EQ(not_owner.status, 403) << not_owner.body;
  EXPECT_EQ(Str(ErrorOf(not_owner), "type"), "not_owner");
  EXPECT_EQ(Arr(GetJson("/api/v1/sources"), "data").size(), sources_before);
  const std::string admins = Str(GithubTrigger(project), "id");  // an admin may

  json::object own = GithubTrigger(project, builder.secret);
  EXPECT_EQ(Str(own, "created_by"), builder.id);
  const std::string id = Str(own, "project_trigger_id");
  EXPECT_EQ(
      Str(Expect(200, Api("POST", "/triggers/" + id + "/enable", "", builder.secret)), "status"),
      "ENABLED");
  // The admin changes it: updated_by follows.
  json::object by_admin = Expect(200, Api("POST", "/triggers/" + id + "/disable"));
  EXPECT_EQ(Str(by_admin, "created_by"), builder.id);
  EXPECT_EQ(Str(by_admin, "updated_by"), AdminKeyId());
  // The builder sees the admin's trigger but may not change it.
  HttpResult others = Api("POST", "/triggers/" + admins + "/enable", "", builder.secret);
  EXPECT_EQ(others.status, 403) << others.body;
  EXPECT_EQ(Str(ErrorOf(others), "type"), "not_owner");
  EXPECT_EQ(Api("DELETE", "/triggers/" + admins, "", builder.secret).status, 403);
  // A user key reads and changes nothing.
  HttpResult user_change = Api("POST", "/triggers/" + id + "/enable", "", user.secret);
  EXPECT_EQ(user_change.status, 403) << user_change.body;
  EXPECT_EQ(Str(ErrorOf(user_change), "type"), "insufficient_role");
  EXPECT_EQ(Api("DELETE", "/triggers/" + id, "", user.secret).status, 403);
  EXPECT_EQ(Str(GetJson("/triggers/" + id), "status"), "DISABLED");
  EXPECT_EQ(client_->Send("GET", "/triggers").status, 401);
}

TEST_F(StackAiTriggersTest, EveryRoleListsTheOrganisationsTriggers) {
  // Stack AI's triggers belong to the organisation: GET /triggers lists the workspace's for every
  // role (before, a user key, which can make none, always got an empty list, and a builder only
  // its own).
  Key user = NewKey("user");
  Key builder = NewKey("builder");
  const std::string by_admin = Str(GithubTrigger(Project()), "id");
  const std::string by_builder =
      Str(GithubTrigger(Project("builders-bot", builder.secret), builder.secret), "id");
  const std::vector<std::string> both{by_builder, by_admin};
  for (const Key& key : {user, builder}) {
    EXPECT_EQ(IdsOf(GetArray("/triggers", key.secret)), both) << key.id;
    EXPECT_EQ(Str(GetJson("/triggers/" + by_admin, key.secret), "id"), by_admin);
    EXPECT_EQ(Str(GetJson("/api/v0/project-triggers/" + by_admin + "/test-samples", key.secret),
                  "trigger_id"),
              by_admin);
  }
  EXPECT_EQ(IdsOf(GetArray("/triggers")), both);
  // The secret ingest URL stays the creator's and the admins' (elided for the others).
  const json::object seen = GetJson("/triggers/" + by_admin, user.secret);
  EXPECT_TRUE(seen.at("webhook_data").as_object().at("url_secret_elided").as_bool());
}

TEST_F(StackAiTriggersTest, BadBodiesAre400NamingTheField) {
  const std::string project = Project();
  const size_t sources_before = Arr(GetJson("/api/v1/sources"), "data").size();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({})", "provider_id"},
      {R"({"provider_id":7})", "provider_id"},
      {R"({"provider_id":"nope","trigger_id":"on_pull_request"})", "provider_id"},
      {R"({"provider_id":"github"})", "trigger_id"},  // required, as Stack AI requires it
      {R"({"provider_id":"github","trigger_id":5})", "trigger_id"},
      {R"({"provider_id":"github","trigger_id":"on_customer_created"})", "trigger_id"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","colour":"red"})", "colour"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","connection_id":[]})",
       "connection_id"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","trigger_config":"x"})",
       "trigger_config"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","trigger_config_params":[]})",
       "trigger_config_params"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","trigger_config":{},)"
       R"("trigger_config_params":{}})",
       "trigger_config_params"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request",)"
       R"("trigger_config":{"filter":"(eq \"a\""}})",
       "trigger_config.filter"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request",)"
       R"("trigger_config":{"allowed_ips":["no"]}})",
       "trigger_config"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","webhook_data":{"url":"x"}})",
       "webhook_data.url"},
      {R"({"provider_id":"github","trigger_id":"on_pull_request","webhook_data":{"secret":""}})",
       "webhook_data.secret"},
      {R"({"provider_id":"schedule","trigger_id":"on_schedule_tick",)"
       R"("trigger_config":{"cron":"61 * * * *"}})",
       "trigger_config"},
      {R"({"provider_id":"schedule","trigger_id":"on_schedule_tick",)"
       R"("webhook_data":{"secret":"s"}})",
       "webhook_data"},
  };
  for (const auto& [body, field] : cases) {
    HttpResult r = Api("POST", "/projects/" + project + "/triggers", body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(Str(ErrorOf(r), "field"), field) << body << ": " << r.body;
  }
  HttpResult filter = Api("POST", "/projects/" + project + "/triggers",
                          R"({"provider_id":"github","trigger_id":"on_pull_request",)"
                          R"("trigger_config":{"filter":"(eq \"a\""}})");
  EXPECT_EQ(Str(ErrorOf(filter), "type"), "invalid_filter");
  // An unknown trigger_id names the provider's valid ones.
  HttpResult unknown = Api("POST", "/projects/" + project + "/triggers",
                           R"({"provider_id":"stripe","trigger_id":"on_pull_request"})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(Str(ErrorOf(unknown), "type"), "unknown_trigger");
  EXPECT_NE(Str(ErrorOf(unknown), "message").find("on_customer_created"), std::string::npos)
      << unknown.body;
  // Nothing half-made stays behind.
  EXPECT_EQ(Arr(GetJson("/api/v1/sources"), "data").size(), sources_before);
  EXPECT_TRUE(GetArray("/triggers").empty());
}

TEST_F(StackAiTriggersTest, ScheduleTriggerConfigIsTheSourcesSchedule) {
  const std::string project = Project();
  json::object record = Expect(
      201, Api("POST", "/projects/" + project + "/triggers",
               R"({"provider_id":"schedule","trigger_id":"on_schedule_tick",)"
               R"("trigger_config":{"interval_seconds":3600,"polling_frequency":"10000"}})"));
  EXPECT_EQ(Str(record, "provider_id"), "schedule");
  EXPECT_TRUE(record.at("webhook_data").is_null());
  EXPECT_TRUE(record.at("cursor_data").is_null());  // no tick yet (hourly)
  const json::object& config = record.at("trigger_config").as_object();
  EXPECT_EQ(config.at("interval_seconds").to_number<int64_t>(), 3600);
  EXPECT_TRUE(config.at("filter").is_null());
  EXPECT_EQ(Str(config, "polling_frequency"), "10000");  // Stack AI's parameter, kept as sent
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
  EXPECT_EQ(IdsOf(GetArray("/projects/" + project + "/triggers")),
            std::vector<std::string>{Str(other, "id")});
}

TEST_F(StackAiTriggersTest, DocumentedCreateRequestGivesTheDocumentedRecord) {
  const std::string project = Project();
  // Stack AI's documentation, Create Trigger: POST /projects/{project_id}/triggers with
  // {"provider_id","trigger_id","trigger_config_params":{…},"connection_id":"<uuid>"}, the
  // trigger_config example of the ProjectTrigger model as the parameters.
  HttpResult created = client_->Send("POST", "/projects/" + project + "/triggers",
                                     R"({
  "provider_id": "stripe",
  "trigger_id": "on_customer_created",
  "trigger_config_params": {
    "inbox_id": "ENTERPRISE_INBOX",
    "polling_frequency": "10000"
  },
  "connection_id": "123e4567-e89b-12d3-a456-426614174000"
})",
                                     {{"Authorization", "Bearer " + admin_},
                                      {"Content-Type", "application/json"},
                                      {"Accept", "*/*"}});
  json::object record = Expect(201, created);
  // Every member of Stack AI's ProjectTrigger, typed as its model types them.
  const std::string project_trigger_id = Str(record, "project_trigger_id");
  EXPECT_TRUE(IsUuid(project_trigger_id)) << created.body;
  EXPECT_EQ(project_trigger_id[14], '4');  // a random (version 4) UUID
  EXPECT_EQ(Str(record, "project_id"), project);
  EXPECT_EQ(Str(record, "connection_id"), "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(Str(record, "provider_id"), "stripe");
  EXPECT_EQ(Str(record, "trigger_id"), "on_customer_created");
  EXPECT_TRUE(record.at("webhook_data").is_object());
  EXPECT_TRUE(record.at("cursor_data").is_null());
  const json::object& config = record.at("trigger_config").as_object();
  EXPECT_EQ(Str(config, "inbox_id"), "ENTERPRISE_INBOX");
  EXPECT_EQ(Str(config, "polling_frequency"), "10000");
  EXPECT_EQ(Str(record, "status"), "DISABLED");
  const std::regex rfc3339(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$)");
  EXPECT_TRUE(std::regex_match(Str(record, "created_at"), rfc3339)) << created.body;
  EXPECT_TRUE(std::regex_match(Str(record, "updated_at"), rfc3339)) << created.body;
  EXPECT_EQ(Str(record, "created_by"), AdminKeyId());
  EXPECT_EQ(Str(record, "updated_by"), AdminKeyId());

  // Get Triggers: an array holding it; Get Trigger by project_trigger_id: the same record (the
  // generated signing secret was shown once, on create).
  json::object shown = record;
  shown["webhook_data"].as_object().erase("secret");
  EXPECT_EQ(GetArray("/projects/" + project + "/triggers"), json::array{shown});
  EXPECT_EQ(GetJson("/triggers/" + project_trigger_id), shown);
  // The parameters survive a restart of the binary (they are stored, not cached).
  process_->Stop();
  ASSERT_TRUE(process_->Start()) << process_->error();
  client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
  EXPECT_EQ(GetJson("/triggers/" + project_trigger_id).at("trigger_config"),
            shown.at("trigger_config"));

  // Enable, Disable, Delete by project_trigger_id.
  EXPECT_EQ(Str(Expect(200, Api("POST", "/triggers/" + project_trigger_id + "/enable")), "status"),
            "ENABLED");
  EXPECT_EQ(Str(Expect(200, Api("POST", "/triggers/" + project_trigger_id + "/disable")), "status"),
            "DISABLED");
  EXPECT_EQ(Api("DELETE", "/triggers/" + project_trigger_id).status, 204);
  EXPECT_EQ(Api("GET", "/triggers/" + project_trigger_id).status, 404);

  // The documentation's placeholder body ("text") names no provider: 400, nothing made.
  HttpResult placeholder = Api("POST", "/projects/" + project + "/triggers", R"({
  "provider_id": "text",
  "trigger_id": "text",
  "trigger_config_params": {
    "ANY_ADDITIONAL_PROPERTY": "anything"
  },
  "connection_id": "123e4567-e89b-12d3-a456-426614174000"
})");
  EXPECT_EQ(placeholder.status, 400) << placeholder.body;
  EXPECT_EQ(Str(ErrorOf(placeholder), "field"), "provider_id");
  EXPECT_TRUE(GetArray("/triggers").empty());
}

TEST_F(StackAiTriggersTest, StripeOnCustomerCreatedFiresOnASignedCustomerCreated) {
  const std::string project = Project();
  json::object record =
      Expect(201, Api("POST", "/projects/" + project + "/triggers",
                      json::object{{"provider_id", "stripe"},
                                   {"trigger_id", "on_customer_created"},
                                   {"trigger_config_params", json::object{}},
                                   {"webhook_data", {{"secret", kStripeSecret}}}}));
  const std::string uuid = Str(record, "project_trigger_id");
  const std::string id = Str(record, "id");
  // The trigger subscribes to the event the definition names (before: to "on_customer_created",
  // which no Stripe event carries, so it never fired).
  EXPECT_EQ(GetJson("/api/v1/triggers/" + id).at("event_types"),
            json::value(json::array{"customer.created"}));
  Expect(200, Api("POST", "/triggers/" + uuid + "/enable"));

  // A correctly signed customer.created, to /v1/webhooks/{project_trigger_id}: a run, delivered.
  json::object fired = Expect(200, StripeWebhook("/v1/webhooks/" + uuid, "customer.created", "e1"));
  auto runs = RunsByTrigger(fired);
  ASSERT_EQ(runs.count(id), 1u) << json::serialize(fired);
  EXPECT_TRUE(Delivered(runs[id]));
  // Through the provider route too.
  json::object by_provider =
      Expect(200, StripeWebhook("/v1/webhooks/stripe", "customer.created", "e2"));
  EXPECT_EQ(RunsByTrigger(by_provider).count(id), 1u) << json::serialize(by_provider);
  // Another event type is stored but starts nothing; a wrong signature is refused.
  json::object other = Expect(200, StripeWebhook("/v1/webhooks/" + uuid, "customer.updated", "e3"));
  EXPECT_TRUE(Arr(other, "runs").empty()) << json::serialize(other);
  EXPECT_EQ(StripeWebhook("/v1/webhooks/" + uuid, "customer.created", "e4", "whsec_wrong").status,
            401);
}

TEST_F(StackAiTriggersTest, DeprecatedKeyRoutesAreGoneNamingTheirReplacement) {
  const std::string project = Project();
  json::object record = GithubTrigger(project);
  const std::string uuid = Str(record, "project_trigger_id");
  // The organisation is the workspace: its id, from the source's ingest URL /api/v1/w/{ws}/….
  const std::string ingest_url = Str(record.at("webhook_data").as_object(), "ingest_url");
  const size_t at = ingest_url.find("/api/v1/w/") + 10;
  const std::string org = ingest_url.substr(at, ingest_url.find('/', at) - at);
  ASSERT_TRUE(org.starts_with("ws_")) << ingest_url;
  // Stack AI's generated client: POST /organizations/{org_id}/triggers/{project_trigger_id}/
  // {webhook|webook|polling|scheduled}/key/{api_key} (webhook ones with ?trigger_id=&provider_id=).
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"webhook/key/" + admin_ + "?trigger_id=on_pull_request&provider_id=github",
       "POST /v1/webhooks/" + uuid},
      {"webook/key/" + admin_, "POST /v1/webhooks/" + uuid},
      {"polling/key/" + admin_, "POST /triggers/" + uuid + "/enable"},
      {"scheduled/key/" + admin_, "POST /triggers/" + uuid + "/enable"},
  };
  for (const auto& [tail, replacement] : routes) {
    HttpResult r = client_->Send("POST", "/organizations/" + org + "/triggers/" + uuid + "/" + tail,
                                 R"({"hello":1})", {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 410) << tail << ": " << r.body;
    const json::object error = ErrorOf(r);
    EXPECT_EQ(Str(error, "type"), "gone");
    EXPECT_EQ(Str(error, "replacement"), replacement);
    EXPECT_NE(Str(error, "message").find(replacement), std::string::npos) << r.body;
  }
  // Unknown organisation and trigger: gone all the same, never 404.
  HttpResult unknown = client_->Send(
      "POST", "/organizations/org_x/triggers/00000000-0000-4000-8000-000000000000/webhook/key/k",
      "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(unknown.status, 410) << unknown.body;
  // Nothing was delivered.
  EXPECT_TRUE(Arr(GetJson("/api/v1/events?source_id=" + Str(record, "source_id")), "data").empty());
}

}  // namespace
}  // namespace triggerd::e2e
