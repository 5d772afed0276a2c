#include "common/redact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace triggerd {
namespace {

using ::testing::HasSubstr;

TEST(RedactUrlTest, HidesTheUserInfoEveryQueryValueAndValuelessKeys) {
  // Issue 18, item 13: the user name and a key without a value (a bare token) were shown.
  EXPECT_EQ(RedactUrl("https://bot:pa55@h.example/p?token=t0k&team=blue&flag&empty="),
            "https://redacted:redacted@h.example/p?token=redacted&team=redacted&redacted&empty=");
  EXPECT_EQ(RedactUrl("https://user@h.example/hook"), "https://redacted@h.example/hook");
  EXPECT_EQ(RedactUrl("https://h.example/hook?sk_live_123"), "https://h.example/hook?redacted");
  // Encoded values and repeated keys are each hidden; the path is shown.
  EXPECT_EQ(RedactUrl("http://h.example:8080/a/b%20c?k=a%26b&k=2#frag"),
            "http://h.example:8080/a/b%20c?k=redacted&k=redacted#frag");
  // Nothing to hide (an empty user, an empty key or value), or not a URL: unchanged.
  EXPECT_EQ(RedactUrl("https://:pw@h.example/"), "https://:redacted@h.example/");
  EXPECT_EQ(RedactUrl("https://h.example/hook?a=&&"), "https://h.example/hook?a=&&");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

TEST(RedactUrlTest, RedactedUrlsRoundTripThroughRestore) {
  for (const char* stored : {"https://bot:pa%2055@h.example/p?k=one&tok3n&team=blue&k=two&x",
                             "https://us%40er@h.example/hook?sk_live_123",
                             "http://h.example/?a=&&b", "https://h.example/plain"}) {
    Result<std::string> restored = RestoreRedactedUrl(RedactUrl(stored), stored);
    ASSERT_OK(restored);
    EXPECT_EQ(*restored, stored);
  }
}

TEST(IsSecretHeaderNameTest, MatchesTheDocumentedPartsInAnyCase) {
  for (const char* name : {"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
                           "X-Password", "x_api_key", "X-Api-Key", "X-Auth-Token",
                           "X-Session-Id", "X-Shopify-Hmac-Sha256", "X-Client-Secret",
                           "X-Access-Key", "X-Private-Key", "X-Credentials", "X-Passwd",
                           "X-Hub-Signature-256"}) {
    EXPECT_TRUE(IsSecretHeaderName(name)) << name;
  }
  for (const char* name : {"Content-Type", "X-GitHub-Event", "X-Request-Id", "User-Agent",
                           "X-Shopify-Topic", "webhook-id", "Idempotency-Key"}) {
    EXPECT_FALSE(IsSecretHeaderName(name)) << name;
  }
}

TEST(SameOriginTest, ComparesSchemeHostAndEffectivePort) {
  EXPECT_TRUE(SameOrigin("https://H.example/a?x=1", "https://h.example:443/b"));
  EXPECT_TRUE(SameOrigin("http://h.example/a", "http://user:pw@h.example:80/"));
  EXPECT_FALSE(SameOrigin("https://h.example/", "http://h.example/"));
  EXPECT_FALSE(SameOrigin("https://h.example/", "https://h.example:8443/"));
  EXPECT_FALSE(SameOrigin("https://h.example/", "https://h.example.evil/"));
  EXPECT_FALSE(SameOrigin("https://h.example/", "garbage"));
}

TEST(RestoreRedactedUrlTest, MarkersTakeTheStoredValues) {
  const std::string stored = "https://bot:pa55@h.example/p?k=one&team=blue&k=two";
  // What GET showed, sent back unchanged: the stored URL.
  Result<std::string> same = RestoreRedactedUrl(RedactUrl(stored), stored);
  ASSERT_OK(same);
  EXPECT_EQ(*same, stored);
  // Edited: another path, one value changed, a parameter added; the n-th marker of a key takes
  // that key's n-th stored value.
  Result<std::string> edited = RestoreRedactedUrl(
      "https://bot:redacted@h.example/q?team=red&k=redacted&k=redacted&new=1", stored);
  ASSERT_OK(edited);
  EXPECT_EQ(*edited, "https://bot:pa55@h.example/q?team=red&k=one&k=two&new=1");
  // No markers: taken as sent, even for another origin or a new config.
  Result<std::string> fresh = RestoreRedactedUrl("https://x.example/?k=v", std::nullopt);
  ASSERT_OK(fresh);
  EXPECT_EQ(*fresh, "https://x.example/?k=v");
}

TEST(RestoreRedactedUrlTest, RefusesMarkersWithNothingToKeepOrForAnotherOrigin) {
  const std::string stored = "https://h.example/p?k=one";
  struct Case {
    const char* submitted;
    const char* why;
  } cases[] = {
      {"https://h.example/p?other=redacted", "query parameter other"},
      {"https://h.example/p?k=redacted&k=redacted", "query parameter k"},
      {"https://bot:redacted@h.example/p", "stored password"},
      {"https://evil.example/p?k=redacted", "another origin"},
      {"http://h.example/p?k=redacted", "another origin"},
  };
  for (const Case& c : cases) {
    Result<std::string> r = RestoreRedactedUrl(c.submitted, stored);
    ASSERT_FALSE(r.has_value()) << c.submitted;
    EXPECT_EQ(r.error().type(), ErrorType::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr(c.why)) << c.submitted;
  }
  EXPECT_FALSE(RestoreRedactedUrl("https://h.example/?k=redacted", std::nullopt).has_value());
}

TEST(RestoreRedactedUrlTest, UserAndKeyMarkersTakeTheStoredOnes) {
  const std::string stored = "https://bot@h.example/p?tok3n&team=blue&other";
  Result<std::string> edited =
      RestoreRedactedUrl("https://redacted@h.example/q?redacted&team=red&redacted", stored);
  ASSERT_OK(edited);
  EXPECT_EQ(*edited, "https://bot@h.example/q?tok3n&team=red&other");
  struct Case {
    const char* submitted;
    const char* why;
  } cases[] = {
      {"https://redacted@h.example/p", "stored user name"},
      {"https://h.example/p?redacted&redacted", "without a value"},
  };
  for (const Case& c : cases) {
    Result<std::string> r = RestoreRedactedUrl(c.submitted, "https://h.example/p?k");
    ASSERT_FALSE(r.has_value()) << c.submitted;
    EXPECT_THAT(r.error().message(), HasSubstr(c.why)) << c.submitted;
  }
  // A marker never sends the stored user name to another origin.
  EXPECT_FALSE(RestoreRedactedUrl("https://redacted@evil.example/p", stored).has_value());
}

}  // namespace
}  // namespace triggerd
