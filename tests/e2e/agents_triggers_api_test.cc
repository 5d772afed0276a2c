// The real binary on 127.0.0.1:0, driven over HTTP: agents and triggers (CRUD, validation with
// the offending field, roles and personal visibility), the trigger dry run, what ingest answers
// and records for each trigger, and the per-trigger match records.
#include <gtest/gtest.h>

#include "api_e2e_fixture.h"
#include "common/crypto.h"

namespace triggerd::e2e {
namespace {

// Command agents through the API are the operator's opt-in (AgentTargetsTest below).
class AgentsTriggersApiTest : public ApiE2eTest {
 protected:
  AgentsTriggersApiTest() { config_yaml_ = "api:\n  command_agents: true\n"; }
};

// No `api:` in the config file: the defaults. The file declares a command agent and an llm agent
// naming an environment variable: the operator's own file is not limited.
class AgentTargetsTest : public ApiE2eTest {
 protected:
  AgentTargetsTest() {
    config_yaml_ =
        "workspaces:\n"
        "  - name: default\n"
        "    agents:\n"
        "      - name: declared-sh\n"
        "        target: {type: command, argv: [/bin/true]}\n"
        "      - name: declared-llm\n"
        "        target: {type: llm, base_url: \"http://127.0.0.1:9/v1\", model: m,\n"
        "                 api_key_env: HOME}\n";
  }
};
class AgentTargetsOptInTest : public ApiE2eTest {
 protected:
  AgentTargetsOptInTest() {
    config_yaml_ = "api:\n  command_agents: true\n  llm_api_key_envs: [TRIGGERD_TEST_LLM_KEY]\n";
  }
};

json::object HttpTarget(const std::string& url) { return {{"type", "http"}, {"url", url}}; }

// ---------------------------------------------------------------------------------- agents

TEST_F(AgentsTriggersApiTest, AgentIsCreatedWithDefaultsAndItsSigningSecretIsShownOnce) {
  HttpResult created = Api("POST", "/api/v1/agents",
                           json::object{{"name", "reviewer"},
                                        {"instructions", "Review the pull request."},
                                        {"target", HttpTarget("https://agent.example.com/run")}});
  json::object agent = Expect(201, created);
  EXPECT_EQ(Str(agent, "id").rfind("agt_", 0), 0u);
  EXPECT_EQ(Str(agent, "name"), "reviewer");
  EXPECT_EQ(Str(agent, "instructions"), "Review the pull request.");
  EXPECT_EQ(agent["max_attempts"].as_int64(), 8);
  EXPECT_EQ(agent["concurrency"].as_int64(), 4);
  EXPECT_FALSE(Str(agent, "created_by").empty());
  EXPECT_FALSE(Str(agent, "created_at").empty());
  EXPECT_FALSE(Str(agent, "updated_at").empty());
  // The target is stored in its canonical form: every field, defaults filled in.
  const json::object& target = agent["target"].as_object();
  EXPECT_EQ(Str(target, "type"), "http");
  EXPECT_EQ(Str(target, "url"), "https://agent.example.com/run");
  EXPECT_TRUE(target.contains("headers")) << json::serialize(target);
  EXPECT_TRUE(target.contains("timeout_ms")) << json::serialize(target);

  std::string secret = Str(agent, "signing_secret");
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << created.body;
  HttpResult got = Api("GET", "/api/v1/agents/" + Str(agent, "id"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body.find(secret), std::string::npos) << got.body;
  EXPECT_FALSE(ParseObject(got.body).contains("signing_secret"));
  HttpResult list = Api("GET", "/api/v1/agents");
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  json::object page = Expect(200, list);
  EXPECT_EQ(Ids(page), std::vector<std::string>{Str(agent, "id")});
  EXPECT_TRUE(page["next_cursor"].is_null());

  // Command agents sign nothing: no secret.
  json::object command =
      NewAgent({{"target", {{"type", "command"}, {"argv", json::array{"/bin/cat"}}}},
                {"max_attempts", 1},
                {"concurrency", 1000}});
  EXPECT_FALSE(command.contains("signing_secret"));
  EXPECT_EQ(command["max_attempts"].as_int64(), 1);
  EXPECT_EQ(command["concurrency"].as_int64(), 1000);
}

TEST_F(AgentsTriggersApiTest, AgentValidationErrorsNameTheField) {
  struct Case {
    json::object body;
    std::string field;  // "target*": any field under target
  };
  const json::object http = HttpTarget("https://a.example.com");
  const Case cases[] = {
      {{{"target", http}}, "name"},
      {{{"name", ""}, {"target", http}}, "name"},
      {{{"name", 7}, {"target", http}}, "name"},
      {{{"name", "a"}}, "target"},
      {{{"name", "a"}, {"target", {{"type", "http"}}}}, "target.url"},
      {{{"name", "a"}, {"target", {{"type", "carrier-pigeon"}}}}, "target*"},
      {{{"name", "a"}, {"target", {{"type", "http"}, {"url", "https://a"}, {"colour", "red"}}}},
       "target*"},
      {{{"name", "a"}, {"target", {{"type", "command"}, {"argv", json::array{"cat"}}}}}, "target*"},
      {{{"name", "a"}, {"target", {{"type", "http"}, {"url", "https://a"}, {"timeout_ms", 0}}}},
       "target*"},
      {{{"name", "a"}, {"target", http}, {"max_attempts", 0}}, "max_attempts"},
      {{{"name", "a"}, {"target", http}, {"max_attempts", 101}}, "max_attempts"},
      {{{"name", "a"}, {"target", http}, {"max_attempts", "8"}}, "max_attempts"},
      {{{"name", "a"}, {"target", http}, {"concurrency", 0}}, "concurrency"},
      {{{"name", "a"}, {"target", http}, {"concurrency", 1001}}, "concurrency"},
      {{{"name", "a"}, {"target", http}, {"instructions", 5}}, "instructions"},
      {{{"name", "a"}, {"target", http}, {"colour", "red"}}, "colour"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(json::serialize(c.body));
    HttpResult r = Api("POST", "/api/v1/agents", c.body);
    EXPECT_EQ(r.status, 400) << r.body;
    json::object error = ErrorOf(r);
    if (c.field == "target*") {
      EXPECT_EQ(Str(error, "field").rfind("target", 0), 0u) << r.body;
    } else {
      EXPECT_EQ(Str(error, "field"), c.field) << r.body;
    }
  }
  EXPECT_EQ(Str(ErrorOf(Api("POST", "/api/v1/agents", "not json")), "type"), "invalid_json");
  // The limits themselves are accepted.
  NewAgent({{"target", http}, {"max_attempts", 100}, {"concurrency", 1}});
  EXPECT_EQ(Ids(GetJson("/api/v1/agents")).size(), 1u);
}

TEST_F(AgentsTriggersApiTest,
       OnlyBuildersAndAdminsCreateAgentsAndOnlyTheCreatorOrAdminsChangeThem) {
  Key user = NewKey("user");
  Key builder_a = NewKey("builder");
  Key builder_b = NewKey("builder");
  const json::object spec = {{"name", "x"}, {"target", HttpTarget("https://a.example.com")}};

  HttpResult denied = Api("POST", "/api/v1/agents", spec, user.secret);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Str(ErrorOf(denied), "type"), "insufficient_role");

  json::object agent = NewAgent(spec, builder_a.secret);
  EXPECT_EQ(Str(agent, "created_by"), builder_a.id);
  const std::string path = "/api/v1/agents/" + Str(agent, "id");
  // Everyone in the workspace reads agents.
  for (const Key* k : {&user, &builder_b}) {
    EXPECT_EQ(Ids(GetJson("/api/v1/agents", k->secret)).size(), 1u);
    EXPECT_EQ(Api("GET", path, "", k->secret).status, 200);
  }
  // Another builder, or a user, cannot change or delete it.
  for (const Key* k : {&user, &builder_b}) {
    EXPECT_EQ(Api("PATCH", path, json::object{{"name", "mine"}}, k->secret).status, 403);
    EXPECT_EQ(Api("DELETE", path, "", k->secret).status, 403);
    EXPECT_EQ(Api("POST", path + "/rotate", "", k->secret).status, 403);
  }
  json::object renamed =
      Expect(200, Api("PATCH", path, json::object{{"name", "renamed"}}, builder_a.secret));
  EXPECT_EQ(Str(renamed, "name"), "renamed");
  EXPECT_FALSE(renamed.contains("signing_secret"));  // unchanged target: no new secret
  json::object by_admin =
      Expect(200, Api("PATCH", path, json::object{{"max_attempts", 3}, {"concurrency", 2}}));
  EXPECT_EQ(Str(by_admin, "name"), "renamed");
  EXPECT_EQ(by_admin["max_attempts"].as_int64(), 3);
  EXPECT_EQ(by_admin["concurrency"].as_int64(), 2);
  EXPECT_EQ(Str(by_admin, "created_by"), builder_a.id);
  // PATCH validates like POST.
  HttpResult bad = Api("PATCH", path, json::object{{"concurrency", 0}}, builder_a.secret);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Str(ErrorOf(bad), "field"), "concurrency");
  EXPECT_EQ(Str(ErrorOf(Api("PATCH", path, json::object{{"id", "agt_x"}})), "field"), "id");

  // An unknown id, or one of another workspace: 404.
  EXPECT_EQ(Api("GET", "/api/v1/agents/agt_nope").status, 404);
  json::object other_ws =
      Expect(201, Api("POST", "/api/v1/workspaces", json::object{{"name", "o"}}));
  std::string other_admin = Str(other_ws, "admin_key");
  EXPECT_EQ(Api("GET", path, "", other_admin).status, 404);
  EXPECT_EQ(Api("PATCH", path, json::object{{"name", "x"}}, other_admin).status, 404);
  EXPECT_EQ(Api("DELETE", path, "", other_admin).status, 404);
  EXPECT_TRUE(Ids(GetJson("/api/v1/agents", other_admin)).empty());

  EXPECT_EQ(Api("DELETE", path, "", builder_a.secret).status, 204);
  EXPECT_EQ(Api("GET", path).status, 404);
}

// ------------------------------------------------------------ targets only the operator allows

json::object CommandTarget(const std::string& program = "/bin/cat") {
  return {{"type", "command"}, {"argv", json::array{program}}};
}
json::object LlmTarget(const std::string& api_key_env) {
  return {{"type", "llm"},
          {"base_url", "http://127.0.0.1:9/v1"},
          {"model", "m"},
          {"api_key_env", api_key_env}};
}

// A command target runs as the server's user; workspace roles, admin included, are not the
// operator: without `api: {command_agents: true}` the API refuses it for every key, on create and
// on a PATCH that sets one, saying how to allow it.
TEST_F(AgentTargetsTest, CommandTargetsAreRefusedUnlessTheOperatorAllowsThem) {
  Key builder = NewKey("builder");
  for (const std::string& key : {admin_, builder.secret}) {
    HttpResult refused = Api("POST", "/api/v1/agents",
                             json::object{{"name", "sh"}, {"target", CommandTarget("/bin/sh")}}, key);
    EXPECT_EQ(refused.status, 403) << refused.body;
    json::object error = ErrorOf(refused);
    EXPECT_EQ(Str(error, "type"), "command_agents_disabled");
    EXPECT_EQ(Str(error, "field"), "target");
    EXPECT_NE(Str(error, "message").find("command_agents: true"), std::string::npos);
    EXPECT_NE(Str(error, "message").find("triggerd.yaml"), std::string::npos);
  }
  const json::object agents = GetJson("/api/v1/agents");
  for (const auto& agent : Arr(agents, "data")) {
    EXPECT_NE(Str(agent.as_object(), "name"), "sh");
  }

  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  const std::string path = "/api/v1/agents/" + Str(agent, "id");
  HttpResult patched = Api("PATCH", path, json::object{{"target", CommandTarget()}});
  EXPECT_EQ(patched.status, 403) << patched.body;
  EXPECT_EQ(Str(ErrorOf(patched), "type"), "command_agents_disabled");
  EXPECT_EQ(Str(GetJson(path)["target"].as_object(), "type"), "http");
  // Other targets are as before.
  EXPECT_EQ(Api("PATCH", path, json::object{{"target", LlmTarget("")}}).status, 200);
}

TEST_F(AgentTargetsTest, DeclaredAgentsAreNotLimited) {
  std::map<std::string, json::object> by_name;
  const json::object agents = GetJson("/api/v1/agents");
  for (const auto& agent : Arr(agents, "data")) {
    by_name[Str(agent.as_object(), "name")] = agent.as_object();
  }
  ASSERT_EQ(by_name.count("declared-sh"), 1u);
  EXPECT_EQ(Str(by_name["declared-sh"]["target"].as_object(), "type"), "command");
  EXPECT_EQ(Str(by_name["declared-sh"], "managed_by"), "config");
  ASSERT_EQ(by_name.count("declared-llm"), 1u);
  EXPECT_EQ(Str(by_name["declared-llm"]["target"].as_object(), "api_key_env"), "HOME");
}

// An llm target's api_key_env sends a server environment variable to the agent's base_url, which
// its author chooses: only names the operator listed are accepted ("" = no key always is).
TEST_F(AgentTargetsTest, LlmApiKeyEnvMustBeOneTheOperatorListed) {
  for (const char* name : {"AWS_SECRET_ACCESS_KEY", "TRIGGERD_DATABASE_URL"}) {
    HttpResult refused =
        Api("POST", "/api/v1/agents", json::object{{"name", "llm"}, {"target", LlmTarget(name)}});
    EXPECT_EQ(refused.status, 403) << refused.body;
    json::object error = ErrorOf(refused);
    EXPECT_EQ(Str(error, "type"), "api_key_env_not_allowed");
    EXPECT_EQ(Str(error, "field"), "target.api_key_env");
    EXPECT_NE(Str(error, "message").find("llm_api_key_envs"), std::string::npos);
  }
  json::object agent = NewAgent({{"target", LlmTarget("")}});
  HttpResult patched = Api("PATCH", "/api/v1/agents/" + Str(agent, "id"),
                           json::object{{"target", LlmTarget("HOME")}});
  EXPECT_EQ(patched.status, 403) << patched.body;
  EXPECT_EQ(Str(GetJson("/api/v1/agents/" + Str(agent, "id"))["target"].as_object(),
                "api_key_env"),
            "");
}

// With the opt-in: admin keys set command targets, builders still may not; a listed api_key_env
// is accepted from any builder. An agent whose target is left as it is stays editable by its
// creator, and reads show it to every role.
TEST_F(AgentTargetsOptInTest, AdminsSetCommandTargetsAndListedKeyEnvsPass) {
  Key builder = NewKey("builder");
  HttpResult by_builder = Api("POST", "/api/v1/agents",
                              json::object{{"name", "sh"}, {"target", CommandTarget()}},
                              builder.secret);
  EXPECT_EQ(by_builder.status, 403) << by_builder.body;
  EXPECT_EQ(Str(ErrorOf(by_builder), "type"), "admin_required");
  EXPECT_EQ(Str(ErrorOf(by_builder), "field"), "target");

  json::object command = NewAgent({{"target", CommandTarget()}});
  const std::string path = "/api/v1/agents/" + Str(command, "id");
  Expect(200, Api("PATCH", path, json::object{{"name", "renamed"}}));
  // Sent back unchanged (a form saving every member): not a change of target.
  Expect(200, Api("PATCH", path,
                  json::object{{"name", "again"}, {"target", GetJson(path)["target"]}}));
  EXPECT_EQ(Str(GetJson(path, builder.secret)["target"].as_object(), "type"), "command");

  // A builder's own agent: moving it to a command target needs an admin key.
  json::object own = NewAgent({{"target", HttpTarget("https://a.example.com")}}, builder.secret);
  const std::string own_path = "/api/v1/agents/" + Str(own, "id");
  HttpResult moved =
      Api("PATCH", own_path, json::object{{"target", CommandTarget()}}, builder.secret);
  EXPECT_EQ(moved.status, 403) << moved.body;
  EXPECT_EQ(Str(ErrorOf(moved), "type"), "admin_required");
  Expect(200, Api("PATCH", own_path, json::object{{"target", CommandTarget()}}));

  NewAgent({{"target", LlmTarget("TRIGGERD_TEST_LLM_KEY")}}, builder.secret);
  HttpResult other = Api("POST", "/api/v1/agents",
                         json::object{{"name", "llm"}, {"target", LlmTarget("HOME")}},
                         builder.secret);
  EXPECT_EQ(other.status, 403) << other.body;
  EXPECT_EQ(Str(ErrorOf(other), "type"), "api_key_env_not_allowed");
}

TEST_F(AgentsTriggersApiTest, ChangingTheTargetOrRotatingManagesTheSigningSecret) {
  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  const std::string path = "/api/v1/agents/" + Str(agent, "id");
  std::string first = Str(agent, "signing_secret");
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(agent["has_signing_secret"].as_bool());

  json::object rotated = Expect(200, Api("POST", path + "/rotate"));
  std::string second = Str(rotated, "signing_secret");
  EXPECT_EQ(second.rfind("whsec_", 0), 0u);
  EXPECT_NE(second, first);

  // Another http URL keeps the secret; a command target drops it; back to http issues a new one.
  json::object moved = Expect(
      200, Api("PATCH", path, json::object{{"target", HttpTarget("https://b.example.com")}}));
  EXPECT_FALSE(moved.contains("signing_secret"));
  EXPECT_EQ(Str(moved["target"].as_object(), "url"), "https://b.example.com");
  json::object command = Expect(
      200, Api("PATCH", path,
               json::object{{"target", {{"type", "command"}, {"argv", json::array{"/bin/cat"}}}}}));
  EXPECT_FALSE(command["has_signing_secret"].as_bool());
  HttpResult nothing = Api("POST", path + "/rotate");
  EXPECT_EQ(nothing.status, 400);
  EXPECT_EQ(Str(ErrorOf(nothing), "type"), "nothing_to_rotate");
  json::object back = Expect(
      200, Api("PATCH", path, json::object{{"target", HttpTarget("https://c.example.com")}}));
  std::string third = Str(back, "signing_secret");
  EXPECT_EQ(third.rfind("whsec_", 0), 0u);
  EXPECT_NE(third, second);
  // A bad target in a PATCH changes nothing.
  HttpResult bad = Api("PATCH", path, json::object{{"target", {{"type", "http"}}}});
  EXPECT_EQ(Str(ErrorOf(bad), "field"), "target.url");
  EXPECT_EQ(Str(GetJson(path)["target"].as_object(), "url"), "https://c.example.com");
}

TEST_F(AgentsTriggersApiTest, AgentInUseByATriggerCannotBeDeleted) {
  json::object source = NewSource();
  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  json::object trigger =
      NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}});
  const std::string path = "/api/v1/agents/" + Str(agent, "id");
  HttpResult refused = Api("DELETE", path);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "type"), "agent_in_use");
  EXPECT_EQ(Api("GET", path).status, 200);
  EXPECT_EQ(Api("DELETE", "/api/v1/triggers/" + Str(trigger, "id")).status, 204);
  EXPECT_EQ(Api("DELETE", path).status, 204);
  EXPECT_EQ(Api("GET", path).status, 404);
  EXPECT_EQ(Api("DELETE", path).status, 404);
}

