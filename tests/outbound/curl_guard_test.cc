// The libcurl glue against a real loopback server: a refused address gets no socket (the server
// sees no request), names and IPv4-mapped IPv6 are checked at the address they resolve to, an
// allowed one connects, and the guard leaves nothing behind in the handle.
#include "outbound/curl_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recording_target.h"
#include "test_util.h"

namespace triggerd::outbound {
namespace {

std::shared_ptr<const Policy> Make(const std::vector<std::string>& deny,
                                   const std::vector<std::string>& allow = {}) {
  auto policy = Policy::Make(deny, allow);
  EXPECT_OK(policy);
  return std::make_shared<const Policy>(policy ? *policy : Policy::Default());
}

class CurlGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCurlOnce());
    curl_ = curl_easy_init();
    ASSERT_NE(curl_, nullptr);
  }
  void TearDown() override { curl_easy_cleanup(curl_); }

  // One GET of `url` under `policy`: libcurl's result and the guard's refusal.
  std::pair<CURLcode, std::string> Get(const std::string& url,
                                       std::shared_ptr<const Policy> policy) {
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION,
                     +[](char*, size_t size, size_t count, void*) { return size * count; });
    CurlGuard guard(curl_, std::move(policy));
    const CURLcode code = curl_easy_perform(curl_);
    return {code, guard.Refused(code) ? guard.refusal() : std::string()};
  }

  testing::RecordingTarget server_{
      [](const auto&, const auto&) { return testing::RecordingTarget::Reply(200, "{}"); }};
  CURL* curl_ = nullptr;
};

TEST_F(CurlGuardTest, ARefusedAddressGetsNoConnection) {
  auto [code, refusal] = Get(server_.Url("/feed"), Make({"loopback"}));
  EXPECT_EQ(code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(refusal, "outbound policy refused 127.0.0.1 (outbound.deny_networks: loopback)");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CurlGuardTest, AnAllowedAddressConnects) {
  auto [code, refusal] = Get(server_.Url("/feed"), Make({"loopback"}, {"127.0.0.1"}));
  EXPECT_EQ(code, CURLE_OK);
  EXPECT_EQ(refusal, "");
  EXPECT_EQ(server_.requests().size(), 1u);
  // The default policy leaves loopback reachable.
  EXPECT_EQ(Get(server_.Url("/feed"), ProcessPolicy()).first, CURLE_OK);
  EXPECT_EQ(server_.requests().size(), 2u);
}

// A name is checked at every address it resolves to (localhost: 127.0.0.1 and ::1), so neither a
// name nor a DNS answer that changes (rebinding) gets past the policy.
TEST_F(CurlGuardTest, ANameIsCheckedAtTheAddressesItResolvesTo) {
  const std::string url = "http://localhost:" + std::to_string(server_.port()) + "/feed";
  auto [code, refusal] = Get(url, Make({"loopback"}));
  EXPECT_EQ(code, CURLE_COULDNT_CONNECT);
  EXPECT_THAT(refusal, ::testing::StartsWith("outbound policy refused "));
  EXPECT_THAT(refusal, ::testing::EndsWith(" (outbound.deny_networks: loopback)"));
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CurlGuardTest, IPv4MappedIPv6IsRefusedAsTheIPv4Address) {
  const std::string url = "http://[::ffff:127.0.0.1]:" + std::to_string(server_.port()) + "/feed";
  auto [code, refusal] = Get(url, Make({"127.0.0.0/8"}));
  EXPECT_EQ(code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(refusal, "outbound policy refused 127.0.0.1 (outbound.deny_networks: 127.0.0.0/8)");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(CurlGuardTest, TheGuardLeavesNoCallbackBehind) {
  EXPECT_EQ(Get(server_.Url("/feed"), Make({"loopback"})).first, CURLE_COULDNT_CONNECT);
  // The same handle without a guard: libcurl's own socket() again.
  curl_easy_setopt(curl_, CURLOPT_URL, server_.Url("/feed").c_str());
  EXPECT_EQ(curl_easy_perform(curl_), CURLE_OK);
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(CurlGuardTest, AConnectionFailureThatIsNotTheGuardsIsNotCalledARefusal) {
  const uint16_t port = server_.port();
  server_.Stop();  // nothing listens there now: connection refused by the kernel
  auto [code, refusal] =
      Get("http://127.0.0.1:" + std::to_string(port) + "/", Make({"10.0.0.0/8"}));
  EXPECT_EQ(code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(refusal, "");
}

}  // namespace
}  // namespace triggerd::outbound
