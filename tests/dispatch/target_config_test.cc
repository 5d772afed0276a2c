// ParseTargetConfig / TargetConfigToJson / MakeTarget validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/redact.h"
#include "dispatch/target.h"
#include "test_util.h"

namespace triggerd::dispatch {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<TargetConfig> Parse(std::string_view json) { return ParseTargetConfigText(json); }

// The error message of parsing `json`, or "" when it parsed.
std::string ErrorOf(std::string_view json) {
  auto r = Parse(json);
  if (r) return "";
  EXPECT_EQ(r.error().type(), ErrorType::kInvalidArgument);
  return r.error().message();
}

TEST(TargetConfigTest, ParsesHttpTargetAndFillsDefaults) {
  auto r = Parse(R"({"type":"http","url":"https://agent.example/hook"})");
  ASSERT_OK(r);
  EXPECT_EQ(r->type, TargetType::kHttp);
  EXPECT_EQ(r->http.url, "https://agent.example/hook");
  EXPECT_TRUE(r->http.headers.empty());
  EXPECT_EQ(r->http.timeout_ms, 30'000);
  EXPECT_EQ(TargetTimeoutMs(*r), 30'000);
}

TEST(TargetConfigTest, ParsesHttpHeadersInOrder) {
  auto r = Parse(R"({"type":"http","url":"http://10.0.0.1:8080/x?y=1","timeout_ms":1500,
                     "headers":{"Authorization":"Bearer t","X-B":"2","X-A":""}})");
  ASSERT_OK(r);
  ASSERT_EQ(r->http.headers.size(), 3u);
  EXPECT_EQ(r->http.headers[0],
            std::make_pair(std::string("Authorization"), std::string("Bearer t")));
  EXPECT_EQ(r->http.headers[1].first, "X-B");
  EXPECT_EQ(r->http.headers[2].first, "X-A");
  EXPECT_EQ(r->http.headers[2].second, "");
  EXPECT_EQ(r->http.timeout_ms, 1500);
}

TEST(TargetConfigTest, RedactionHidesHeaderValuesTheUrlUserInfoAndQuery) {
  auto r = Parse(R"({"type":"http","url":"https://bot:pa55@agent.example/hook?key=k3y&flag",
                     "headers":{"Authorization":"Bearer t","X-Team":"blue"}})");
  ASSERT_OK(r);
  TargetConfig shown = RedactTargetConfig(*r);
  // The user name and a key without a value too (issue 18, item 13).
  EXPECT_EQ(shown.http.url, "https://redacted:redacted@agent.example/hook?key=redacted&redacted");
  ASSERT_EQ(shown.http.headers.size(), 2u);
  EXPECT_EQ(shown.http.headers[0].first, "Authorization");
  EXPECT_EQ(shown.http.headers[0].second, kRedacted);
  EXPECT_EQ(shown.http.headers[1].second, kRedacted);
  // Nothing to redact: the URL as it is; other target types as they are.
  auto plain = Parse(R"({"type":"http","url":"https://agent.example/hook?a="})");
  ASSERT_OK(plain);
  EXPECT_EQ(RedactTargetConfig(*plain).http.url, "https://agent.example/hook?a=");
  auto command = Parse(R"({"type":"command","argv":["/bin/cat","--token=x"]})");
  ASSERT_OK(command);
  EXPECT_EQ(RedactTargetConfig(*command), *command);
}

TEST(TargetConfigTest, RedactedValuesSentBackKeepTheStoredOnes) {
  auto stored = Parse(R"({"type":"http","url":"https://bot:pa55@agent.example/hook?key=k3y",
                          "headers":{"Authorization":"Bearer t","X-Team":"blue"}})");
  ASSERT_OK(stored);
  // Read from the API, edited (a header changed, one added, the name's case changed, the path
  // and the query extended), sent back.
  TargetConfig edited = RedactTargetConfig(*stored);
  edited.http.headers[0].first = "authorization";
  edited.http.headers[1].second = "red";
  edited.http.headers.push_back({"X-New", "1"});
  edited.http.url = "https://bot:redacted@agent.example/hook/v2?key=redacted&mode=fast";
  auto restored = RestoreRedactedValues(edited, *stored);
  ASSERT_OK(restored);
  EXPECT_EQ(restored->http.url, "https://bot:pa55@agent.example/hook/v2?key=k3y&mode=fast");
  ASSERT_EQ(restored->http.headers.size(), 3u);
  EXPECT_EQ(restored->http.headers[0].second, "Bearer t");
  EXPECT_EQ(restored->http.headers[1].second, "red");
  EXPECT_EQ(restored->http.headers[2].second, "1");
  // "[redacted]" for a header with no stored value (or a new agent) is refused, naming it.
  TargetConfig extra = edited;
  extra.http.headers.push_back({"X-Other", std::string(kRedacted)});
  auto refused = RestoreRedactedValues(extra, *stored);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), StartsWith("target.headers.X-Other: "));
  EXPECT_FALSE(RestoreRedactedValues(RedactTargetConfig(*stored), std::nullopt).has_value());
}