// -------------------------------------------------------------------------------- triggers

TEST_F(AgentsTriggersApiTest, AFilterNamingAFieldTheEventNeverHasIsSavedWithAWarning) {
  json::object source = Expect(201, Api("POST", "/api/v1/sources",
                                        json::object{{"name", "gh"}, {"kind", "github"}}));
  json::object agent = NewAgent({{"target", HttpTarget("https://1.example.com")}});
  json::object typo = NewTrigger({{"source_id", Str(source, "id")},
                                  {"agent_id", Str(agent, "id")},
                                  {"event_types", json::array{"pull_request"}},
                                  {"filter", "(gt \"pull_request.chnged_files\" 20)"}});
  ASSERT_EQ(Arr(typo, "warnings").size(), 1u) << json::serialize(typo);
  EXPECT_NE(std::string(Arr(typo, "warnings")[0].as_string()).find("pull_request.changed_files"),
            std::string::npos);
  json::object fine = NewTrigger({{"source_id", Str(source, "id")},
                                  {"agent_id", Str(agent, "id")},
                                  {"event_types", json::array{"pull_request"}},
                                  {"filter", "(gt \"pull_request.changed_files\" 20)"}});
  EXPECT_TRUE(Arr(fine, "warnings").empty()) << json::serialize(fine);
}

