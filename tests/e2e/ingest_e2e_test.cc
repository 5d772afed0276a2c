// The real binary on 127.0.0.1:0, driven over HTTP: every ingest status code, the stored event,
// dedup, redaction, the admin key file, management roles and workspace isolation.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

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
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// Every error body has the documented shape.
void ExpectErrorShape(const HttpResult& r, const std::string& type) {
  json::object body = ParseObject(r.body);
  ASSERT_TRUE(body.contains("error")) << r.body;
  const auto& error = body["error"].as_object();
  EXPECT_EQ(Str(error, "type"), type) << r.body;
  EXPECT_FALSE(Str(error, "message").empty()) << r.body;
}

std::string HmacHex(crypto::DigestAlgorithm algorithm, const std::string& key,
                    const std::string& body) {
  return crypto::HexEncode(crypto::Hmac(algorithm, key, body));
}

class IngestE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    process_ = std::make_unique<TriggerdProcess>(dir_.path() / "data");
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  HttpResult Api(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = "") {
    return client_->Send(method, path, body, Auth(key.empty() ? admin_ : key));
  }

  // Creates a source; returns its JSON (with url, and secret/token when issued).
  json::object CreateSource(const std::string& spec, const std::string& key = "") {
    HttpResult r = Api("POST", "/api/v1/sources", spec, key);
    EXPECT_EQ(r.status, 201) << r.body;
    return ParseObject(r.body);
  }

  // The ingest path of a source (its URL without scheme and host).
  static std::string PathOf(const json::object& source) {
    std::string url = Str(source, "url");
    auto at = url.find("/api/v1/w/");
    return at == std::string::npos ? url : url.substr(at);
  }
  static std::string ShortPathOf(const json::object& source) {
    std::string path = PathOf(source);
    return path.substr(0, path.rfind('/'));
  }

  HttpResult Post(const std::string& path, const std::string& body, Headers headers = {}) {
    bool has_type = false;
    for (const auto& h : headers) has_type = has_type || HeaderNameEquals(h.name, "Content-Type");
    if (!has_type) headers.push_back({"Content-Type", "application/json"});
    return client_->Send("POST", path, body, headers);
  }

  json::object GetEvent(const std::string& id) {
    HttpResult r = Api("GET", "/api/v1/events/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseObject(r.body);
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(IngestE2eTest, FirstStartWritesAdminKeyFileWithMode0600AndPrintsItOnce) {
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() / "data" / "admin-key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_NE(process_->Output().find(admin_), std::string::npos);
  EXPECT_EQ(Api("GET", "/api/v1/me").status, 200);
  // A second start neither prints a key nor replaces it.
  EXPECT_EQ(process_->Stop(), 0);
  ASSERT_TRUE(process_->Start()) << process_->error();
  EXPECT_EQ(process_->Output().find("tdk_"), std::string::npos) << process_->Output();
  EXPECT_EQ(process_->AdminKey(), admin_);
  HttpClient fresh("127.0.0.1", process_->port());
  EXPECT_EQ(fresh.Send("GET", "/api/v1/me", "", Auth(admin_)).status, 200);
}

TEST_F(IngestE2eTest, UnauthenticatedSourceAcceptsOnlyItsSecretUrl) {
  json::object source = CreateSource(R"({"name":"open"})");
  EXPECT_FALSE(source.contains("secret"));
  EXPECT_FALSE(source.contains("token"));
  HttpResult ok = Post(PathOf(source), R"({"action":"opened"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  json::object answer = ParseObject(ok.body);
  EXPECT_EQ(Str(answer, "event_id").rfind("evt_", 0), 0u);
  EXPECT_FALSE(Str(answer, "received_at").empty());
  EXPECT_FALSE(answer["duplicate"].as_bool());
  EXPECT_TRUE(answer["runs"].as_array().empty());

  // Without the URL secret, or with a wrong one: the same 404 as an unknown source.
  HttpResult no_secret = Post(ShortPathOf(source), "{}");
  HttpResult wrong = Post(ShortPathOf(source) + "/wrongsecret", "{}");
  HttpResult unknown_source =
      Post("/api/v1/w/" + Str(source, "workspace_id") + "/triggers/hooks/src_nope", "{}");
  HttpResult unknown_workspace = Post("/api/v1/w/ws_nope/triggers/hooks/" + Str(source, "id"), "{}");
  for (const HttpResult* r : {&no_secret, &wrong, &unknown_source, &unknown_workspace}) {
    EXPECT_EQ(r->status, 404) << r->body;
    EXPECT_EQ(r->body, unknown_source.body);
  }
  ExpectErrorShape(unknown_source, "not_found");
}

// A leaked URL is fixed by rotating it, not by deleting the source and its triggers: the URL
// secret is issued anew when it is the source's only credential, or when asked, and the old URL
// stops working at once.
TEST_F(IngestE2eTest, RotatingIssuesANewUrlSecretWhenItIsTheCredentialOrWhenAsked) {
  json::object open = CreateSource(R"({"name":"open"})");
  const std::string id = Str(open, "id");
  HttpResult rotated = Api("POST", "/api/v1/sources/" + id + "/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  json::object fresh = ParseObject(rotated.body);
  ASSERT_NE(PathOf(fresh), PathOf(open));
  EXPECT_EQ(Post(PathOf(open), "{}").status, 404);
  EXPECT_EQ(Post(PathOf(fresh), "{}").status, 200);

  // A signed source: the secret is rotated and the URL kept, unless the URL is asked for too.
  json::object signed_source =
      CreateSource(R"({"name":"signed","auth":{"hmac":{"header":"X-Sig"}}})");
  const std::string signed_path = "/api/v1/sources/" + Str(signed_source, "id") + "/rotate";
  json::object kept = ParseObject(Api("POST", signed_path).body);
  EXPECT_NE(Str(kept, "secret"), Str(signed_source, "secret"));
  EXPECT_EQ(Str(kept, "url"), Str(signed_source, "url"));
  json::object both = ParseObject(Api("POST", signed_path, R"({"url_secret":true})").body);
  EXPECT_NE(Str(both, "secret"), Str(kept, "secret"));
  EXPECT_NE(Str(both, "url"), Str(kept, "url"));
  HttpResult bad = Api("POST", signed_path, R"({"url_secret":"yes"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
}

TEST_F(IngestE2eTest, BearerTokenIsRequiredAndCheckedAndShownOnce) {
  json::object source = CreateSource(R"({"name":"bearer","auth":{"bearer":true}})");
  std::string token = Str(source, "token");
  ASSERT_EQ(token.rfind("tdt_", 0), 0u);
  std::string path = ShortPathOf(source);  // the token makes the short path usable

  HttpResult missing = Post(path, "{}");
  EXPECT_EQ(missing.status, 401);
  ExpectErrorShape(missing, "missing_token");
  HttpResult wrong = Post(path, "{}", {{"Authorization", "Bearer tdt_wrong"}});
  EXPECT_EQ(wrong.status, 401);
  ExpectErrorShape(wrong, "invalid_token");
  EXPECT_EQ(Post(path, "{}", {{"Authorization", "Bearer " + token}}).status, 200);

  // Never shown again; rotation issues a new one and retires the old.
  HttpResult got = Api("GET", "/api/v1/sources/" + Str(source, "id"));
  EXPECT_EQ(got.body.find(token), std::string::npos);
  json::object rotated = ParseObject(Api("POST", "/api/v1/sources/" + Str(source, "id") + "/rotate").body);
  std::string new_token = Str(rotated, "token");
  ASSERT_FALSE(new_token.empty());
  EXPECT_NE(new_token, token);
  EXPECT_EQ(Post(path, "{}", {{"Authorization", "Bearer " + token}}).status, 401);
  EXPECT_EQ(Post(path, "{}", {{"Authorization", "Bearer " + new_token}}).status, 200);
}

struct HmacCase {
  const char* algorithm;
  const char* encoding;
  const char* prefix;
  crypto::DigestAlgorithm digest;
};

TEST_F(IngestE2eTest, HmacSignaturesOfEveryAlgorithmAndEncodingAreVerified) {
  const HmacCase cases[] = {
      {"sha1", "hex", "sha1=", crypto::DigestAlgorithm::kSha1},
      {"sha256", "hex", "sha256=", crypto::DigestAlgorithm::kSha256},
      {"sha256", "base64", "", crypto::DigestAlgorithm::kSha256},
      {"sha512", "hex", "", crypto::DigestAlgorithm::kSha512},
      {"sha512", "base64", "v1=", crypto::DigestAlgorithm::kSha512},
  };
  for (const HmacCase& c : cases) {
    SCOPED_TRACE(std::string(c.algorithm) + "/" + c.encoding);
    json::object spec = {{"name", "hmac"},
                         {"auth",
                          {{"hmac",
                            {{"header", "X-Signature"},
                             {"algorithm", c.algorithm},
                             {"encoding", c.encoding},
                             {"prefix", c.prefix}}}}}};
    json::object source = CreateSource(json::serialize(spec));
    std::string secret = Str(source, "secret");
    ASSERT_FALSE(secret.empty());
    std::string body = R"({"action":"opened","n":1})";
    std::string mac = crypto::Hmac(c.digest, secret, body);
    std::string encoded = std::string(c.encoding) == "hex" ? crypto::HexEncode(mac)
                                                           : crypto::Base64Encode(mac);
    std::string path = ShortPathOf(source);
    HttpResult ok = Post(path, body, {{"X-Signature", c.prefix + encoded}});
    EXPECT_EQ(ok.status, 200) << ok.body;
    HttpResult tampered = Post(path, R"({"action":"opened","n":2})",
                               {{"X-Signature", c.prefix + encoded}});
    EXPECT_EQ(tampered.status, 401) << tampered.body;
    ExpectErrorShape(tampered, "invalid_signature");
    HttpResult wrong_key = Post(
        path, body,
        {{"X-Signature",
          c.prefix + crypto::HexEncode(crypto::Hmac(c.digest, secret + "x", body))}});
    EXPECT_EQ(wrong_key.status, 401);
    HttpResult missing = Post(path, body);
    EXPECT_EQ(missing.status, 401);
    ExpectErrorShape(missing, "missing_signature");
  }
}

TEST_F(IngestE2eTest, OwnSecretCanBeGivenAndGithubPresetVerifiesAndDeduplicates) {
  json::object source = CreateSource(R"({"name":"gh","kind":"github","secret":"s3cr3t"})");
  EXPECT_FALSE(source.contains("secret"));  // the caller's own secret is not echoed
  std::string body = R"({"action":"opened","number":7})";
  Headers headers = {
      {"X-Hub-Signature-256", "sha256=" + HmacHex(crypto::DigestAlgorithm::kSha256, "s3cr3t", body)},
      {"X-GitHub-Event", "pull_request"},
      {"X-GitHub-Delivery", "delivery-1"}};
  HttpResult first = Post(ShortPathOf(source), body, headers);
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResult again = Post(ShortPathOf(source), body, headers);
  ASSERT_EQ(again.status, 200) << again.body;
  json::object a = ParseObject(first.body), b = ParseObject(again.body);
  EXPECT_TRUE(b["duplicate"].as_bool());
  EXPECT_EQ(Str(a, "event_id"), Str(b, "event_id"));

  json::object event = GetEvent(Str(a, "event_id"));
  EXPECT_EQ(Str(event, "event_type"), "pull_request");
  EXPECT_EQ(Str(event, "delivery_id"), "delivery-1");
  HttpResult list = Api("GET", "/api/v1/events?source_id=" + Str(source, "id"));
  EXPECT_EQ(ParseObject(list.body)["data"].as_array().size(), 1u) << list.body;
}

TEST_F(IngestE2eTest, StoredEventKeepsBodyHeadersAndRedactsCredentials) {
  json::object source = CreateSource(
      R"({"name":"r","auth":{"bearer":true,"hmac":{"header":"X-Custom-Mac"}},
          "delivery_id_header":"X-Request-Id"})");
  std::string body = R"({"ticket":{"id":42,"title":"Printer on fire"}})";
  std::string mac = HmacHex(crypto::DigestAlgorithm::kSha256, Str(source, "secret"), body);
  HttpResult r = Post(ShortPathOf(source), body,
                      {{"Authorization", "Bearer " + Str(source, "token")},
                       {"X-Custom-Mac", mac},
                       {"X-Request-Id", "req-77"},
                       {"X-Plain", "kept"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object event = GetEvent(Str(ParseObject(r.body), "event_id"));
  EXPECT_EQ(json::serialize(event["payload"]), body);
  EXPECT_EQ(Str(event, "delivery_id"), "req-77");
  EXPECT_EQ(Str(event, "content_type"), "application/json");
  EXPECT_EQ(Str(event, "verification"), "bearer+hmac");
  EXPECT_EQ(Str(event, "remote_addr"), "127.0.0.1");
  const auto& headers = event["headers"].as_object();
  EXPECT_EQ(Str(headers, "Authorization"), "[redacted]");
  EXPECT_EQ(Str(headers, "X-Custom-Mac"), "[redacted]");
  EXPECT_EQ(Str(headers, "X-Plain"), "kept");
  EXPECT_EQ(Api("GET", "/api/v1/events/" + Str(event, "id")).body.find(mac), std::string::npos);
}

// A header value may carry bytes that are not UTF-8 (HTTP's obs-text); the event's JSON must
// still be valid UTF-8 for strict clients: each such byte reads back as U+FFFD.
TEST_F(IngestE2eTest, HeaderBytesThatAreNotUtf8ComeBackAsReplacementCharacters) {
  json::object source = CreateSource(R"({"name":"u","auth":{"bearer":true}})");
  HttpResult r = Post(ShortPathOf(source), "{}",
                      {{"Authorization", "Bearer " + Str(source, "token")},
                       {"X-Odd", "a\xff\xfe b \xc3\xa9"}});
  ASSERT_EQ(r.status, 200) << r.body;
  HttpResult shown = Api("GET", "/api/v1/events/" + Str(ParseObject(r.body), "event_id"));
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_EQ(shown.body.find("\xff"), std::string::npos);
  json::object event = ParseObject(shown.body);  // fails on invalid UTF-8
  EXPECT_EQ(Str(event["headers"].as_object(), "X-Odd"), "a\xef\xbf\xbd\xef\xbf\xbd b \xc3\xa9");
}

// The event's payload comes back as the sender's text: numbers beyond a double's range or
// precision keep their spelling, and the answer stays JSON that any parser reads (Boost.JSON
// 1.81 would write 1e400 as Infinity).
TEST_F(IngestE2eTest, EventPayloadKeepsTheSendersNumbersAndStaysValidJson) {
  json::object source = CreateSource(R"({"name":"numbers"})");
  const std::string body =
      R"({"big":1e400,"neg":-1e400,"zero":0.0e4300,"id":123456789012345678901234567890,)"
      R"("price":0.10,"text":"Infinity NaN \"Infinity\""})";
  HttpResult r = Post(PathOf(source), body);
  ASSERT_EQ(r.status, 200) << r.body;
  HttpResult got = Api("GET", "/api/v1/events/" + Str(ParseObject(r.body), "event_id"));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_NE(got.body.find(",\"payload\":" + body), std::string::npos) << got.body;
  // No bare non-finite token: every letter outside strings belongs to true, false or null.
  bool in_string = false;
  for (size_t i = 0; i < got.body.size(); ++i) {
    const char c = got.body[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else {
      EXPECT_TRUE(std::string("IN").find(c) == std::string::npos) << got.body.substr(i, 20);
    }
  }
  json::object event = ParseObject(got.body);
  EXPECT_EQ(Str(event["payload"].as_object(), "text"), "Infinity NaN \"Infinity\"");
}

TEST_F(IngestE2eTest, MethodOtherThanPostIs405WithAllowAfterLookup) {
  json::object source = CreateSource(R"({"name":"m"})");
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    HttpResult r = client_->Send(method, PathOf(source));
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(r.Header("Allow"), "POST");
    ExpectErrorShape(r, "method_not_allowed");
  }
  // Lookup comes first: an unknown source is 404 whatever the method.
  EXPECT_EQ(client_->Send("GET", "/api/v1/w/ws_x/triggers/hooks/src_x").status, 404);
}

TEST_F(IngestE2eTest, BodyLimitHoldsAtLimitAndRefusesOneByteMoreAndChunked) {
  json::object source = CreateSource(R"({"name":"size"})");
  const size_t limit = 1024 * 1024;
  auto body_of = [](size_t size) {
    std::string b = R"({"a":")";
    b.append(size - b.size() - 2, 'x');
    return b + "\"}";
  };
  HttpResult at = Post(PathOf(source), body_of(limit));
  EXPECT_EQ(at.status, 200) << at.body.substr(0, 200);
  HttpResult over = Post(PathOf(source), body_of(limit + 1));
  EXPECT_EQ(over.status, 413);
  ExpectErrorShape(over, "payload_too_large");
  HttpResult chunked = client_->SendChunked("POST", PathOf(source), body_of(limit + 1), 64 * 1024,
                                            {{"Content-Type", "application/json"}});
  EXPECT_EQ(chunked.status, 413) << chunked.error;
  HttpResult chunked_ok = client_->SendChunked("POST", PathOf(source), body_of(1000), 100,
                                               {{"Content-Type", "application/json"}});
  EXPECT_EQ(chunked_ok.status, 200) << chunked_ok.body;

  // A source's own limit.
  HttpResult patched = Api("PATCH", "/api/v1/sources/" + Str(source, "id"),
                           R"({"max_body_bytes":100})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Post(PathOf(source), body_of(100)).status, 200);
  EXPECT_EQ(Post(PathOf(source), body_of(101)).status, 413);
}

TEST_F(IngestE2eTest, DisabledSourceAndForeignAddressesAndOriginsAre403) {
  json::object source = CreateSource(R"({"name":"gate","enabled":false})");
  std::string id = Str(source, "id");
  HttpResult disabled = Post(PathOf(source), "{}");
  EXPECT_EQ(disabled.status, 403);
  ExpectErrorShape(disabled, "source_disabled");

  ASSERT_EQ(Api("PATCH", "/api/v1/sources/" + id,
                R"({"enabled":true,"allowed_ips":["10.0.0.0/8","2001:db8::/32"]})").status,
            200);
  HttpResult foreign = Post(PathOf(source), "{}");
  EXPECT_EQ(foreign.status, 403);
  ExpectErrorShape(foreign, "ip_not_allowed");
  ASSERT_EQ(Api("PATCH", "/api/v1/sources/" + id, R"({"allowed_ips":["127.0.0.0/8"]})").status,
            200);
  EXPECT_EQ(Post(PathOf(source), "{}").status, 200);

  ASSERT_EQ(Api("PATCH", "/api/v1/sources/" + id,
                R"({"allowed_origins":["https://example.com"]})").status,
            200);
  HttpResult no_origin = Post(PathOf(source), "{}");
  EXPECT_EQ(no_origin.status, 403);
  ExpectErrorShape(no_origin, "origin_not_allowed");
  EXPECT_EQ(Post(PathOf(source), "{}", {{"Origin", "https://evil.example"}}).status, 403);
  HttpResult from_page = Post(PathOf(source), "{}", {{"Origin", "https://example.com"}});
  EXPECT_EQ(from_page.status, 200);
  // The page may read the answer (CORS), and its browser's preflight is answered.
  EXPECT_EQ(from_page.Header("Access-Control-Allow-Origin"), "https://example.com");
  HttpResult preflight =
      client_->Send("OPTIONS", PathOf(source), "",
                    {{"Origin", "https://example.com"},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "content-type, x-signature"}});
  EXPECT_EQ(preflight.status, 204) << preflight.body;
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Origin"), "https://example.com");
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Headers"), "content-type, x-signature");
  HttpResult foreign_preflight = client_->Send("OPTIONS", PathOf(source), "",
                                               {{"Origin", "https://evil.example"},
                                                {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(foreign_preflight.status, 403);
  EXPECT_EQ(foreign_preflight.Header("Access-Control-Allow-Origin"), "");
  // A source that allows no origins takes no preflight: no browser page posts to it.
  json::object plain = CreateSource(R"({"name":"no-origins"})");
  EXPECT_EQ(client_->Send("OPTIONS", PathOf(plain), "", {{"Origin", "https://example.com"}}).status,
            405);
  EXPECT_EQ(Post(PathOf(plain), "{}", {{"Origin", "https://example.com"}})
                .Header("Access-Control-Allow-Origin"),
            "");

  EXPECT_EQ(Api("PATCH", "/api/v1/sources/" + id, R"({"allowed_ips":["not-an-ip"]})").status, 400);
}

TEST_F(IngestE2eTest, BodiesThatAreNotJsonObjectsOrFormsAreRefused) {
  json::object source = CreateSource(R"({"name":"bodies"})");
  std::string path = PathOf(source);
  HttpResult bad_json = Post(path, "{not json");
  EXPECT_EQ(bad_json.status, 400);
  ExpectErrorShape(bad_json, "invalid_body");
  EXPECT_EQ(Post(path, "42").status, 400);
  EXPECT_EQ(Post(path, "\"text\"").status, 400);
  HttpResult empty = Post(path, "");
  EXPECT_EQ(empty.status, 400);
  HttpResult xml = Post(path, "<a/>", {{"Content-Type", "application/xml"}});
  EXPECT_EQ(xml.status, 415);
  ExpectErrorShape(xml, "unsupported_media_type");
  EXPECT_EQ(Post(path, R"([{"a":1}])").status, 200);
  EXPECT_EQ(Post(path, R"({"a":1})", {{"Content-Type", "application/vnd.api+json"}}).status, 200);

  // GitHub's form delivery: the JSON document is the `payload` field.
  std::string form = "payload=%7B%22action%22%3A%22opened%22%2C%22n%22%3A1%7D";
  HttpResult r = Post(path, form, {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json::object event = GetEvent(Str(ParseObject(r.body), "event_id"));
  EXPECT_EQ(json::serialize(event["payload"]), R"({"action":"opened","n":1})");
  HttpResult bad_form = Post(path, "payload=%7Bnot", {{"Content-Type",
                                                        "application/x-www-form-urlencoded"}});
  EXPECT_EQ(bad_form.status, 400);
  // Other forms (Slack commands, Twilio) become an object of their fields.
  HttpResult fields = Post(path, "text=hello+world&user=u1",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(fields.status, 200);
  event = GetEvent(Str(ParseObject(fields.body), "event_id"));
  EXPECT_EQ(Str(event["payload"].as_object(), "text"), "hello world");
}

TEST_F(IngestE2eTest, EventsPageNewestFirstWithCursorAndFilters) {
  json::object a = CreateSource(R"({"name":"a"})");
  json::object b = CreateSource(R"({"name":"b"})");
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    HttpResult r = Post(PathOf(i % 2 ? b : a), "{\"i\":" + std::to_string(i) + "}");
    ASSERT_EQ(r.status, 200);
    ids.push_back(Str(ParseObject(r.body), "event_id"));
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    HttpResult r = Api("GET", "/api/v1/events?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    json::object page = ParseObject(r.body);
    for (const auto& e : page["data"].as_array()) seen.push_back(Str(e.as_object(), "id"));
    cursor = page["next_cursor"].is_string() ? std::string(page["next_cursor"].as_string()) : "";
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, newest_first);

  HttpResult only_b = Api("GET", "/api/v1/events?source_id=" + Str(b, "id"));
  EXPECT_EQ(ParseObject(only_b.body)["data"].as_array().size(), 3u);
  HttpResult future = Api("GET", "/api/v1/events?since=2999-01-01T00:00:00Z");
  EXPECT_EQ(ParseObject(future.body)["data"].as_array().size(), 0u);
  HttpResult past = Api("GET", "/api/v1/events?until=2000-01-01T00:00:00Z");
  EXPECT_EQ(ParseObject(past.body)["data"].as_array().size(), 0u);
  EXPECT_EQ(Api("GET", "/api/v1/events?since=yesterday").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/events?limit=-1").status, 400);
}

TEST_F(IngestE2eTest, RolesAndWorkspacesAreEnforced) {
  HttpResult created = Api("POST", "/api/v1/keys", R"({"name":"reader","role":"user"})");
  ASSERT_EQ(created.status, 201) << created.body;
  json::object reader = ParseObject(created.body);
  std::string reader_key = Str(reader, "key");
  EXPECT_EQ(reader_key.substr(0, 12), Str(reader, "prefix"));

  HttpResult listed = Api("GET", "/api/v1/keys");
  EXPECT_EQ(listed.body.find(reader_key), std::string::npos);  // never listed in full
  EXPECT_NE(listed.body.find(Str(reader, "id")), std::string::npos);

  HttpResult denied = Api("POST", "/api/v1/sources", R"({"name":"x"})", reader_key);
  EXPECT_EQ(denied.status, 403);
  ExpectErrorShape(denied, "insufficient_role");
  json::object source = CreateSource(R"({"name":"mine"})");
  EXPECT_EQ(Api("GET", "/api/v1/sources/" + Str(source, "id"), "", reader_key).status, 200);
  EXPECT_EQ(Api("DELETE", "/api/v1/sources/" + Str(source, "id"), "", reader_key).status, 403);

  // Another workspace cannot learn that this source exists.
  HttpResult ws = Api("POST", "/api/v1/workspaces", R"({"name":"other"})");
  ASSERT_EQ(ws.status, 201) << ws.body;
  std::string other_admin = Str(ParseObject(ws.body), "admin_key");
  HttpResult foreign = Api("GET", "/api/v1/sources/" + Str(source, "id"), "", other_admin);
  HttpResult missing = Api("GET", "/api/v1/sources/src_doesnotexist", "", other_admin);
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(foreign.body, missing.body);
  EXPECT_EQ(Api("PATCH", "/api/v1/sources/" + Str(source, "id"), R"({"enabled":false})",
                other_admin).status,
            404);
  EXPECT_EQ(ParseObject(Api("GET", "/api/v1/sources", "", other_admin).body)["data"].as_array().size(),
            0u);

  // A revoked key stops working at once.
  EXPECT_EQ(Api("DELETE", "/api/v1/keys/" + Str(reader, "id")).status, 204);
  HttpResult revoked = Api("GET", "/api/v1/me", "", reader_key);
  EXPECT_EQ(revoked.status, 401);
  ExpectErrorShape(revoked, "invalid_api_key");
  HttpResult none = client_->Send("GET", "/api/v1/sources");
  EXPECT_EQ(none.status, 401);
  ExpectErrorShape(none, "missing_api_key");

  // The workspace's last admin key cannot be revoked (nobody could manage it any more); once
  // there is another admin key, it can.
  const std::string other_admin_id =
      Str(ParseObject(Api("GET", "/api/v1/me", "", other_admin).body), "key_id");
  HttpResult last = Api("DELETE", "/api/v1/keys/" + other_admin_id, "", other_admin);
  EXPECT_EQ(last.status, 409) << last.body;
  ExpectErrorShape(last, "last_admin_key");
  EXPECT_EQ(Api("GET", "/api/v1/me", "", other_admin).status, 200);
  HttpResult second =
      Api("POST", "/api/v1/keys", R"({"name":"second","role":"admin"})", other_admin);
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(Api("DELETE", "/api/v1/keys/" + other_admin_id, "", other_admin).status, 204);
  EXPECT_EQ(Api("GET", "/api/v1/me", "", Str(ParseObject(second.body), "key")).status, 200);
}

TEST_F(IngestE2eTest, BadManagementInputGetsPreciseErrors) {
  EXPECT_EQ(Api("POST", "/api/v1/sources", "not json").status, 400);
  EXPECT_EQ(Api("POST", "/api/v1/sources", "[]").status, 400);
  HttpResult unknown = Api("POST", "/api/v1/sources", R"({"name":"x","colour":"red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("colour"), std::string::npos);
  HttpResult bad_alg = Api("POST", "/api/v1/sources",
                           R"({"name":"x","auth":{"hmac":{"header":"X","algorithm":"md5"}}})");
  EXPECT_EQ(bad_alg.status, 400);
  EXPECT_NE(bad_alg.body.find("algorithm"), std::string::npos) << bad_alg.body;
  EXPECT_EQ(Api("POST", "/api/v1/sources", R"({"name":"x","kind":"nope"})").status, 400);
  EXPECT_EQ(Api("POST", "/api/v1/sources", R"({"name":""})").status, 400);
  EXPECT_EQ(Api("POST", "/api/v1/keys", R"({"name":"k","role":"god"})").status, 400);
  EXPECT_EQ(Api("GET", "/api/v1/nothing").status, 404);
  EXPECT_EQ(Api("DELETE", "/api/v1/sources/src_nope").status, 404);
}

TEST_F(IngestE2eTest, FilterCheckAndEvalAnswerWithPositionsAndExplanations) {
  HttpResult ok = Api("POST", "/api/v1/filters/check", R"j({"filter":"(eq \"action\" \"opened\")"})j");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"ok\":true}\n");
  // Compiles, never matches: a warning with its place (Dust's filters keep compiling).
  HttpResult listed =
      Api("POST", "/api/v1/filters/check", R"j({"filter":"(eq \"action\" (\"opened\" \"closed\"))"})j");
  ASSERT_EQ(listed.status, 200);
  json::object listed_answer = ParseObject(listed.body);
  EXPECT_TRUE(listed_answer["ok"].as_bool());
  ASSERT_EQ(listed_answer["warnings"].as_array().size(), 1u) << listed.body;
  EXPECT_NE(listed.body.find("1:1: eq with a list never matches"), std::string::npos);
  HttpResult bad = Api("POST", "/api/v1/filters/check", R"j({"filter":"(eqq \"a\" 1)"})j");
  ASSERT_EQ(bad.status, 200);
  json::object answer = ParseObject(bad.body);
  EXPECT_FALSE(answer["ok"].as_bool());
  EXPECT_EQ(answer["error"].as_object()["line"].as_int64(), 1);
  EXPECT_EQ(answer["error"].as_object()["column"].as_int64(), 2);

  HttpResult eval = Api("POST", "/api/v1/filters/eval",
                        R"j({"filter":"(and (eq \"action\" \"opened\") (gt \"n\" 20))",
                            "payload":{"action":"opened","n":25}})j");
  ASSERT_EQ(eval.status, 200) << eval.body;
  json::object result = ParseObject(eval.body);
  EXPECT_TRUE(result["result"].as_bool());
  EXPECT_TRUE(result["explanation"].as_object()["result"].as_bool());
  HttpResult invalid = Api("POST", "/api/v1/filters/eval", R"j({"filter":"(and","payload":{}})j");
  EXPECT_EQ(invalid.status, 400);
  ExpectErrorShape(invalid, "invalid_filter");
  EXPECT_TRUE(ParseObject(invalid.body)["error"].as_object().contains("line"));
  EXPECT_EQ(client_->Send("POST", "/api/v1/filters/check", "{}").status, 401);
}

TEST_F(IngestE2eTest, SigtermStopsGracefullyWithExitCodeZero) {
  json::object source = CreateSource(R"({"name":"s"})");
  ASSERT_EQ(Post(PathOf(source), "{}").status, 200);
  EXPECT_EQ(process_->Stop(), 0);
  EXPECT_NE(process_->Output().find("stopped"), std::string::npos);
}

// Rate limits through the real binary: a source beyond its bucket gets 429 with Retry-After,
// another source of the workspace does not.
TEST(IngestRateLimitE2eTest, ASourceBeyondItsRateGets429WithRetryAfter) {
  TempDir dir;
  const auto config = dir.path() / "triggerd.yaml";
  std::ofstream(config) << "source_rate_limit: 0.5\nsource_rate_burst: 2\n";
  TriggerdProcess process(dir.path() / "data", {"--config", config.string()});
  ASSERT_TRUE(process.Start()) << process.error();
  HttpClient client("127.0.0.1", process.port());
  const Headers auth = {{"Authorization", "Bearer " + process.AdminKey()}};
  auto path_of = [&](const std::string& name) {
    HttpResult r = client.Send("POST", "/api/v1/sources", R"({"name":")" + name + R"("})", auth);
    EXPECT_EQ(r.status, 201) << r.body;
    std::string url = Str(ParseObject(r.body), "url");
    return url.substr(url.find("/api/v1/w/"));
  };
  const std::string noisy = path_of("noisy"), quiet = path_of("quiet");
  const Headers json_type = {{"Content-Type", "application/json"}};
  EXPECT_EQ(client.Send("POST", noisy, R"({"n":1})", json_type).status, 200);
  EXPECT_EQ(client.Send("POST", noisy, R"({"n":2})", json_type).status, 200);
  HttpResult limited = client.Send("POST", noisy, R"({"n":3})", json_type);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(limited.Header("Retry-After"), "2");
  ExpectErrorShape(limited, "rate_limited");
  EXPECT_EQ(client.Send("POST", quiet, R"({"n":1})", json_type).status, 200);
}

}  // namespace
}  // namespace triggerd
