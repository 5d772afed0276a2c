// `triggerd sign`: the headers it prints are accepted by the verifier of that scheme, and only
// for that body.
#include "app/sign_command.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::app {
namespace {

// Parses "Name: value" lines back into headers.
Headers ParseHeaders(const std::string& text) {
  Headers headers;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(": ");
    if (colon == std::string::npos) continue;
    headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  return headers;
}

// Whether a source of `kind` with `auth` and `secret` accepts `body` with `headers` at `now`.
Status Verify(const std::string& kind, const boost::json::object& auth, const std::string& secret,
              const Headers& headers, const std::string& body, int64_t now) {
  auto settings = verify::ParseAuthSettings(kind, auth);
  if (!settings) return settings.error();
  verify::Secrets secrets;
  secrets.signing.push_back(secret);
  auto verifier = verify::MakeVerifier(kind, *settings, secrets);
  if (!verifier) return verifier.error();
  return (*verifier)->Verify(verify::Request{headers, body, "POST", "", now});
}

TEST(SignCommandTest, ProviderSchemesAreAcceptedByTheirVerifiers) {
  const std::string body = R"({"action":"opened"})";
  const int64_t now = 1'700'000'000;
  for (const std::string scheme : {"github", "stripe", "slack", "standard"}) {
    SCOPED_TRACE(scheme);
    const std::string kind = scheme == "standard" ? "standard-webhooks" : scheme;
    const std::string secret =
        kind == "standard-webhooks"
            ? "whsec_" + crypto::Base64Encode("0123456789abcdef0123456789abcdef")
            : "s3cret";
    SignOptions options;
    options.scheme = scheme;
    options.secret = secret;
    options.body = body;
    options.timestamp = now;
    std::ostringstream out, err;
    ASSERT_EQ(RunSign(options, out, err), 0) << err.str();
    Headers headers = ParseHeaders(out.str());
    ASSERT_FALSE(headers.empty());
    EXPECT_OK(Verify(kind, {}, secret, headers, body, now));
    EXPECT_FALSE(Verify(kind, {}, secret, headers, body + " ", now).ok());
  }
}

TEST(SignCommandTest, CustomHmacUsesTheGivenSettingsAndReadsBodyFiles) {
  testing::TempDir dir;
  const auto file = dir.path() / "body.json";
  std::ofstream(file) << R"({"n":1})";
  SignOptions options;
  options.scheme = "hmac";
  options.secret = "k";
  options.body = "@" + file.string();
  options.header = "X-Hub-Sig";
  options.algorithm = "sha512";
  options.encoding = "base64";
  options.prefix = "sha512=";
  std::ostringstream out, err;
  ASSERT_EQ(RunSign(options, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "X-Hub-Sig: sha512=" +
                           crypto::Base64Encode(crypto::Hmac(crypto::DigestAlgorithm::kSha512, "k",
                                                             R"({"n":1})")) +
                           "\n");
}

TEST(SignCommandTest, UsageErrorsExitWithTwo) {
  SignOptions options;
  options.secret = "k";
  options.body = "{}";
  std::ostringstream out, err;
  options.scheme = "nope";
  EXPECT_EQ(RunSign(options, out, err), 2);
  EXPECT_NE(err.str().find("unknown scheme"), std::string::npos);
  options.scheme = "hmac";
  options.algorithm = "md5";
  EXPECT_EQ(RunSign(options, out, err), 2);
  options.algorithm = "sha256";
  options.body = "@/nonexistent/body.json";
  EXPECT_EQ(RunSign(options, out, err), 2);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace triggerd::app