TEST_F(AgentsTriggersApiTest, TriggerIsCreatedWithDefaultsListedFilteredChangedAndDeleted) {
  json::object source_a = NewSource("a");
  json::object source_b = NewSource("b");
  json::object agent_1 = NewAgent({{"target", HttpTarget("https://1.example.com")}});
  json::object agent_2 = NewAgent({{"target", HttpTarget("https://2.example.com")}});
  json::object t1 =
      NewTrigger({{"source_id", Str(source_a, "id")}, {"agent_id", Str(agent_1, "id")}});
  EXPECT_EQ(Str(t1, "id").rfind("trg_", 0), 0u);
  EXPECT_EQ(Str(t1, "source_id"), Str(source_a, "id"));
  EXPECT_EQ(Str(t1, "agent_id"), Str(agent_1, "id"));
  EXPECT_EQ(Str(t1, "name"), "");
  EXPECT_TRUE(t1["filter"].is_null());
  EXPECT_TRUE(Arr(t1, "event_types").empty());
  EXPECT_TRUE(t1["include_payload"].as_bool());
  EXPECT_TRUE(t1["enabled"].as_bool());
  EXPECT_EQ(Str(t1, "created_by"), Str(GetJson("/api/v1/me"), "key_id"));
  EXPECT_FALSE(Str(t1, "created_at").empty());
  EXPECT_FALSE(Str(t1, "updated_at").empty());

  json::object t2 = NewTrigger({{"source_id", Str(source_b, "id")},
                                {"agent_id", Str(agent_2, "id")},
                                {"name", "opened PRs"},
                                {"filter", "(eq \"action\" \"opened\")"},
                                {"event_types", json::array{"pull_request", "issues"}},
                                {"include_payload", false},
                                {"enabled", false}});
  EXPECT_EQ(Str(t2, "name"), "opened PRs");
  EXPECT_EQ(Str(t2, "filter"), "(eq \"action\" \"opened\")");
  EXPECT_EQ(json::serialize(t2["event_types"]), R"(["pull_request","issues"])");
  EXPECT_FALSE(t2["include_payload"].as_bool());
  EXPECT_FALSE(t2["enabled"].as_bool());
  json::object t3 = NewTrigger(
      {{"source_id", Str(source_a, "id")}, {"agent_id", Str(agent_2, "id")}, {"filter", nullptr}});
  EXPECT_TRUE(t3["filter"].is_null());

  const std::string id1 = Str(t1, "id"), id2 = Str(t2, "id"), id3 = Str(t3, "id");
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers")), (std::vector<std::string>{id3, id2, id1}));
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers?source_id=" + Str(source_a, "id"))),
            (std::vector<std::string>{id3, id1}));
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers?agent_id=" + Str(agent_2, "id"))),
            (std::vector<std::string>{id3, id2}));
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers?source_id=" + Str(source_a, "id") +
                        "&agent_id=" + Str(agent_2, "id"))),
            std::vector<std::string>{id3});
  EXPECT_EQ(Str(GetJson("/api/v1/triggers/" + id2), "name"), "opened PRs");

  json::object changed = Expect(200, Api("PATCH", "/api/v1/triggers/" + id2,
                                         json::object{{"enabled", true},
                                                      {"filter", nullptr},
                                                      {"agent_id", Str(agent_1, "id")},
                                                      {"event_types", json::array{}}}));
  EXPECT_TRUE(changed["enabled"].as_bool());
  EXPECT_TRUE(changed["filter"].is_null());
  EXPECT_EQ(Str(changed, "agent_id"), Str(agent_1, "id"));
  EXPECT_TRUE(Arr(changed, "event_types").empty());
  EXPECT_EQ(Str(changed, "name"), "opened PRs");  // untouched members keep their values
  EXPECT_FALSE(changed["include_payload"].as_bool());
  // A save answers the trigger plus its filter's warnings; a read, the trigger.
  EXPECT_TRUE(Arr(changed, "warnings").empty());
  changed.erase("warnings");
  EXPECT_EQ(json::serialize(GetJson("/api/v1/triggers/" + id2)), json::serialize(changed));

  // The source of a trigger cannot change; the same source may be restated.
  HttpResult moved =
      Api("PATCH", "/api/v1/triggers/" + id2, json::object{{"source_id", Str(source_a, "id")}});
  EXPECT_EQ(moved.status, 400);
  EXPECT_EQ(Str(ErrorOf(moved), "field"), "source_id");
  EXPECT_EQ(
      Api("PATCH", "/api/v1/triggers/" + id2, json::object{{"source_id", Str(source_b, "id")}})
          .status,
      200);

  EXPECT_EQ(Api("DELETE", "/api/v1/triggers/" + id2).status, 204);
  EXPECT_EQ(Api("GET", "/api/v1/triggers/" + id2).status, 404);
  EXPECT_EQ(Api("DELETE", "/api/v1/triggers/" + id2).status, 404);
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers")), (std::vector<std::string>{id3, id1}));
  // Deleting a source deletes its triggers.
  EXPECT_EQ(Api("DELETE", "/api/v1/sources/" + Str(source_a, "id")).status, 204);
  EXPECT_TRUE(Ids(GetJson("/api/v1/triggers")).empty());
}

