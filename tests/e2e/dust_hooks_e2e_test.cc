// Surface 1 of docs/COMPATIBILITY.md, the Dust Triggers API's hooks route, replayed as Dust's
// documentation shapes the requests (issue 20):
//   - a custom webhook source with a signature header and algorithm: senders sign as
//     "<algorithm>=<hex HMAC of the raw body>" (sha256=, sha1=, sha512=);
//   - every trigger of the source leaves a record on the event, those its event-type
//     subscription skips included (ignored, with the reason);
//   - Dust's OpenAPI declares BearerAuth (a workspace API key) on
//     POST /api/v1/w/{wId}/triggers/hooks/{webhookSourceId}/{webhookSourceUrlSecret}: a source
//     that opts in (auth.api_key) takes a builder's or admin's key of its workspace.
#include "api_e2e_fixture.h"
#include "common/crypto.h"

namespace triggerd::e2e {
namespace {

using crypto::DigestAlgorithm;

class DustHooksE2eTest : public ApiE2eTest {
 protected:
  // The source's secret URL path (/api/v1/w/{wId}/triggers/hooks/{id}/{secret}).
  static std::string PathOf(const json::object& source) {
    const std::string url = Str(source, "url");
    return url.substr(url.find("/api/v1/w/"));
  }
  HttpResult Post(const std::string& path, const std::string& body, Headers extra) {
    Headers headers = {{"Content-Type", "application/json"}};
    for (auto& h : extra) headers.push_back(std::move(h));
    return client_->Send("POST", path, body, headers);
  }
  static std::string HexHmac(DigestAlgorithm algorithm, const std::string& secret,
                             const std::string& body) {
    return crypto::HexEncode(crypto::Hmac(algorithm, secret, body));
  }
  // The 200 answer of Dust's hooks route, checked field by field.
  json::object Received(const HttpResult& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    json::object answer = ParseObject(r.body);
    EXPECT_EQ(Str(answer, "event_id").rfind("evt_", 0), 0u) << r.body;
    EXPECT_FALSE(Str(answer, "received_at").empty()) << r.body;
    EXPECT_EQ(answer.at("duplicate"), json::value(false)) << r.body;
    EXPECT_TRUE(answer.at("runs").is_array()) << r.body;
    return answer;
  }
};

// "set a Signature header and a Signature algorithm (sha1, sha256, or sha512)": the sender signs
// as "sha256=<hex>"; the bare digest is still accepted, a prefix naming another algorithm never.
TEST_F(DustHooksE2eTest, CustomSourceAcceptsTheAlgorithmPrefixedSignature) {
  for (auto algorithm : {DigestAlgorithm::kSha1, DigestAlgorithm::kSha256,
                         DigestAlgorithm::kSha512}) {
    const std::string name(crypto::DigestAlgorithmName(algorithm));
    SCOPED_TRACE(name);
    json::object source = Expect(
        201, Api("POST", "/api/v1/sources",
                 json::object{{"name", "dust-custom-" + name},
                              {"auth", {{"hmac", {{"header", "X-Dust-Signature"},
                                                  {"algorithm", name}}}}}}));
    const std::string secret = Str(source, "secret");
    ASSERT_FALSE(secret.empty());
    const std::string body = R"({"type":"ticket.created","ticket":{"id":1234,"priority":"high"}})";
    const std::string hex = HexHmac(algorithm, secret, body);

    json::object answer =
        Received(Post(PathOf(source), body, {{"X-Dust-Signature", name + "=" + hex}}));
    json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
    EXPECT_EQ(Str(event, "verification"), "hmac");
    // The signature header is a credential: redacted in the stored event.
    EXPECT_EQ(json::serialize(event).find(hex), std::string::npos);
    Received(Post(PathOf(source), body, {{"X-Dust-Signature", hex}}));

    HttpResult changed = Post(PathOf(source), body + " ", {{"X-Dust-Signature", name + "=" + hex}});
    EXPECT_EQ(changed.status, 401) << changed.body;
    EXPECT_EQ(Str(ErrorOf(changed), "type"), "invalid_signature");
    const std::string other = algorithm == DigestAlgorithm::kSha1 ? "sha256" : "sha1";
    HttpResult mismatched =
        Post(PathOf(source), body, {{"X-Dust-Signature", other + "=" + hex}});
    EXPECT_EQ(mismatched.status, 401) << mismatched.body;
    EXPECT_EQ(Str(ErrorOf(mismatched), "type"), "malformed_signature");
  }
}

// "Which triggers matched and which ignored the event": every trigger of the source has its
// record on the event, in creation order, a trigger subscribed to other event types included.
TEST_F(DustHooksE2eTest, EveryTriggerOfTheSourceLeavesARecordOnTheEvent) {
  json::object github = Expect(201, Api("POST", "/api/v1/sources",
                                        json::object{{"name", "github"},
                                                     {"kind", "github"},
                                                     {"secret", "gh-s3cr3t"}}));
  // Another source's trigger never shows up on this source's event.
  json::object other_source = NewSource("other");
  const std::string agent = Str(ParkedAgent("", 100), "id");
  auto trigger = [&](const json::object& source, const std::string& filter,
                     json::array types) {
    json::object spec{{"source_id", Str(source, "id")}, {"agent_id", agent}, {"filter", filter}};
    if (!types.empty()) spec["event_types"] = std::move(types);
    return Str(NewTrigger(spec), "id");
  };
  const std::string pushes = trigger(github, "", json::array{"push"});
  const std::string opened =
      trigger(github, "(eq \"action\" \"opened\")", json::array{"issues", "pull_request"});
  const std::string closed = trigger(github, "(eq \"action\" \"closed\")", json::array{});
  trigger(other_source, "", json::array{});

  const std::string body = R"({"action":"opened","issue":{"number":7}})";
  HttpResult r = Post(PathOf(github), body,
                      {{"X-GitHub-Event", "issues"},
                       {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                       {"X-Hub-Signature-256",
                        "sha256=" + HexHmac(DigestAlgorithm::kSha256, "gh-s3cr3t", body)}});
  json::object answer = Received(r);
  ASSERT_EQ(Arr(answer, "runs").size(), 1u);
  EXPECT_EQ(Str(Arr(answer, "runs")[0].as_object(), "trigger_id"), opened);

  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  const json::array& matches = Arr(event, "matches");
  ASSERT_EQ(matches.size(), 3u) << json::serialize(event);
  const json::object& m0 = matches[0].as_object();
  EXPECT_EQ(Str(m0, "trigger_id"), pushes);
  EXPECT_EQ(Str(m0, "outcome"), "ignored");
  EXPECT_EQ(Str(m0, "reason"), "event_type");
  EXPECT_EQ(Str(m0, "message"),
            "not subscribed: event type \"issues\" is not among the trigger's event_types (push)");
  EXPECT_TRUE(m0.at("run_id").is_null());
  const json::object& m1 = matches[1].as_object();
  EXPECT_EQ(Str(m1, "trigger_id"), opened);
  EXPECT_EQ(Str(m1, "outcome"), "matched");
  EXPECT_TRUE(m1.at("reason").is_null());
  EXPECT_EQ(Str(m1, "run_id"), Str(Arr(answer, "runs")[0].as_object(), "run_id"));
  const json::object& m2 = matches[2].as_object();
  EXPECT_EQ(Str(m2, "trigger_id"), closed);
  EXPECT_EQ(Str(m2, "outcome"), "ignored");
  EXPECT_EQ(Str(m2, "message"), "");
  EXPECT_TRUE(m2.at("reason").is_null());  // ignored by its filter
  // The skipped trigger's own list of matches has the record too.
  json::object skipped = GetJson("/api/v1/triggers/" + pushes + "/matches");
  ASSERT_EQ(Arr(skipped, "data").size(), 1u);
  EXPECT_EQ(Str(Arr(skipped, "data")[0].as_object(), "outcome"), "ignored");
  EXPECT_EQ(Str(Arr(skipped, "data")[0].as_object(), "reason"), "event_type");
}

// BearerAuth on the hooks route: with auth.api_key, a builder's or admin's API key of the
// source's workspace is accepted as the bearer; a user-role key, a key of another workspace and
// a revoked key are refused, the last one from the request right after the revocation.
TEST_F(DustHooksE2eTest, ApiKeyOfABuilderOrAdminIsTheBearerOnASourceThatOptsIn) {
  json::object source = Expect(
      201, Api("POST", "/api/v1/sources",
               json::object{{"name", "dust-api-key"}, {"auth", {{"api_key", true}}}}));
  EXPECT_EQ(json::serialize(source.at("auth")), R"({"bearer":false,"api_key":true})");
  const std::string path = PathOf(source);
  const std::string body = R"({"text":"deploy finished","status":"ok"})";
  auto with_key = [&](const std::string& key) {
    return Post(path, body, {{"Authorization", "Bearer " + key}});
  };

  Key builder = NewKey("builder");
  json::object answer = Received(with_key(builder.secret));
  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  EXPECT_EQ(Str(event, "verification"), "api_key");
  // The key never reaches the stored headers.
  EXPECT_EQ(json::serialize(event).find(builder.secret), std::string::npos);
  EXPECT_EQ(Str(event.at("headers").as_object(), "Authorization"), "[redacted]")
      << json::serialize(event);
  Received(with_key(admin_));

  HttpResult missing = Post(path, body, {});
  EXPECT_EQ(missing.status, 401) << missing.body;
  EXPECT_EQ(Str(ErrorOf(missing), "type"), "missing_token");
  HttpResult unknown = with_key("tdk_" + std::string(40, 'x'));
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(Str(ErrorOf(unknown), "type"), "invalid_token");
  Key user = NewKey("user");
  HttpResult reader = with_key(user.secret);
  EXPECT_EQ(reader.status, 403) << reader.body;
  EXPECT_EQ(Str(ErrorOf(reader), "type"), "insufficient_role");
  json::object other_workspace =
      Expect(201, Api("POST", "/api/v1/workspaces", json::object{{"name", "elsewhere"}}));
  HttpResult foreign = with_key(Str(other_workspace, "admin_key"));
  EXPECT_EQ(foreign.status, 401) << foreign.body;
  EXPECT_EQ(Str(ErrorOf(foreign), "type"), "invalid_token");

  // Revoked: refused at once.
  ASSERT_EQ(Api("DELETE", "/api/v1/keys/" + builder.id).status, 204);
  HttpResult revoked = with_key(builder.secret);
  EXPECT_EQ(revoked.status, 401) << revoked.body;
  EXPECT_EQ(Str(ErrorOf(revoked), "type"), "invalid_token");
  // Only the accepted requests were stored.
  EXPECT_EQ(Arr(GetJson("/api/v1/events?source_id=" + Str(source, "id")), "data").size(), 2u);

  // A source without auth.api_key takes no API key as its bearer.
  json::object plain = Expect(201, Api("POST", "/api/v1/sources",
                                       json::object{{"name", "token-only"},
                                                    {"auth", {{"bearer", true}}}}));
  HttpResult refused = Post(PathOf(plain), body, {{"Authorization", "Bearer " + admin_}});
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "type"), "invalid_token");
}

// With auth.bearer as well, the source's own token keeps working beside API keys; with an HMAC,
// the key replaces only the bearer, never the signature.
TEST_F(DustHooksE2eTest, ApiKeyStandsBesideTheSourceTokenAndNeverForTheSignature) {
  json::object source = Expect(
      201, Api("POST", "/api/v1/sources",
               json::object{{"name", "dust-both"},
                            {"auth", {{"bearer", true},
                                      {"api_key", true},
                                      {"hmac", {{"header", "X-Signature"},
                                                {"algorithm", "sha256"}}}}}}));
  const std::string token = Str(source, "token"), secret = Str(source, "secret");
  ASSERT_FALSE(token.empty());
  ASSERT_FALSE(secret.empty());
  const std::string body = R"({"ok":true})";
  const std::string signature = "sha256=" + HexHmac(DigestAlgorithm::kSha256, secret, body);
  const std::string path = PathOf(source);

  json::object by_token = Received(
      Post(path, body, {{"Authorization", "Bearer " + token}, {"X-Signature", signature}}));
  EXPECT_EQ(Str(GetJson("/api/v1/events/" + Str(by_token, "event_id")), "verification"),
            "bearer+hmac");
  json::object by_key = Received(
      Post(path, body, {{"Authorization", "Bearer " + admin_}, {"X-Signature", signature}}));
  EXPECT_EQ(Str(GetJson("/api/v1/events/" + Str(by_key, "event_id")), "verification"),
            "hmac+api_key");
  HttpResult unsigned_post = Post(path, body, {{"Authorization", "Bearer " + admin_}});
  EXPECT_EQ(unsigned_post.status, 401) << unsigned_post.body;
  EXPECT_EQ(Str(ErrorOf(unsigned_post), "type"), "missing_signature");
  HttpResult wrong_token =
      Post(path, body, {{"Authorization", "Bearer " + token + "x"}, {"X-Signature", signature}});
  EXPECT_EQ(wrong_token.status, 401) << wrong_token.body;
  EXPECT_EQ(Str(ErrorOf(wrong_token), "type"), "invalid_token");
}

}  // namespace
}  // namespace triggerd::e2e
