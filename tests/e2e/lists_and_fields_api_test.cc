// The real binary on 127.0.0.1:0: the list contract of ../shared/api.md ("?limit=N (default 50,
// max 500) and ?cursor=…, answer next_cursor") on every list, not only events and runs; unknown
// filter values refused; and the body members that were accepted and then meant nothing — a
// signing secret nothing checks, names with control characters, allowed_origins that can never
// equal an Origin header.
#include <gtest/gtest.h>

#include "api_e2e_fixture.h"

namespace triggerd::e2e {
namespace {

class ListsAndFieldsApiTest : public ApiE2eTest {
 protected:
  // Every page of `path` with ?limit=`limit`, following next_cursor: the ids in order.
  std::vector<std::string> Walk(const std::string& path, int limit) {
    std::vector<std::string> ids;
    std::string cursor;
    const char sep = path.find('?') == std::string::npos ? '?' : '&';
    for (int pages = 0; pages < 100; ++pages) {
      json::object page = GetJson(path + sep + "limit=" + std::to_string(limit) +
                                  (cursor.empty() ? "" : "&cursor=" + cursor));
      std::vector<std::string> some = Ids(page);
      EXPECT_LE(some.size(), static_cast<size_t>(limit)) << path;
      ids.insert(ids.end(), some.begin(), some.end());
      if (page["next_cursor"].is_null()) return ids;
      EXPECT_EQ(some.size(), static_cast<size_t>(limit)) << "a short page before the end";
      cursor = Str(page, "next_cursor");
    }
    ADD_FAILURE() << path << " never ended";
    return ids;
  }

  // The error of GET `path`, expected 400.
  json::object BadRequest(const std::string& path, const std::string& key = "") {
    HttpResult r = Api("GET", path, "", key);
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    return ErrorOf(r);
  }

  HttpResult PostSource(const json::object& body) { return Api("POST", "/api/v1/sources", body); }
};

const std::vector<std::string> kConfigLists = {"/api/v1/sources", "/api/v1/agents",
                                               "/api/v1/triggers", "/api/v1/keys",
                                               "/api/v1/workspaces"};
// Stack AI's GET /triggers answers a bare array (its paging, X-Next-Cursor, is checked in
// stackai_triggers_e2e_test.cc) but reads ?limit= and ?cursor= as these lists do.
const std::vector<std::string> kPageParamLists = {"/api/v1/sources",    "/api/v1/agents",
                                                  "/api/v1/triggers",   "/api/v1/keys",
                                                  "/api/v1/workspaces", "/triggers"};

// ---------------------------------------------------------------------------------- paging

TEST_F(ListsAndFieldsApiTest, ConfigurationListsPageLikeEventsAndRuns) {
  json::object agent = NewAgent({{"target", {{"type", "http"}, {"url", silent_.url()}}}});
  for (int i = 0; i < 5; ++i) {
    json::object source = NewSource("s" + std::to_string(i));
    NewAgent({{"name", "a" + std::to_string(i)},
              {"target", {{"type", "http"}, {"url", silent_.url()}}}});
    NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}});
    NewKey("user");
  }
  for (const std::string& path : kConfigLists) {
    SCOPED_TRACE(path);
    json::object all = GetJson(path);
    EXPECT_TRUE(all["next_cursor"].is_null());
    const std::vector<std::string> every = Ids(all);
    // Pages of 2 (and of 1, and one page of everything) give every item once, in list order.
    EXPECT_EQ(Walk(path, 2), every);
    EXPECT_EQ(Walk(path, 1), every);
    EXPECT_EQ(Walk(path, 500), every);
    if (every.size() > 2) {
      json::object first = GetJson(path + "?limit=2");
      EXPECT_EQ(Ids(first).size(), 2u);
      EXPECT_TRUE(first["next_cursor"].is_string()) << json::serialize(first);
    }
  }
  EXPECT_EQ(Ids(GetJson("/api/v1/sources")).size(), 5u);
}

