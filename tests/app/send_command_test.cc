// `triggerd send`: a real POST to a real loopback server (RecordingTarget), signed so that the
// scheme's own verifier accepts it; exit codes for 2xx, other answers, usage errors and no answer.
#include "app/send_command.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "recording_target.h"
#include "verify/verify.h"

namespace triggerd::app {
namespace {

using testing::RecordingTarget;

SendOptions GithubSend(const std::string& url) {
  SendOptions options;
  options.url = url;
  options.sign.scheme = "github";
  options.sign.secret = "It's a Secret to Everybody";
  options.sign.body = R"({"action":"opened","number":1})";
  options.headers = {"X-GitHub-Event: pull_request", "X-GitHub-Delivery: d-1"};
  return options;
}

TEST(SendCommandTest, PostsTheBodySignedSoThatTheSchemesVerifierAcceptsIt) {
  RecordingTarget target(
      [](const auto&, const auto&) { return RecordingTarget::Reply(200, R"({"event_id":"e"})"); });
  SendOptions options = GithubSend(target.Url("/hooks/src_1"));
  std::ostringstream out, err;
  ASSERT_EQ(RunSend(options, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "{\"event_id\":\"e\"}\n");
  EXPECT_EQ(err.str(), "HTTP 200\n");

  std::vector<RecordingTarget::Received> got = target.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/hooks/src_1");
  EXPECT_EQ(got[0].body, options.sign.body);
  EXPECT_EQ(FindHeader(got[0].headers, "X-GitHub-Event").value_or(""), "pull_request");
  EXPECT_EQ(FindHeader(got[0].headers, "Content-Type").value_or(""), "application/json");

  auto settings = verify::ParseAuthSettings("github", {});
  ASSERT_TRUE(settings.has_value());
  verify::Secrets secrets;
  secrets.signing.push_back(options.sign.secret);
  auto verifier = verify::MakeVerifier("github", *settings, secrets);
  ASSERT_TRUE(verifier.has_value());
  EXPECT_TRUE(
      (*verifier)->Verify(verify::Request{got[0].headers, got[0].body, "POST", "", 0}).ok());
  // Not for another body.
  EXPECT_FALSE((*verifier)->Verify(verify::Request{got[0].headers, "{}", "POST", "", 0}).ok());
}

TEST(SendCommandTest, UnsignedWithABearerTokenAndAnswersOtherThan2xxExitOne) {
  RecordingTarget target([](const auto&, const auto&) {
    return RecordingTarget::Reply(401, R"({"error":{"type":"invalid_token","message":"no"}})");
  });
  SendOptions options;
  options.url = target.Url("/x");
  options.sign.body = "{}";
  options.token = "tdt_abc";
  std::ostringstream out, err;
  EXPECT_EQ(RunSend(options, out, err), 1);
  EXPECT_EQ(err.str(), "HTTP 401\n");
  EXPECT_NE(out.str().find("invalid_token"), std::string::npos);
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(FindHeader(target.requests()[0].headers, "Authorization").value_or(""),
            "Bearer tdt_abc");
  EXPECT_FALSE(FindHeader(target.requests()[0].headers, "X-Hub-Signature-256").has_value());
}

TEST(SendCommandTest, UsageErrorsExitTwoAndSendNothing) {
  RecordingTarget target([](const auto&, const auto&) { return RecordingTarget::Reply(200); });
  std::ostringstream out, err;
  SendOptions bad_scheme = GithubSend(target.Url());
  bad_scheme.sign.scheme = "nope";
  EXPECT_EQ(RunSend(bad_scheme, out, err), 2);
  SendOptions bad_header = GithubSend(target.Url());
  bad_header.headers = {"no colon here"};
  EXPECT_EQ(RunSend(bad_header, out, err), 2);
  SendOptions bad_url = GithubSend("ftp://example.com/x");
  EXPECT_EQ(RunSend(bad_url, out, err), 2);
  SendOptions missing_file = GithubSend(target.Url());
  missing_file.sign.body = "@/nonexistent/payload.json";
  EXPECT_EQ(RunSend(missing_file, out, err), 2);
  EXPECT_TRUE(target.requests().empty());
}

TEST(SendCommandTest, NoAnswerExitsThree) {
  // A port nothing listens on: bind, note the port, close.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  std::ostringstream out, err;
  SendOptions options =
      GithubSend("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/");
  EXPECT_EQ(RunSend(options, out, err), 3);
  EXPECT_NE(err.str().find("no answer"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace triggerd::app