TEST_F(AgentsTriggersApiTest, TriggerValidationErrorsNameTheFieldAndFilterErrorsTheirPosition) {
  json::object source = NewSource();
  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  const std::string src = Str(source, "id"), agt = Str(agent, "id");
  struct Case {
    json::object body;
    std::string field;
  };
  const Case cases[] = {
      {{{"agent_id", agt}}, "source_id"},
      {{{"source_id", src}}, "agent_id"},
      {{{"source_id", "src_nope"}, {"agent_id", agt}}, "source_id"},
      {{{"source_id", src}, {"agent_id", "agt_nope"}}, "agent_id"},
      {{{"source_id", src}, {"agent_id", 12}}, "agent_id"},
      {{{"source_id", src}, {"agent_id", agt}, {"event_types", "push"}}, "event_types"},
      {{{"source_id", src}, {"agent_id", agt}, {"event_types", json::array{""}}}, "event_types"},
      {{{"source_id", src}, {"agent_id", agt}, {"enabled", "yes"}}, "enabled"},
      {{{"source_id", src}, {"agent_id", agt}, {"include_payload", 1}}, "include_payload"},
      {{{"source_id", src}, {"agent_id", agt}, {"filter", 5}}, "filter"},
      {{{"source_id", src}, {"agent_id", agt}, {"owner", "me"}}, "owner"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(json::serialize(c.body));
    HttpResult r = Api("POST", "/api/v1/triggers", c.body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Str(ErrorOf(r), "field"), c.field) << r.body;
  }

  // A filter that does not compile: invalid_filter with its line and column.
  HttpResult bad = Api("POST", "/api/v1/triggers",
                       json::object{{"source_id", src},
                                    {"agent_id", agt},
                                    {"filter", "(and\n  (eqq \"action\" \"opened\"))"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  json::object error = ErrorOf(bad);
  EXPECT_EQ(Str(error, "type"), "invalid_filter");
  EXPECT_EQ(error["line"].as_int64(), 2) << bad.body;
  EXPECT_GE(error["column"].as_int64(), 3) << bad.body;
  EXPECT_NE(Str(error, "message").find("eqq"), std::string::npos) << bad.body;
  HttpResult trailing =
      Api("POST", "/api/v1/triggers",
          json::object{{"source_id", src}, {"agent_id", agt}, {"filter", "(exists \"a\") x"}});
  EXPECT_EQ(Str(ErrorOf(trailing), "type"), "invalid_filter");
  EXPECT_EQ(ErrorOf(trailing)["line"].as_int64(), 1);
  EXPECT_EQ(ErrorOf(trailing)["column"].as_int64(), 14) << trailing.body;
  // Nothing was created by any of the refused requests.
  EXPECT_TRUE(Ids(GetJson("/api/v1/triggers")).empty());

  // PATCH validates the same way and leaves the trigger as it was.
  json::object trigger =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"filter", "(exists \"a\")"}});
  const std::string path = "/api/v1/triggers/" + Str(trigger, "id");
  HttpResult patch = Api("PATCH", path, json::object{{"filter", "(gt \"n\""}});
  EXPECT_EQ(Str(ErrorOf(patch), "type"), "invalid_filter");
  EXPECT_EQ(Str(ErrorOf(Api("PATCH", path, json::object{{"agent_id", "agt_nope"}})), "field"),
            "agent_id");
  EXPECT_EQ(Str(ErrorOf(Api("PATCH", path, json::object{{"created_by", "key_x"}})), "field"),
            "created_by");
  json::object unchanged = GetJson(path);
  EXPECT_EQ(Str(unchanged, "filter"), "(exists \"a\")");
  EXPECT_EQ(Str(unchanged, "agent_id"), agt);
}

TEST_F(AgentsTriggersApiTest, RolesAndPersonalTriggerVisibility) {
  Key user = NewKey("user");
  Key builder_a = NewKey("builder");
  Key builder_b = NewKey("builder");
  json::object source = NewSource();
  const std::string src = Str(source, "id");

  // A builder cannot create sources, but can create agents and triggers on any source.
  HttpResult no_source =
      Api("POST", "/api/v1/sources", json::object{{"name", "mine"}}, builder_a.secret);
  EXPECT_EQ(no_source.status, 403);
  EXPECT_EQ(Str(ErrorOf(no_source), "type"), "insufficient_role");
  json::object agent =
      NewAgent({{"target", HttpTarget("https://a.example.com")}}, builder_a.secret);
  const std::string agt = Str(agent, "id");
  json::object mine = NewTrigger({{"source_id", src}, {"agent_id", agt}}, builder_a.secret);
  EXPECT_EQ(Str(mine, "created_by"), builder_a.id);
  // B may not bind a trigger to A's agent (issue 18, item 9: A could then neither see those runs
  // nor delete the agent): 403 not_owner naming agent_id, on create and on a PATCH that moves a
  // trigger there. B's own agent is fine; an admin binds to any agent.
  HttpResult foreign = Api("POST", "/api/v1/triggers",
                           json::object{{"source_id", src}, {"agent_id", agt}}, builder_b.secret);
  EXPECT_EQ(foreign.status, 403) << foreign.body;
  EXPECT_EQ(Str(ErrorOf(foreign), "type"), "not_owner");
  EXPECT_EQ(Str(ErrorOf(foreign), "field"), "agent_id");
  const std::string agt_b =
      Str(NewAgent({{"target", HttpTarget("https://b.example.com")}}, builder_b.secret), "id");
  json::object theirs = NewTrigger({{"source_id", src}, {"agent_id", agt_b}}, builder_b.secret);
  HttpResult moved = Api("PATCH", "/api/v1/triggers/" + Str(theirs, "id"),
                         json::object{{"agent_id", agt}}, builder_b.secret);
  EXPECT_EQ(moved.status, 403) << moved.body;
  EXPECT_EQ(Str(ErrorOf(moved), "type"), "not_owner");
  EXPECT_EQ(Str(GetJson("/api/v1/triggers/" + Str(theirs, "id"), builder_b.secret), "agent_id"),
            agt_b);
  EXPECT_EQ(Api("PATCH", "/api/v1/triggers/" + Str(theirs, "id"),
                json::object{{"name", "b's"}}, builder_b.secret)
                .status,
            200);
  json::object admins = NewTrigger({{"source_id", src}, {"agent_id", agt}});

  // A user can create neither agents nor triggers.
  HttpResult user_trigger = Api("POST", "/api/v1/triggers",
                                json::object{{"source_id", src}, {"agent_id", agt}}, user.secret);
  EXPECT_EQ(user_trigger.status, 403);
  EXPECT_EQ(Str(ErrorOf(user_trigger), "type"), "insufficient_role");

  // Each non-admin sees only its own triggers; the admin sees all.
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers", builder_a.secret)),
            std::vector<std::string>{Str(mine, "id")});
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers", builder_b.secret)),
            std::vector<std::string>{Str(theirs, "id")});
  EXPECT_TRUE(Ids(GetJson("/api/v1/triggers", user.secret)).empty());
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers")),
            (std::vector<std::string>{Str(admins, "id"), Str(theirs, "id"), Str(mine, "id")}));

  // B cannot see or touch A's trigger: every route answers as for an unknown id.
  const std::string a_path = "/api/v1/triggers/" + Str(mine, "id");
  HttpResult unknown = Api("GET", "/api/v1/triggers/trg_nope", "", builder_b.secret);
  ASSERT_EQ(unknown.status, 404);
  EXPECT_EQ(Str(ErrorOf(unknown), "type"), "not_found");
  for (const Key* k : {&builder_b, &user}) {
    std::vector<HttpResult> answers = {
        Api("GET", a_path, "", k->secret),
        Api("PATCH", a_path, json::object{{"enabled", false}}, k->secret),
        Api("DELETE", a_path, "", k->secret),
        Api("POST", a_path + "/test", json::object{{"payload", json::object{}}}, k->secret),
        Api("GET", a_path + "/matches", "", k->secret)};
    for (const HttpResult& r : answers) {
      EXPECT_EQ(r.status, 404) << r.body;
      EXPECT_EQ(Str(ErrorOf(r), "type"), "not_found");
    }
  }
  EXPECT_TRUE(GetJson(a_path)["enabled"].as_bool());  // B's PATCH did nothing

  // The owner and the admin manage it.
  EXPECT_EQ(Api("PATCH", a_path, json::object{{"name", "a's"}}, builder_a.secret).status, 200);
  EXPECT_EQ(Api("PATCH", a_path, json::object{{"enabled", false}}).status, 200);
  EXPECT_FALSE(GetJson(a_path, builder_a.secret)["enabled"].as_bool());
  EXPECT_EQ(Api("DELETE", "/api/v1/triggers/" + Str(theirs, "id")).status, 204);
  EXPECT_EQ(Api("DELETE", a_path, "", builder_a.secret).status, 204);
}

