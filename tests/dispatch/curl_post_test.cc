// The pieces of the shared HTTP exchange that need no socket: Retry-After, the mapping of an
// answer to a DeliveryResult, and the text helpers behind error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dispatch/target_internal.h"

namespace triggerd::dispatch::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Kind = DeliveryResult::Kind;

// Wed, 21 Oct 2015 07:28:00 GMT
constexpr int64_t kDate = 1445412480;

TEST(RetryAfterTest, ParsesDeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("0", kDate), 0);
  EXPECT_EQ(ParseRetryAfter("7", kDate), 7000);
  EXPECT_EQ(ParseRetryAfter(" 120 ", kDate), 120'000);
}

TEST(RetryAfterTest, ClampsHugeDeltasInsteadOfOverflowing) {
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", kDate), 365LL * 24 * 3600 * 1000);
  EXPECT_EQ(ParseRetryAfter("31536001", kDate), 365LL * 24 * 3600 * 1000);
}

TEST(RetryAfterTest, ParsesHttpDateRelativeToNow) {
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate - 90), 90'000);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate), 0);
  // A date in the past means "now", not a negative delay.
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kDate + 3600), 0);
}

TEST(RetryAfterTest, RefusesGarbage) {
  EXPECT_EQ(ParseRetryAfter("", kDate), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", kDate), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", kDate), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", kDate), std::nullopt);
}

PostResponse Answer(int status, std::string body = "",
                    std::optional<std::string> retry_after = {}) {
  PostResponse r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after = std::move(retry_after);
  return r;
}

TEST(ClassifyFailureTest, RetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504, 599}) {
    auto r = ClassifyFailure(Answer(status), 1000, kDate);
    EXPECT_EQ(r.kind, Kind::kRetryable) << status;
    EXPECT_EQ(r.error, "HTTP " + std::to_string(status));
  }
}

TEST(ClassifyFailureTest, PermanentStatuses) {
  for (int status : {300, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 413, 422}) {
    EXPECT_EQ(ClassifyFailure(Answer(status), 1000, kDate).kind, Kind::kPermanent) << status;
  }
}

TEST(ClassifyFailureTest, RetryAfterCountsOnlyFor429And503) {
  EXPECT_EQ(ClassifyFailure(Answer(429, "", "3"), 1000, kDate).retry_after_ms, 3000);
  EXPECT_EQ(ClassifyFailure(Answer(503, "", "4"), 1000, kDate).retry_after_ms, 4000);
  EXPECT_EQ(ClassifyFailure(Answer(500, "", "5"), 1000, kDate).retry_after_ms, std::nullopt);
  EXPECT_EQ(ClassifyFailure(Answer(503, "", "later"), 1000, kDate).retry_after_ms, std::nullopt);
  EXPECT_EQ(ClassifyFailure(Answer(503), 1000, kDate).retry_after_ms, std::nullopt);
}

TEST(ClassifyFailureTest, ErrorCarriesTheStartOfTheBody) {
  auto r = ClassifyFailure(Answer(503, std::string(600, 'a') + "TAIL"), 1000, kDate);
  EXPECT_EQ(r.error, "HTTP 503: " + std::string(512, 'a'));
  r = ClassifyFailure(Answer(500, "line one\r\nline two\x01\n\n"), 1000, kDate);
  EXPECT_EQ(r.error, "HTTP 500: line one?\nline two?");
}

TEST(ClassifyFailureTest, RedirectNamesItsLocation) {
  PostResponse answer = Answer(302);
  answer.location = "https://elsewhere.example/";
  auto r = ClassifyFailure(answer, 1000, kDate);
  EXPECT_EQ(r.kind, Kind::kPermanent);
  EXPECT_EQ(r.error, "HTTP 302 (redirects are not followed; Location: https://elsewhere.example/)");
}

TEST(ClassifyFailureTest, TransportFailuresAreRetryable) {
  PostResponse failed;
  failed.transport_failed = true;
  failed.transport_error = "Failed to connect to 127.0.0.1 port 1";
  auto r = ClassifyFailure(failed, 1000, kDate);
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_EQ(r.error, "Failed to connect to 127.0.0.1 port 1");

  failed.timed_out = true;
  failed.transport_error = "Operation timed out after 3001 milliseconds with 0 bytes received";
  r = ClassifyFailure(failed, 3000, kDate);
  EXPECT_EQ(r.kind, Kind::kRetryable);
  EXPECT_THAT(r.error, StartsWith("timed out after 3000 ms: Operation timed out"));
}

TEST(ClassifyFailureTest, RefusedRequestIsPermanent) {
  PostResponse refused;
  refused.refused = true;
  refused.transport_error = "refusing";
  EXPECT_EQ(ClassifyFailure(refused, 1000, kDate).kind, Kind::kPermanent);
}

TEST(PostTest, RefusesHeaderLinesWithLineBreaksWithoutSending) {
  PostRequest request;
  request.url = "http://127.0.0.1:1/";
  request.header_lines = {"X-A: 1\r\nX-Injected: 2"};
  const PostResponse r = Post(request);
  EXPECT_TRUE(r.refused);
  EXPECT_THAT(r.transport_error, HasSubstr("CR, LF or NUL"));
}

TEST(TextTest, SnippetsNeverSplitUtf8) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  EXPECT_EQ(HeadSnippet("ab" + euro, 4), "ab");
  EXPECT_EQ(HeadSnippet("ab" + euro, 5), "ab" + euro);
  EXPECT_EQ(TailSnippet(euro + "ab", 4), "ab");
  EXPECT_EQ(TailSnippet(euro + "ab", 5), euro + "ab");
  EXPECT_EQ(TailSnippet("x\nlast words\n\n", 11), "last words");
  EXPECT_EQ(TruncateUtf8("ab" + euro, 3), "ab");
  EXPECT_EQ(TruncateUtf8("abc", 3), "abc");
}

TEST(TextTest, SnippetsReplaceInvalidUtf8AndControls) {
  EXPECT_EQ(HeadSnippet("a\xFF"
                        "b\x1B[31mc\x7F",
                        100),
            "a?b?[31mc?");
  EXPECT_EQ(HeadSnippet("\xC3\x28", 100), "?(");  // a lead byte without its continuation
  EXPECT_EQ(HeadSnippet("tab\tok", 100), "tab\tok");
}

TEST(TextTest, DropsAnIncompleteSequenceAtTheEnd) {
  const std::string euro = "\xE2\x82\xAC";
  EXPECT_EQ(DropIncompleteUtf8Tail("ab" + euro), "ab" + euro);
  EXPECT_EQ(DropIncompleteUtf8Tail("ab\xE2\x82"), "ab");
  EXPECT_EQ(DropIncompleteUtf8Tail("ab\xE2"), "ab");
  EXPECT_EQ(DropIncompleteUtf8Tail("ab\xF0\x9F\x98"), "ab");
  EXPECT_EQ(DropIncompleteUtf8Tail("ab\xF0\x9F\x98\x80"), "ab\xF0\x9F\x98\x80");
  EXPECT_EQ(DropIncompleteUtf8Tail("abc"), "abc");
  EXPECT_EQ(DropIncompleteUtf8Tail(""), "");
}

}  // namespace
}  // namespace triggerd::dispatch::internal