TEST_F(ListsAndFieldsApiTest, MalformedLimitAndCursorAre400AsOnEvents) {
  for (const std::string query :
       {"limit=abc", "limit=0", "limit=-1", "limit=1.5", "cursor=zzz", "cursor=0",
        "limit=abc&cursor=zzz", "limit=99999999999999999999"}) {
    json::object expected = BadRequest("/api/v1/events?" + query);
    for (const std::string& path : kPageParamLists) {
      SCOPED_TRACE(path + "?" + query);
      EXPECT_EQ(BadRequest(path + "?" + query), expected);
    }
  }
  // limit above 500 is capped, as on events.
  for (const std::string& path : kPageParamLists)
    EXPECT_EQ(Api("GET", path + "?limit=501").status, 200);
}

TEST_F(ListsAndFieldsApiTest, ItemsCreatedBetweenPagesShiftNothing) {
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i)
    made.insert(made.begin(), Str(NewSource("s" + std::to_string(i)), "id"));
  json::object first = GetJson("/api/v1/sources?limit=2");
  EXPECT_EQ(Ids(first), (std::vector<std::string>{made[0], made[1]}));
  NewSource("newer");
  NewSource("newest");
  json::object second = GetJson("/api/v1/sources?limit=2&cursor=" + Str(first, "next_cursor"));
  EXPECT_EQ(Ids(second), (std::vector<std::string>{made[2], made[3]}));
  json::object last = GetJson("/api/v1/sources?limit=2&cursor=" + Str(second, "next_cursor"));
  EXPECT_EQ(Ids(last), std::vector<std::string>{made[4]});
  EXPECT_TRUE(last["next_cursor"].is_null());
}

TEST_F(ListsAndFieldsApiTest, TriggersArePagedOverWhatTheKeySees) {
  Key builder = NewKey("builder");
  json::object source = NewSource();
  json::object mine =
      NewAgent({{"target", {{"type", "http"}, {"url", silent_.url()}}}}, builder.secret);
  std::vector<std::string> own;
  for (int i = 0; i < 3; ++i) {
    NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(mine, "id")}});  // admin's
    own.insert(own.begin(),
               Str(NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(mine, "id")}},
                              builder.secret),
                   "id"));
  }
  std::vector<std::string> seen;
  std::string cursor;
  do {
    json::object page = GetJson(
        "/api/v1/triggers?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), builder.secret);
    for (const auto& id : Ids(page)) seen.push_back(id);
    cursor = page["next_cursor"].is_null() ? "" : Str(page, "next_cursor");
  } while (!cursor.empty());
  EXPECT_EQ(seen, own);
  EXPECT_EQ(Walk("/api/v1/triggers?source_id=" + Str(source, "id"), 4).size(), 6u);
}

TEST_F(ListsAndFieldsApiTest, DaguWebhookListPagesToo) {
  for (int i = 0; i < 3; ++i) {
    json::object agent = NewAgent({{"name", "dag" + std::to_string(i)},
                                   {"target", {{"type", "http"}, {"url", silent_.url()}}}});
    ASSERT_EQ(Api("POST", "/api/v1/dags/" + Str(agent, "id") + "/webhook").status, 201);
  }
  json::object all = GetJson("/api/v1/webhooks");
  ASSERT_EQ(Ids(all).size(), 3u);
  json::object first = GetJson("/api/v1/webhooks?limit=2");
  EXPECT_EQ(Arr(first, "webhooks").size(), 2u);
  json::object rest = GetJson("/api/v1/webhooks?limit=2&cursor=" + Str(first, "next_cursor"));
  std::vector<std::string> paged = Ids(first);
  for (const auto& id : Ids(rest)) paged.push_back(id);
  EXPECT_EQ(paged, Ids(all));
  EXPECT_TRUE(rest["next_cursor"].is_null());
  json::object bad = BadRequest("/api/v1/webhooks?cursor=zzz");
  EXPECT_EQ(Str(bad, "field"), "cursor");
}

// ---------------------------------------------------------------------------------- filters

TEST_F(ListsAndFieldsApiTest, UnknownFilterValuesAre400OnEventsAsOnRuns) {
  Ingest(NewSource(), json::object{{"a", 1}});
  json::object events = BadRequest("/api/v1/events?status=bogus");
  EXPECT_EQ(Str(events, "field"), "status");
  EXPECT_EQ(Str(BadRequest("/api/v1/runs?status=bogus"), "field"), "status");
  EXPECT_EQ(Ids(GetJson("/api/v1/events?status=received")).size(), 1u);
  EXPECT_EQ(Ids(GetJson("/api/v1/events?status=")).size(), 1u);  // empty: any, as on runs
  for (const std::string list : {"/api/v1/events", "/api/v1/runs"}) {
    EXPECT_EQ(Str(BadRequest(list + "?since=yesterday"), "field"), "since");
    EXPECT_EQ(Str(BadRequest(list + "?until=1"), "field"), "until");
    EXPECT_EQ(Str(BadRequest(list + "?limit=x"), "field"), "limit");
    EXPECT_EQ(Str(BadRequest(list + "?cursor=next"), "field"), "cursor");
  }
}