// A builder may read an agent but not its credentials, so pointing the agent at a server of
// theirs must not carry the stored credentials there.
TEST(TargetConfigTest, StoredCredentialsAreNeverRestoredForAnotherOrigin) {
  auto stored = Parse(R"({"type":"http","url":"https://bot:pa55@agent.example/hook?key=k3y",
                          "headers":{"Authorization":"Bearer t"}})");
  ASSERT_OK(stored);
  TargetConfig moved = RedactTargetConfig(*stored);
  moved.http.url = "https://collector.example/hook";
  auto refused = RestoreRedactedValues(moved, *stored);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message(), StartsWith("target.headers.Authorization: "));
  EXPECT_THAT(refused.error().message(), HasSubstr("another origin"));
  // Another port or scheme is another origin too; the URL's own markers likewise.
  moved.http.headers[0].second = "Bearer new";
  for (const char* url : {"https://bot:redacted@agent.example:8443/hook",
                          "http://agent.example/hook?key=redacted"}) {
    moved.http.url = url;
    refused = RestoreRedactedValues(moved, *stored);
    ASSERT_FALSE(refused.has_value()) << url;
    EXPECT_THAT(refused.error().message(), StartsWith("target.url: ")) << url;
  }
  // With the values themselves, the move is fine.
  moved.http.url = "https://collector.example/hook?key=other";
  ASSERT_OK(RestoreRedactedValues(moved, *stored));
}