// Issue 18, item 8: the URL secret is a credential (whoever holds the URL delivers), so only
// admins and the source's creator read it; every other role gets the URL with it elided, and the
// elided URL delivers nothing.
TEST_F(AgentsTriggersApiTest, UrlSecretIsShownOnlyToAdminsAndTheSourcesCreator) {
  Key user = NewKey("user");
  Key builder = NewKey("builder");
  json::object source = NewSource();
  const std::string full = Str(source, "url");
  const std::string secret = full.substr(full.rfind('/') + 1);
  ASSERT_EQ(secret.size(), 32u) << full;
  EXPECT_FALSE(source.at("url_secret_elided").as_bool());
  EXPECT_EQ(Str(GetJson("/api/v1/sources/" + Str(source, "id")), "url"), full);

  for (const Key* k : {&user, &builder}) {
    for (const json::object& seen :
         {GetJson("/api/v1/sources/" + Str(source, "id"), k->secret),
          GetJson("/api/v1/sources", k->secret).at("data").as_array().at(0).as_object()}) {
      const std::string url = Str(seen, "url");
      EXPECT_EQ(url.find(secret), std::string::npos) << url;
      EXPECT_EQ(url, full.substr(0, full.rfind('/') + 1) + "redacted");
      EXPECT_TRUE(seen.at("url_secret_elided").as_bool());
      HttpResult forged = client_->Send("POST", url.substr(url.find("/api/v1/w/")), "{}",
                                        {{"Content-Type", "application/json"}});
      EXPECT_EQ(forged.status, 404) << forged.body;
    }
  }
  HttpResult delivered = client_->Send("POST", full.substr(full.find("/api/v1/w/")), "{}",
                                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(delivered.status, 200) << delivered.body;
}

// Issue 18, item 16: a URL that our parser read and libcurl's refused was saved, and every run
// (or poll) then failed. It is refused at save, with libcurl's reason.
TEST_F(AgentsTriggersApiTest, UrlsLibcurlCannotUseAreRefusedAtSave) {
  const std::string bad = "http://h:18399.evil/";
  HttpResult agent = Api("POST", "/api/v1/agents",
                         json::object{{"name", "a"}, {"target", HttpTarget(bad)}});
  EXPECT_EQ(agent.status, 400) << agent.body;
  EXPECT_EQ(Str(ErrorOf(agent), "field"), "target.url");
  EXPECT_NE(Str(ErrorOf(agent), "message").find("libcurl"), std::string::npos) << agent.body;
  HttpResult poll = Api("POST", "/api/v1/sources",
                        json::object{{"name", "p"},
                                     {"kind", "poll"},
                                     {"poll", {{"url", bad}, {"interval_seconds", 60}}}});
  EXPECT_EQ(poll.status, 400) << poll.body;
  EXPECT_NE(Str(ErrorOf(poll), "message").find("libcurl"), std::string::npos) << poll.body;
  EXPECT_TRUE(GetJson("/api/v1/agents").at("data").as_array().empty());
  EXPECT_TRUE(GetJson("/api/v1/sources").at("data").as_array().empty());
}

TEST_F(AgentsTriggersApiTest, TriggerTestExplainsWhetherAPayloadWouldMatch) {
  json::object source = NewSource();
  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  json::object trigger =
      NewTrigger({{"source_id", Str(source, "id")},
                  {"agent_id", Str(agent, "id")},
                  {"filter", "(and (eq \"action\" \"opened\") (eq \"$headers.x-kind\" \"pr\"))"},
                  {"event_types", json::array{"pull_request"}}});
  const std::string path = "/api/v1/triggers/" + Str(trigger, "id");
  const json::object opened = {{"action", "opened"}};

  json::object yes = Expect(200, Api("POST", path + "/test",
                                     json::object{{"payload", opened},
                                                  {"headers", {{"X-Kind", "pr"}}},
                                                  {"event_type", "pull_request"}}));
  EXPECT_TRUE(yes["matched"].as_bool()) << json::serialize(yes);
  EXPECT_EQ(Str(yes, "outcome"), "matched");
  EXPECT_TRUE(yes["filter_matched"].as_bool());
  EXPECT_TRUE(yes["event_type_subscribed"].as_bool());
  EXPECT_TRUE(yes["enabled"].as_bool());
  EXPECT_TRUE(yes["explanation"].as_object()["result"].as_bool());

  json::object no = Expect(200, Api("POST", path + "/test",
                                    json::object{{"payload", {{"action", "closed"}}},
                                                 {"headers", {{"X-Kind", "pr"}}},
                                                 {"event_type", "pull_request"}}));
  EXPECT_FALSE(no["matched"].as_bool());
  EXPECT_EQ(Str(no, "outcome"), "ignored");
  EXPECT_FALSE(no["explanation"].as_object()["result"].as_bool());
  // The explanation says which clause failed and what was found.
  std::string why = json::serialize(no["explanation"]);
  EXPECT_NE(why.find("\"closed\""), std::string::npos) << why;

  // The filter matches but the event type is not subscribed.
  json::object other_type = Expect(
      200, Api("POST", path + "/test",
               json::object{
                   {"payload", opened}, {"headers", {{"x-kind", "pr"}}}, {"event_type", "push"}}));
  EXPECT_FALSE(other_type["matched"].as_bool());
  EXPECT_TRUE(other_type["filter_matched"].as_bool());
  EXPECT_FALSE(other_type["event_type_subscribed"].as_bool());

  // Disabled: would be recorded as "disabled".
  ASSERT_EQ(Api("PATCH", path, json::object{{"enabled", false}}).status, 200);
  json::object disabled = Expect(200, Api("POST", path + "/test",
                                          json::object{{"payload", opened},
                                                       {"headers", {{"X-Kind", "pr"}}},
                                                       {"event_type", "pull_request"}}));
  EXPECT_FALSE(disabled["matched"].as_bool());
  EXPECT_FALSE(disabled["enabled"].as_bool());
  EXPECT_EQ(Str(disabled, "outcome"), "disabled");

  // Bad requests name the field; the dry run never starts a run nor records a match.
  EXPECT_EQ(Str(ErrorOf(Api("POST", path + "/test", json::object{})), "field"), "payload");
  EXPECT_EQ(
      Str(ErrorOf(Api("POST", path + "/test", json::object{{"payload", 1}, {"x", 1}})), "field"),
      "x");
  EXPECT_EQ(Str(ErrorOf(Api("POST", path + "/test",
                            json::object{{"payload", 1}, {"headers", json::array{}}})),
                "field"),
            "headers");
  EXPECT_EQ(Api("POST", "/api/v1/triggers/trg_nope/test", json::object{{"payload", 1}}).status,
            404);
  EXPECT_TRUE(Ids(GetJson(path + "/matches")).empty());
  EXPECT_TRUE(Ids(GetJson("/api/v1/runs")).empty());
}

TEST_F(AgentsTriggersApiTest, TriggerTestOnAStoredEventUsesItsPayloadHeadersAndType) {
  json::object github =
      Expect(201, Api("POST", "/api/v1/sources",
                      json::object{{"name", "gh"}, {"kind", "github"}, {"secret", "s3cr3t"}}));
  json::object agent = NewAgent({{"target", HttpTarget("https://a.example.com")}});
  // Disabled, so that ingesting the event below starts nothing.
  json::object trigger = NewTrigger(
      {{"source_id", Str(github, "id")},
       {"agent_id", Str(agent, "id")},
       {"filter",
        "(and (eq \"action\" \"opened\") (eq \"$headers.x-github-event\" \"pull_request\"))"},
       {"event_types", json::array{"pull_request"}},
       {"enabled", false}});
  const std::string path = "/api/v1/triggers/" + Str(trigger, "id");

  std::string body = R"({"action":"opened","number":7})";
  std::string url = Str(github, "url");
  std::string short_path = url.substr(url.find("/api/v1/w/"));
  short_path = short_path.substr(0, short_path.rfind('/'));
  HttpResult posted = client_->Send(
      "POST", short_path, body,
      {{"Content-Type", "application/json"},
       {"X-Hub-Signature-256", "sha256=" + crypto::HexEncode(crypto::Hmac(
                                               crypto::DigestAlgorithm::kSha256, "s3cr3t", body))},
       {"X-GitHub-Event", "pull_request"},
       {"X-GitHub-Delivery", "d-1"}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  const std::string event_id = Str(ParseObject(posted.body), "event_id");
  EXPECT_TRUE(Arr(ParseObject(posted.body), "runs").empty());

  ASSERT_EQ(Api("PATCH", path, json::object{{"enabled", true}}).status, 200);
  json::object result =
      Expect(200, Api("POST", path + "/test", json::object{{"event_id", event_id}}));
  EXPECT_TRUE(result["matched"].as_bool()) << json::serialize(result);
  EXPECT_EQ(Str(result, "event_type"), "pull_request");
  EXPECT_TRUE(result["event_type_subscribed"].as_bool());

  // An event of another source, without a type: not subscribed.
  json::object custom = NewSource();
  std::string other = Str(Ingest(custom, json::object{{"action", "opened"}}), "event_id");
  json::object untyped =
      Expect(200, Api("POST", path + "/test", json::object{{"event_id", other}}));
  EXPECT_FALSE(untyped["matched"].as_bool());
  EXPECT_FALSE(untyped["event_type_subscribed"].as_bool());
  EXPECT_FALSE(untyped["explanation"].as_object()["result"].as_bool());  // no such header

  HttpResult unknown = Api("POST", path + "/test", json::object{{"event_id", "evt_nope"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Str(ErrorOf(unknown), "field"), "event_id");
  HttpResult both = Api("POST", path + "/test",
                        json::object{{"event_id", event_id}, {"payload", json::object{}}});
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(Str(ErrorOf(both), "field"), "payload");
  // The dry run recorded nothing.
  EXPECT_EQ(Ids(GetJson(path + "/matches"), "event_id"), std::vector<std::string>{event_id});
  EXPECT_TRUE(Ids(GetJson("/api/v1/runs")).empty());
}

// ------------------------------------------------------------ ingest, match records, listing

TEST_F(AgentsTriggersApiTest, IngestStartsRunsForMatchingTriggersAndRecordsEveryOutcome) {
  json::object source = NewSource();
  json::object agent = ParkedAgent("", 100);
  const std::string src = Str(source, "id"), agt = Str(agent, "id");
  json::object opened =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"filter", "(eq \"action\" \"opened\")"}});
  json::object closed =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"filter", "(eq \"action\" \"closed\")"}});
  json::object disabled = NewTrigger({{"source_id", src}, {"agent_id", agt}, {"enabled", false}});
  json::object typed =
      NewTrigger({{"source_id", src}, {"agent_id", agt}, {"event_types", json::array{"push"}}});
  json::object everything = NewTrigger({{"source_id", src}, {"agent_id", agt}});
  // Another source's trigger never sees this source's events.
  json::object elsewhere =
      NewTrigger({{"source_id", Str(NewSource("other"), "id")}, {"agent_id", agt}});

  json::object answer = Ingest(source, json::object{{"action", "opened"}}, "delivery-1");
  EXPECT_FALSE(answer["duplicate"].as_bool());
  std::map<std::string, std::string> runs = RunsByTrigger(answer);
  ASSERT_EQ(runs.size(), 2u) << json::serialize(answer);
  ASSERT_TRUE(runs.count(Str(opened, "id")));
  ASSERT_TRUE(runs.count(Str(everything, "id")));
  for (const auto& [trigger_id, run_id] : runs) {
    EXPECT_EQ(run_id.rfind("run_", 0), 0u);
    json::object run = GetJson("/api/v1/runs/" + run_id);
    EXPECT_EQ(Str(run, "trigger_id"), trigger_id);
    EXPECT_EQ(Str(run, "event_id"), Str(answer, "event_id"));
    EXPECT_EQ(Str(run, "agent_id"), agt);
  }

  // The event shows one record per trigger of its source, in creation order; the "push"
  // trigger, not reached by an event without a type, is ignored with reason "event_type"
  // (issue 20: which triggers matched and which ignored the event, complete).
  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  const json::array& matches = Arr(event, "matches");
  ASSERT_EQ(matches.size(), 5u) << json::serialize(event);
  struct Expected {
    const json::object* trigger;
    const char* outcome;
    bool has_run;
    bool type_skipped;
  };
  const Expected expected[] = {{&opened, "matched", true, false},
                               {&closed, "ignored", false, false},
                               {&disabled, "disabled", false, false},
                               {&typed, "ignored", false, true},
                               {&everything, "matched", true, false}};
  for (size_t i = 0; i < 5; ++i) {
    const json::object& m = matches[i].as_object();
    SCOPED_TRACE(json::serialize(m));
    EXPECT_EQ(Str(m, "trigger_id"), Str(*expected[i].trigger, "id"));
    EXPECT_EQ(Str(m, "outcome"), expected[i].outcome);
    if (expected[i].has_run) {
      EXPECT_EQ(Str(m, "run_id"), runs[Str(m, "trigger_id")]);
    } else {
      EXPECT_TRUE(m.at("run_id").is_null());
    }
    if (expected[i].type_skipped) {
      EXPECT_EQ(Str(m, "reason"), "event_type");
    } else {
      EXPECT_TRUE(m.at("reason").is_null());
    }
    EXPECT_FALSE(m.at("replay").as_bool());
    EXPECT_FALSE(Str(m, "evaluated_at").empty());
    EXPECT_TRUE(m.at("message").is_string());
  }
  EXPECT_EQ(Ids(GetJson("/api/v1/triggers/" + Str(typed, "id") + "/matches"), "event_id"),
            std::vector<std::string>{Str(answer, "event_id")});

  // A duplicate delivery starts nothing and records nothing.
  json::object again = Ingest(source, json::object{{"action", "opened"}}, "delivery-1");
  EXPECT_TRUE(again["duplicate"].as_bool());
  EXPECT_TRUE(Arr(again, "runs").empty());
  EXPECT_EQ(Arr(GetJson("/api/v1/events/" + Str(answer, "event_id")), "matches").size(), 5u);

  // An event nothing matches.
  json::object quiet = Ingest(source, json::object{{"action", "labeled"}});
  EXPECT_EQ(RunsByTrigger(quiet).size(), 1u);  // only the match-everything trigger
  EXPECT_TRUE(RunsByTrigger(quiet).count(Str(everything, "id")));
  EXPECT_TRUE(Ids(GetJson("/api/v1/triggers/" + Str(elsewhere, "id") + "/matches")).empty());
  EXPECT_EQ(Ids(GetJson("/api/v1/runs")).size(), 3u);
}

