#include "common/redact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace triggerd {
namespace {

using ::testing::HasSubstr;

TEST(RedactUrlTest, HidesThePasswordAndEveryQueryValue) {
  EXPECT_EQ(RedactUrl("https://bot:pa55@h.example/p?token=t0k&team=blue&flag&empty="),
            "https://bot:redacted@h.example/p?token=redacted&team=redacted&flag&empty=");
  // Encoded values and repeated keys are each hidden; the path is shown.
  EXPECT_EQ(RedactUrl("http://h.example:8080/a/b%20c?k=a%26b&k=2#frag"),
            "http://h.example:8080/a/b%20c?k=redacted&k=redacted#frag");
  // Nothing to hide, or not a URL: unchanged.
  EXPECT_EQ(RedactUrl("https://user@h.example/hook"), "https://user@h.example/hook");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
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

}  // namespace
}  // namespace triggerd