// ---------------------------------------------------------------------------------- secrets

TEST_F(ListsAndFieldsApiTest, ASecretNothingChecksIsRefused) {
  for (const json::object& body :
       {json::object{{"name", "typo2"}, {"secret", "my-signing-secret-xyz"}},
        json::object{
            {"name", "typo2"}, {"secret", "my-signing-secret-xyz"}, {"auth", {{"hmac", nullptr}}}},
        json::object{{"name", "typo2"},
                     {"secret", "my-signing-secret-xyz"},
                     {"auth", {{"bearer", true}}}}}) {
    HttpResult r = PostSource(body);
    EXPECT_EQ(r.status, 400) << json::serialize(body) << ": " << r.body;
    EXPECT_NE(Str(ErrorOf(r), "message").find("auth.hmac"), std::string::npos) << r.body;
  }
  EXPECT_TRUE(Ids(GetJson("/api/v1/sources")).empty());

  // Where a signature is checked, the caller's own secret is kept.
  json::object hmac = Expect(201, PostSource({{"name", "signed"},
                                              {"secret", "my-signing-secret-xyz"},
                                              {"auth", {{"hmac", {{"header", "X-Sig"}}}}}}));
  EXPECT_TRUE(hmac["has_secret"].as_bool());
  EXPECT_TRUE(
      Expect(201,
             PostSource({{"name", "gh"}, {"kind", "github"}, {"secret", "s3cret"}}))["has_secret"]
          .as_bool());

  // PATCH likewise: a secret for a source that signs nothing, or one sent while removing hmac.
  const std::string open = "/api/v1/sources/" + Str(NewSource("open"), "id");
  EXPECT_EQ(Api("PATCH", open, R"({"secret":"abc"})").status, 400);
  const std::string signed_path = "/api/v1/sources/" + Str(hmac, "id");
  EXPECT_EQ(Api("PATCH", signed_path, R"({"auth":{"hmac":null},"secret":"abc"})").status, 400);
  EXPECT_TRUE(GetJson(signed_path)["has_secret"].as_bool());
  EXPECT_EQ(Api("PATCH", signed_path, R"({"secret":"another-secret"})").status, 200);
  // Removing hmac alone drops the secret with it: nothing is left that it would pretend to do.
  json::object unsigned_now = Expect(200, Api("PATCH", signed_path, R"({"auth":{"hmac":null}})"));
  EXPECT_FALSE(unsigned_now["has_secret"].as_bool());
}

// ---------------------------------------------------------------------------------- names

