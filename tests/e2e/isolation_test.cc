// Workspace isolation on the real binary, route by route: a key of workspace B can neither read,
// change nor learn the existence of anything in workspace A. Every authenticated route of the
// served OpenAPI document that names a resource is called from B with A's id and must answer
// exactly what it answers for an id that never existed (404, same body), so a new route is
// covered the day it is added to the document. Lists and filters from B never show A's records.
// Also: a `user` key cannot change sources, and A's objects are untouched afterwards.
#include <set>

#include "api_e2e_fixture.h"

namespace triggerd::e2e {
namespace {

class IsolationTest : public ApiE2eTest {
 protected:
  // The answer's body with every occurrence of `id` replaced, so that the answers for two
  // different ids can be compared byte for byte.
  static std::string Normalised(std::string body, const std::string& id) {
    for (size_t at = body.find(id); at != std::string::npos; at = body.find(id, at)) {
      body.replace(at, id.size(), "<id>");
    }
    return body;
  }
  // An id of the same shape (prefix and length) that was never issued.
  static std::string NeverIssued(std::string id) {
    id.back() = id.back() == 'z' ? 'y' : 'z';
    return id;
  }
};

// Request bodies that would succeed on the owner's own resource, so that a 404 from the other
// workspace cannot be a validation error in disguise.
std::string BodyFor(const std::string& method, const std::string& path) {
  if (method == "GET" || method == "DELETE") return "";
  if (path.ends_with("/test")) return R"({"payload":{"action":"opened"}})";
  if (path.ends_with("/toggle")) return R"({"enabled":false})";
  if (path == "/api/v1/agents/{id}/webhook") return R"({"enabled":false})";
  if (method == "PATCH") return R"({"name":"taken over"})";
  return "{}";
}

TEST_F(IsolationTest, AnotherWorkspaceCannotReadChangeOrLearnOfAnything) {
  // Workspace A (the bootstrap one): one of everything.
  json::object source = NewSource("a-source");
  json::object agent = ParkedAgent();
  json::object trigger = NewTrigger(
      {{"name", "a-trigger"}, {"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}});
  json::object ingested = Ingest(source, json::object{{"action", "opened"}}, "d-1");
  std::map<std::string, std::string> runs = RunsByTrigger(ingested);
  ASSERT_EQ(runs.size(), 1u);
  Key user = NewKey("user");
  Expect(201, Api("PUT", "/api/v1/agents/" + Str(agent, "id") + "/webhook", R"({"enabled":true})"));
  Expect(201, Api("POST", "/api/v1/dags/" + Str(agent, "name") + "/webhook"));

  const std::map<std::string, std::string> a_ids = {
      {"/api/v1/keys/", user.id},
      {"/api/v1/sources/", Str(source, "id")},
      {"/api/v1/events/", Str(ingested, "event_id")},
      {"/api/v1/agents/", Str(agent, "id")},
      {"/api/v1/triggers/", Str(trigger, "id")},
      {"/api/v1/runs/", runs.begin()->second},
      {"/api/v1/dags/", Str(agent, "name")},
  };

  // Workspace B, through its own admin key: the most a foreign caller can hold.
  json::object b = Expect(201, Api("POST", "/api/v1/workspaces", R"({"name":"b"})"));
  const std::string b_admin = Str(b, "admin_key");
  ASSERT_FALSE(b_admin.empty()) << json::serialize(b);

  // Every route of the document with a resource id in its path.
  json::object document = GetJson("/api/v1/openapi.json");
  int checked = 0;
  for (const auto& [path_view, item] : document.at("paths").as_object()) {
    const std::string path(path_view);
    std::string prefix;
    for (const auto& [p, id] : a_ids) {
      if (path.starts_with(p) && path.find('{', p.size()) == p.size()) prefix = p;
    }
    if (prefix.empty()) continue;
    const std::string& id = a_ids.at(prefix);
    const std::string missing = prefix == "/api/v1/dags/" ? "no-such-dag" : NeverIssued(id);
    const size_t open = path.find('{', prefix.size());
    const size_t close = path.find('}', open);
    for (const auto& [method_view, operation] : item.as_object()) {
      std::string method(method_view);
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH" &&
          method != "DELETE") {
        continue;
      }
      std::string foreign_path = path, missing_path = path;
      foreign_path.replace(open, close - open + 1, id);
      missing_path.replace(open, close - open + 1, missing);
      const std::string body = BodyFor(method, path);
      HttpResult foreign = Api(method, foreign_path, body, b_admin);
      HttpResult never = Api(method, missing_path, body, b_admin);
      EXPECT_EQ(foreign.status, 404) << method << " " << foreign_path << ": " << foreign.body;
      EXPECT_EQ(foreign.status, never.status) << method << " " << path;
      EXPECT_EQ(Normalised(foreign.body, id), Normalised(never.body, missing))
          << method << " " << path;
      ++checked;
    }
  }
  EXPECT_GE(checked, 20) << "the document lost its resource routes?";

  // Lists and filters from B show nothing of A, not even under A's ids.
  std::vector<std::string> secrets_of_a;
  for (const auto& [prefix, id] : a_ids) secrets_of_a.push_back(id);
  for (const std::string& list : std::vector<std::string>{
           "/api/v1/sources", "/api/v1/agents", "/api/v1/triggers", "/api/v1/events",
           "/api/v1/runs", "/api/v1/keys", "/api/v1/webhooks", "/api/v1/workspaces",
           "/api/v1/events?source_id=" + Str(source, "id"),
           "/api/v1/runs?trigger_id=" + Str(trigger, "id"),
           "/api/v1/runs?agent_id=" + Str(agent, "id")}) {
    HttpResult r = Api("GET", list, "", b_admin);
    EXPECT_TRUE(r.status == 200 || r.status == 400) << list << ": " << r.body;
    for (const std::string& id : secrets_of_a) {
      EXPECT_EQ(r.body.find(id), std::string::npos) << list << " shows " << id << ": " << r.body;
    }
    EXPECT_EQ(r.body.find(Str(source, "url")), std::string::npos) << list;
  }

  // B cannot bind A's source or agent into a trigger of its own: the same answer as for ids
  // that never existed (400 unknown_reference: the bad id is in the body, not the path).
  json::object b_source = Expect(201, Api("POST", "/api/v1/sources", R"({"name":"b"})", b_admin));
  json::object b_agent = Expect(
      201, Api("POST", "/api/v1/agents",
               json::object{{"name", "b"}, {"target", {{"type", "http"}, {"url", silent_.url()}}}},
               b_admin));
  auto bind = [&](const std::string& source_id, const std::string& agent_id) {
    return Api("POST", "/api/v1/triggers",
               json::object{{"name", "t"}, {"source_id", source_id}, {"agent_id", agent_id}},
               b_admin);
  };
  for (auto [foreign, never] :
       {std::pair{bind(Str(source, "id"), Str(b_agent, "id")),
                  bind(NeverIssued(Str(source, "id")), Str(b_agent, "id"))},
        std::pair{bind(Str(b_source, "id"), Str(agent, "id")),
                  bind(Str(b_source, "id"), NeverIssued(Str(agent, "id")))}}) {
    EXPECT_EQ(foreign.status, 400) << foreign.body;
    EXPECT_EQ(Str(ErrorOf(foreign), "type"), "unknown_reference");
    EXPECT_EQ(foreign.status, never.status);
    EXPECT_EQ(ErrorOf(foreign).at("type"), ErrorOf(never).at("type")) << foreign.body;
  }

  // A's ingest URL under B's workspace id is unknown, like a source that never existed.
  std::string path = Str(source, "url").substr(Str(source, "url").find("/api/v1/w/"));
  const std::string a_ws = path.substr(10, path.find('/', 10) - 10);
  std::string under_b = path;
  under_b.replace(10, a_ws.size(), Str(b, "id"));
  HttpResult cross =
      client_->Send("POST", under_b, R"({"x":1})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(cross.status, 404) << cross.body;

  // Nothing of A changed: B's PATCH, DELETE, rotate, toggle and cancel calls all missed.
  json::object source_now = GetJson("/api/v1/sources/" + Str(source, "id"));
  EXPECT_EQ(Str(source_now, "name"), "a-source");
  EXPECT_TRUE(source_now.at("enabled").as_bool());
  EXPECT_EQ(Str(source_now, "url"), Str(source, "url"));  // not rotated
  EXPECT_EQ(Str(GetJson("/api/v1/agents/" + Str(agent, "id")), "name"), Str(agent, "name"));
  EXPECT_EQ(Str(GetJson("/api/v1/triggers/" + Str(trigger, "id")), "name"), "a-trigger");
  EXPECT_NE(Str(GetJson("/api/v1/runs/" + runs.begin()->second), "status"), "cancelled");
  EXPECT_TRUE(GetJson("/api/v1/dags/" + Str(agent, "name") + "/webhook").at("enabled").as_bool());
  EXPECT_EQ(Api("GET", "/api/v1/me", "", user.secret).status, 200);  // not revoked
}

TEST_F(IsolationTest, AUserKeyCannotChangeSources) {
  json::object source = NewSource("guarded");
  Key user = NewKey("user");
  const std::string id = Str(source, "id");
  for (const auto& [method, path, body] :
       {std::tuple<std::string, std::string, std::string>{"POST", "/api/v1/sources",
                                                          R"({"name":"mine"})"},
        {"PATCH", "/api/v1/sources/" + id, R"({"enabled":false})"},
        {"POST", "/api/v1/sources/" + id + "/rotate", "{}"},
        {"DELETE", "/api/v1/sources/" + id, ""}}) {
    HttpResult r = Api(method, path, body, user.secret);
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_EQ(Str(ErrorOf(r), "type"), "insufficient_role");
  }
  // It can still read them (the console shows sources to every member).
  EXPECT_EQ(Api("GET", "/api/v1/sources/" + id, "", user.secret).status, 200);
  json::object now = GetJson("/api/v1/sources/" + id);
  EXPECT_TRUE(now.at("enabled").as_bool());
  EXPECT_EQ(Str(now, "url"), Str(source, "url"));
}

}  // namespace
}  // namespace triggerd::e2e