TEST_F(AgentsTriggersApiTest, TriggerChangesReachIngestAtOnce) {
  json::object source = NewSource();
  // Runs that finish at once, so that the restart below has no attempt in flight to wait for.
  json::object agent =
      NewAgent({{"target", {{"type", "command"}, {"argv", json::array{"/bin/true"}}}}});
  json::object trigger = NewTrigger({{"source_id", Str(source, "id")},
                                     {"agent_id", Str(agent, "id")},
                                     {"filter", "(eq \"n\" 1)"}});
  const std::string path = "/api/v1/triggers/" + Str(trigger, "id");
  EXPECT_EQ(RunsByTrigger(Ingest(source, json::object{{"n", 1}})).size(), 1u);
  EXPECT_EQ(RunsByTrigger(Ingest(source, json::object{{"n", 2}})).size(), 0u);

  ASSERT_EQ(Api("PATCH", path, json::object{{"filter", "(eq \"n\" 2)"}}).status, 200);
  EXPECT_EQ(RunsByTrigger(Ingest(source, json::object{{"n", 1}})).size(), 0u);
  EXPECT_EQ(RunsByTrigger(Ingest(source, json::object{{"n", 2}})).size(), 1u);

  ASSERT_EQ(Api("PATCH", path, json::object{{"enabled", false}}).status, 200);
  json::object off = Ingest(source, json::object{{"n", 2}});
  EXPECT_TRUE(Arr(off, "runs").empty());
  EXPECT_EQ(Str(Arr(GetJson("/api/v1/events/" + Str(off, "event_id")), "matches")[0].as_object(),
                "outcome"),
            "disabled");

  ASSERT_EQ(Api("DELETE", path).status, 204);
  json::object gone = Ingest(source, json::object{{"n", 2}});
  EXPECT_TRUE(Arr(gone, "runs").empty());
  EXPECT_TRUE(Arr(GetJson("/api/v1/events/" + Str(gone, "event_id")), "matches").empty());
  // A deleted trigger's runs and records are kept.
  EXPECT_EQ(Ids(GetJson("/api/v1/runs?trigger_id=" + Str(trigger, "id"))).size(), 2u);

  // Triggers survive a restart (the ingest cache is reloaded from the store).
  json::object kept =
      NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}});
  EXPECT_EQ(process_->Stop(), 0);
  ASSERT_TRUE(process_->Start()) << process_->error();
  client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
  std::map<std::string, std::string> after = RunsByTrigger(Ingest(source, json::object{{"n", 2}}));
  EXPECT_EQ(after.size(), 1u);
  EXPECT_TRUE(after.count(Str(kept, "id")));
}