TEST_F(ListsAndFieldsApiTest, NamesRefuseControlCharactersAndLongNamesEverywhere) {
  json::object source = NewSource();
  json::object agent = NewAgent({{"target", {{"type", "http"}, {"url", silent_.url()}}}});
  const std::string trigger =
      "/api/v1/triggers/" +
      Str(NewTrigger({{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}}), "id");
  auto post = [&](const std::string& path, const std::string& name) -> HttpResult {
    json::object body{{"name", name}};
    if (path == "/api/v1/agents") body["target"] = {{"type", "http"}, {"url", silent_.url()}};
    if (path == "/api/v1/keys") body["role"] = "user";
    if (path == "/api/v1/triggers") {
      body["source_id"] = Str(source, "id");
      body["agent_id"] = Str(agent, "id");
    }
    return Api("POST", path, body);
  };
  const std::string long_name(201, 'n');
  std::string greek;  // 200 characters of two bytes each: within the limit
  for (int i = 0; i < 200; ++i) greek += "\xCE\xB1";
  for (const std::string path : {"/api/v1/sources", "/api/v1/agents", "/api/v1/triggers",
                                 "/api/v1/keys", "/api/v1/workspaces"}) {
    SCOPED_TRACE(path);
    for (const std::string& bad :
         {std::string("\0", 1), std::string("a\nb"), std::string("tab\there"),
          std::string("del\x7F"), std::string("c1 \xC2\x85 next line"), std::string("esc \x1B[31m"),
          // Bidi override (U+202E), zero-width space (U+200B), line separator (U+2028).
          std::string("invoice\xE2\x80\xAE" "fdp.exe"), std::string("pay\xE2\x80\x8Broll"),
          std::string("two\xE2\x80\xA8lines"), long_name}) {
      HttpResult r = post(path, bad);
      EXPECT_EQ(r.status, 400) << r.body;
      json::object error = ErrorOf(r);
      EXPECT_NE(Str(error, "message").find("name"), std::string::npos) << r.body;
    }
    EXPECT_EQ(post(path, greek).status, 201);
    EXPECT_EQ(post(path, "caf\xC3\xA9 \xE2\x9C\x93").status, 201);
  }
  EXPECT_NE(Str(ErrorOf(post("/api/v1/sources", std::string("x\0", 2))), "message")
                .find("U+0000 at character 2"),
            std::string::npos);
  EXPECT_EQ(Str(ErrorOf(post("/api/v1/agents", "a\nb")), "field"), "name");
  EXPECT_NE(Str(ErrorOf(post("/api/v1/agents", "a\xE2\x80\xAE")), "message")
                .find("bidirectional control characters (U+202E at character 2)"),
            std::string::npos);
  // And on PATCH.
  EXPECT_EQ(Api("PATCH", "/api/v1/sources/" + Str(source, "id"), R"({"name":"a\u0000"})").status,
            400);
  EXPECT_EQ(Api("PATCH", "/api/v1/agents/" + Str(agent, "id"), R"({"name":"a\u0007"})").status,
            400);
  EXPECT_EQ(Api("PATCH", trigger, R"({"name":"a\u009b"})").status, 400);
  EXPECT_EQ(Api("PATCH", trigger, R"({"name":""})").status, 200);  // a trigger's name is optional
}

// ---------------------------------------------------------------------------------- origins

TEST_F(ListsAndFieldsApiTest, AllowedOriginsAreOriginsInTheFormIngestCompares) {
  for (const std::string bad :
       {"not a url", "*", "null", "example.com", "ftp://example.com", "https://",
        "https://example.com/app", "https://example.com//", "https://example.com?x=1",
        "https://example.com#top", "https://user@example.com", "https://example.com:0",
        "https://example.com:99999", "https://example.com:"}) {
    HttpResult r =
        PostSource({{"name", "o"}, {"allowed_origins", json::array{"https://ok.example", bad}}});
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_NE(Str(ErrorOf(r), "message").find("\"" + bad + "\""), std::string::npos) << r.body;
  }
  json::object source = Expect(
      201,
      PostSource({{"name", "o"},
                  {"allowed_origins", json::array{"https://Example.com/", "https://example.org:443",
                                                  "http://localhost:8080", "http://[::1]:3000"}}}));
  EXPECT_EQ(source["allowed_origins"],
            json::value(json::array{"https://example.com", "https://example.org",
                                    "http://localhost:8080", "http://[::1]:3000"}));
  const std::string url = Str(source, "url");
  const std::string path = url.substr(url.find("/api/v1/w/"));
  auto post = [&](const std::string& origin) {
    return client_
        ->Send("POST", path, "{}", {{"Content-Type", "application/json"}, {"Origin", origin}})
        .status;
  };
  EXPECT_EQ(post("https://example.com"), 200);
  EXPECT_EQ(post("https://example.org"), 200);
  EXPECT_EQ(post("http://localhost:8080"), 200);
  EXPECT_EQ(post("http://[::1]:3000"), 200);
  EXPECT_EQ(post("http://example.com"), 403);
  EXPECT_EQ(post("http://localhost:8081"), 403);

  const std::string id = "/api/v1/sources/" + Str(source, "id");
  EXPECT_EQ(Api("PATCH", id, R"({"allowed_origins":["https://example.com/path"]})").status, 400);
  json::object patched =
      Expect(200, Api("PATCH", id, R"({"allowed_origins":["HTTPS://A.EXAMPLE/"]})"));
  EXPECT_EQ(patched["allowed_origins"], json::value(json::array{"https://a.example"}));
}

}  // namespace
}  // namespace triggerd::e2e