TEST(TargetConfigTest, ParsesCommandTargetAndFillsDefaults) {
  auto r = Parse(R"({"type":"command","argv":["/usr/bin/agent","--flag","a b"]})");
  ASSERT_OK(r);
  EXPECT_EQ(r->type, TargetType::kCommand);
  EXPECT_EQ(r->command.argv, (std::vector<std::string>{"/usr/bin/agent", "--flag", "a b"}));
  EXPECT_EQ(r->command.cwd, "");
  EXPECT_EQ(r->command.timeout_ms, 60'000);
}

TEST(TargetConfigTest, ParsesLlmTargetAndFillsDefaults) {
  auto r = Parse(R"({"type":"llm","base_url":"https://api.openai.com/v1","model":"gpt-4o-mini",
                     "api_key_env":"OPENAI_API_KEY"})");
  ASSERT_OK(r);
  EXPECT_EQ(r->type, TargetType::kLlm);
  EXPECT_EQ(r->llm.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(r->llm.model, "gpt-4o-mini");
  EXPECT_EQ(r->llm.api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(r->llm.timeout_ms, 120'000);
  auto none = Parse(R"({"type":"llm","base_url":"http://127.0.0.1:11434/v1/","model":"llama3"})");
  ASSERT_OK(none);
  EXPECT_EQ(none->llm.api_key_env, "");
}

TEST(TargetConfigTest, NullOptionalFieldsMeanTheirDefaults) {
  auto r = Parse(R"({"type":"command","argv":["/bin/true"],"cwd":null,"timeout_ms":null})");
  ASSERT_OK(r);
  EXPECT_EQ(r->command.timeout_ms, 60'000);
  EXPECT_OK(Parse(R"({"type":"http","url":"http://a/","headers":null})"));
  EXPECT_OK(Parse(R"({"type":"llm","base_url":"http://a","model":"m","api_key_env":null})"));
}

TEST(TargetConfigTest, CanonicalJsonRoundTrips) {
  const std::string_view cases[] = {
      R"({"type":"http","url":"https://a.example/h","headers":{"X-Token":"abc","X-E":""},
          "timeout_ms":5})",
      R"({"type":"http","url":"http://a"})",
      R"({"type":"command","argv":["/bin/agent","x; rm -rf /"],"cwd":"/srv/agent",
          "timeout_ms":3600000})",
      R"({"type":"llm","base_url":"https://api.example/v1","model":"m","api_key_env":"K_1",
          "timeout_ms":1})",
  };
  for (std::string_view json : cases) {
    SCOPED_TRACE(json);
    auto first = Parse(json);
    ASSERT_OK(first);
    const boost::json::object canonical = TargetConfigToJson(*first);
    auto second = ParseTargetConfig(canonical);
    ASSERT_OK(second);
    EXPECT_EQ(*first, *second);
    EXPECT_EQ(TargetConfigToJson(*second), canonical);
  }
}

TEST(TargetConfigTest, CanonicalJsonHasEveryField) {
  auto r = Parse(R"({"type":"http","url":"http://a/"})");
  ASSERT_OK(r);
  EXPECT_EQ(boost::json::serialize(TargetConfigToJson(*r)),
            R"({"type":"http","url":"http://a/","headers":{},"timeout_ms":30000})");
  auto c = Parse(R"({"type":"command","argv":["/x"]})");
  ASSERT_OK(c);
  EXPECT_EQ(boost::json::serialize(TargetConfigToJson(*c)),
            R"({"type":"command","argv":["/x"],"cwd":"","timeout_ms":60000})");
  auto l = Parse(R"({"type":"llm","base_url":"http://a","model":"m"})");
  ASSERT_OK(l);
  EXPECT_EQ(
      boost::json::serialize(TargetConfigToJson(*l)),
      R"({"type":"llm","base_url":"http://a","model":"m","api_key_env":"","timeout_ms":120000})");
}

TEST(TargetConfigTest, RefusesWhatIsNotATargetObject) {
  EXPECT_THAT(ErrorOf("[]"), HasSubstr("target: must be an object"));
  EXPECT_THAT(ErrorOf("{"), HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf(R"({"url":"http://a"})"), StartsWith("target.type: is required"));
  EXPECT_THAT(ErrorOf(R"({"type":"smtp"})"), StartsWith("target.type: must be one of"));
  EXPECT_THAT(ErrorOf(R"({"type":7})"), StartsWith("target.type: must be one of"));
}

TEST(TargetConfigTest, RefusesUnknownFieldsNamingThem) {
  EXPECT_THAT(ErrorOf(R"({"type":"http","url":"http://a","timeout":5})"),
              StartsWith("target.timeout: is not a field of an http target"));
  // A field of another kind is unknown too.
  EXPECT_THAT(ErrorOf(R"({"type":"http","url":"http://a","argv":["/x"]})"),
              StartsWith("target.argv: is not a field"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["/x"],"url":"http://a"})"),
              StartsWith("target.url: is not a field of a command target"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a","model":"m","headers":{}})"),
              StartsWith("target.headers: is not a field of an llm target"));
}

TEST(TargetConfigTest, RefusesMissingRequiredFields) {
  EXPECT_THAT(ErrorOf(R"({"type":"http"})"), StartsWith("target.url: is required"));
  EXPECT_THAT(ErrorOf(R"({"type":"command"})"), StartsWith("target.argv: is required"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","model":"m"})"), StartsWith("target.base_url: is required"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a"})"),
              StartsWith("target.model: is required"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a","model":""})"),
              StartsWith("target.model: is required"));
}

TEST(TargetConfigTest, TimeoutIsBoundedAtBothEnds) {
  auto with = [](std::string t) {
    return R"({"type":"http","url":"http://a","timeout_ms":)" + t + "}";
  };
  EXPECT_OK(Parse(with("1")));
  EXPECT_OK(Parse(with("3600000")));
  for (std::string bad : {"0", "-1", "3600001", "18446744073709551615", "99999999999999"}) {
    EXPECT_EQ(ErrorOf(with(bad)), "target.timeout_ms: must be between 1 and 3600000") << bad;
  }
  for (std::string bad : {"1.5", "\"100\"", "true", "[]"}) {
    EXPECT_EQ(ErrorOf(with(bad)), "target.timeout_ms: must be an integer number of milliseconds")
        << bad;
  }
}

TEST(TargetConfigTest, UrlMustBeHttpOrHttpsWithAHost) {
  auto with = [](std::string url) { return R"({"type":"http","url":")" + url + "\"}"; };
  EXPECT_OK(Parse(with("HTTPS://Agent.Example:8443/a/b?c=d")));
  EXPECT_OK(Parse(with("http://[::1]:9000/")));
  for (std::string bad : {"", "ftp://a/x", "file:///etc/passwd", "/relative", "agent.example/x",
                          "http://", "http:///path", "http://a b/", "gopher://a"}) {
    EXPECT_THAT(ErrorOf(with(bad)), StartsWith("target.url: ")) << bad;
  }
  // Boost.URL reads these, libcurl's parser (what the transfer uses) does not (issue 18, item 16).
  for (std::string bad : {"http://h:18399.evil/", "http://h:99999/", "http://a:b:c/"}) {
    EXPECT_THAT(ErrorOf(with(bad)), StartsWith("target.url: is not a URL libcurl can use"))
        << bad;
  }
  EXPECT_THAT(ErrorOf(R"({"type":"http","url":5})"), StartsWith("target.url: must be a string"));
  EXPECT_THAT(ErrorOf(with("http://a/" + std::string(9000, 'x'))),
              HasSubstr("at most 8192 characters"));
}

TEST(TargetConfigTest, RefusesReservedAndMalformedHeaders) {
  auto with = [](std::string headers) {
    return R"({"type":"http","url":"http://a","headers":)" + headers + "}";
  };
  for (std::string name :
       {"Host", "content-length", "Transfer-Encoding", "Connection", "Expect", "webhook-id",
        "Webhook-Signature", "WEBHOOK-TIMESTAMP", "X-Triggerd-Attempt"}) {
    EXPECT_THAT(ErrorOf(with(R"({")" + name + R"(":"v"})")),
                StartsWith("target.headers." + name + ": cannot be set"))
        << name;
  }
  EXPECT_THAT(ErrorOf(with(R"({"X-A":"a\r\nX-Injected: 1"})")),
              StartsWith("target.headers.X-A: must not contain control characters"));
  EXPECT_THAT(ErrorOf(with(R"({"X-A":"a\nb"})")), HasSubstr("control characters"));
  EXPECT_THAT(ErrorOf(with(R"({"X-A":"a\u0000b"})")), HasSubstr("control characters"));
  EXPECT_THAT(ErrorOf(with(R"({"Bad Name":"v"})")),
              StartsWith("target.headers.Bad Name: is not a header name"));
  EXPECT_THAT(ErrorOf(with(R"({"X:Y":"v"})")), HasSubstr("is not a header name"));
  EXPECT_THAT(ErrorOf(with(R"({"":"v"})")), HasSubstr("1 to 128 characters"));
  EXPECT_THAT(ErrorOf(with(R"({"X-A":"1","x-a":"2"})")), HasSubstr("is given twice"));
  EXPECT_THAT(ErrorOf(with(R"({"X-A":1})")), StartsWith("target.headers.X-A: must be a string"));
  EXPECT_THAT(ErrorOf(with(R"(["X-A: 1"])")), StartsWith("target.headers: must be an object"));
  // Non-ASCII values (obs-text) and tabs pass; values are not otherwise judged.
  EXPECT_OK(Parse(with(R"({"X-A":"caf\u00e9\tok"})")));
  // Authorization, Content-Type and User-Agent are the agent's business.
  EXPECT_OK(Parse(with(R"({"Authorization":"Bearer x", "User-Agent":"me",
                            "Content-Type":"application/cloudevents+json"})")));
}

TEST(TargetConfigTest, HeaderCountIsLimited) {
  auto headers = [](int n) {
    boost::json::object headers;
    for (int i = 0; i < n; ++i) headers["X-" + std::to_string(i)] = "v";
    return boost::json::serialize(boost::json::object{
        {"type", "http"}, {"url", "http://a"}, {"headers", std::move(headers)}});
  };
  EXPECT_OK(Parse(headers(64)));
  EXPECT_THAT(ErrorOf(headers(65)), StartsWith("target.headers: at most 64"));
}

TEST(TargetConfigTest, CommandArgvMustStartWithAnAbsolutePath) {
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":[]})"), StartsWith("target.argv: must hold"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["agent"]})"),
              StartsWith("target.argv[0]: must be an absolute path"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["./agent"]})"),
              StartsWith("target.argv[0]: must be an absolute path"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["/bin/x", 3]})"),
              StartsWith("target.argv[1]: must be a string"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["/bin/x", "a\u0000b"]})"),
              StartsWith("target.argv[1]: must not contain a NUL"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":"/bin/x"})"),
              StartsWith("target.argv: must be an array"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["/bin/x"],"cwd":"srv"})"),
              StartsWith("target.cwd: must be an absolute path"));
  EXPECT_THAT(ErrorOf(R"({"type":"command","argv":["/bin/x"],"cwd":7})"),
              StartsWith("target.cwd: must be a string"));
}

TEST(TargetConfigTest, LlmFieldsAreChecked) {
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a/v1?x=1","model":"m"})"),
              StartsWith("target.base_url: must not have a query"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"ftp://a","model":"m"})"),
              StartsWith("target.base_url: must be an http"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a","model":"m","api_key_env":"1KEY"})"),
              StartsWith("target.api_key_env: must be an environment variable name"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a","model":"m","api_key_env":"A=B"})"),
              StartsWith("target.api_key_env:"));
  EXPECT_THAT(ErrorOf(R"({"type":"llm","base_url":"http://a","model":"a\nb"})"),
              StartsWith("target.model: must be at most 256 printable"));
  EXPECT_THAT(
      ErrorOf(R"({"type":"llm","base_url":"http://a","model":")" + std::string(257, 'm') + "\"}"),
      StartsWith("target.model:"));
}

TEST(TargetConfigTest, MakeTargetRefusesConfigsBuiltInCode) {
  TargetConfig config;
  config.type = TargetType::kHttp;
  auto r = MakeTarget(config);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().type(), ErrorType::kInvalidArgument);
  EXPECT_THAT(r.error().message(), StartsWith("target.url: is required"));

  config.type = TargetType::kCommand;
  config.command.argv = {"relative"};
  r = MakeTarget(config);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), StartsWith("target.argv[0]:"));

  config.command.argv = {"/bin/true"};
  config.command.timeout_ms = 0;
  EXPECT_FALSE(MakeTarget(config));
  config.command.timeout_ms = 10;
  EXPECT_OK(MakeTarget(config));

  config.type = TargetType::kHttp;
  config.http.url = "http://a";
  config.http.headers = {{"X-A", "1\r\nX-B: 2"}};
  EXPECT_FALSE(MakeTarget(config));
}

}  // namespace
}  // namespace triggerd::dispatch