TEST_F(AgentsTriggersApiTest, TriggerMatchesAreListedNewestFirstByOutcomeAndPaged) {
  json::object source = NewSource();
  json::object agent = ParkedAgent("", 100);
  json::object trigger = NewTrigger({{"source_id", Str(source, "id")},
                                     {"agent_id", Str(agent, "id")},
                                     {"filter", "(eq \"action\" \"opened\")"}});
  const std::string path = "/api/v1/triggers/" + Str(trigger, "id") + "/matches";
  std::vector<std::string> events;  // oldest first
  std::vector<std::string> matched_events;
  for (const char* action : {"opened", "closed", "opened", "closed", "opened"}) {
    json::object answer = Ingest(source, json::object{{"action", action}});
    events.push_back(Str(answer, "event_id"));
    if (std::string(action) == "opened") matched_events.push_back(events.back());
  }
  std::vector<std::string> newest_first(events.rbegin(), events.rend());

  json::object all = GetJson(path);
  EXPECT_EQ(Ids(all, "event_id"), newest_first);
  EXPECT_TRUE(all["next_cursor"].is_null());
  for (const auto& item : Arr(all, "data")) {
    const json::object& m = item.as_object();
    EXPECT_EQ(Str(m, "trigger_id"), Str(trigger, "id"));
    EXPECT_EQ(Str(m, "outcome") == "matched", !m.at("run_id").is_null());
    EXPECT_FALSE(m.at("replay").as_bool());
  }
  json::object matched = GetJson(path + "?outcome=matched");
  EXPECT_EQ(Ids(matched, "event_id"),
            std::vector<std::string>(matched_events.rbegin(), matched_events.rend()));
  EXPECT_EQ(Ids(GetJson(path + "?outcome=ignored")).size(), 2u);
  EXPECT_TRUE(Ids(GetJson(path + "?outcome=disabled")).empty());
  HttpResult bad = Api("GET", path + "?outcome=maybe");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Str(ErrorOf(bad), "field"), "outcome");
  EXPECT_EQ(Api("GET", path + "?limit=zero").status, 400);
  EXPECT_EQ(Api("GET", path + "?cursor=abc").status, 400);

  // Pages of two, following next_cursor, give every record once, in order.
  std::vector<std::string> paged;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    json::object p = GetJson(path + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    std::vector<std::string> ids = Ids(p, "event_id");
    EXPECT_LE(ids.size(), 2u);
    paged.insert(paged.end(), ids.begin(), ids.end());
    if (p["next_cursor"].is_null()) break;
    cursor = Str(p, "next_cursor");
  }
  EXPECT_EQ(paged, newest_first);
  json::object first_matched = GetJson(path + "?outcome=matched&limit=2");
  EXPECT_EQ(Ids(first_matched).size(), 2u);
  ASSERT_FALSE(first_matched["next_cursor"].is_null());
  json::object rest =
      GetJson(path + "?outcome=matched&limit=2&cursor=" + Str(first_matched, "next_cursor"));
  EXPECT_EQ(Ids(rest, "event_id"), std::vector<std::string>{matched_events.front()});
}

}  // namespace
}  // namespace triggerd::e2e
