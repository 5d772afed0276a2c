#include <gtest/gtest.h>

#include "ingest/ingest.h"

namespace triggerd::ingest {
namespace {

std::vector<Cidr> Nets(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) {
    auto c = ParseCidr(t);
    EXPECT_TRUE(c.has_value()) << t;
    if (c) out.push_back(*c);
  }
  return out;
}

TEST(CidrTest, MatchesIpv4NetworksAtTheirBoundaries) {
  auto nets = Nets({"203.0.113.0/24", "10.1.2.3"});
  EXPECT_TRUE(AddressAllowed(nets, "203.0.113.0"));
  EXPECT_TRUE(AddressAllowed(nets, "203.0.113.255"));
  EXPECT_FALSE(AddressAllowed(nets, "203.0.114.0"));
  EXPECT_TRUE(AddressAllowed(nets, "10.1.2.3"));
  EXPECT_FALSE(AddressAllowed(nets, "10.1.2.4"));
}

TEST(CidrTest, MatchesNonOctetPrefixes) {
  auto nets = Nets({"192.168.0.0/22"});
  EXPECT_TRUE(AddressAllowed(nets, "192.168.3.200"));
  EXPECT_FALSE(AddressAllowed(nets, "192.168.4.1"));
  EXPECT_TRUE(AddressAllowed(Nets({"0.0.0.0/0"}), "8.8.8.8"));
}

TEST(CidrTest, MatchesIpv6AndMappedIpv4) {
  auto nets = Nets({"2001:db8::/32", "::1", "10.0.0.0/8"});
  EXPECT_TRUE(AddressAllowed(nets, "2001:db8:ffff::1"));
  EXPECT_FALSE(AddressAllowed(nets, "2001:db9::1"));
  EXPECT_TRUE(AddressAllowed(nets, "::1"));
  EXPECT_TRUE(AddressAllowed(nets, "::ffff:10.9.8.7"));
  EXPECT_FALSE(AddressAllowed(nets, "127.0.0.1"));
}

TEST(CidrTest, RejectsMalformedNetworks) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "::1/129",
                          "example.com", "1.2.3.4/-1"}) {
    EXPECT_FALSE(ParseCidr(bad).has_value()) << bad;
  }
  EXPECT_FALSE(AddressAllowed(Nets({"10.0.0.0/8"}), "garbage"));
}

TEST(RedactHeadersTest, RedactsCredentialsAndTheConfiguredSignatureHeader) {
  Headers in = {{"Authorization", "Bearer x"}, {"X-Hub-Signature-256", "sha256=ab"},
                {"X-Gitlab-Token", "t"},       {"Cookie", "c"},
                {"X-My-Mac", "m"},             {"X-GitHub-Event", "push"}};
  Headers out = RedactHeaders(in, "x-my-mac");
  for (size_t i = 0; i + 1 < out.size(); ++i) EXPECT_EQ(out[i].value, "[redacted]") << out[i].name;
  EXPECT_EQ(out.back().value, "push");
}

}  // namespace
}  // namespace triggerd::ingest
