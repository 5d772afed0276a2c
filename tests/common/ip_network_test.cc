#include "common/ip_network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace triggerd {
namespace {

using ::testing::HasSubstr;

std::vector<IpNetwork> Nets(std::initializer_list<const char*> texts) {
  std::vector<IpNetwork> out;
  for (const char* t : texts) {
    auto network = IpNetwork::Parse(t);
    EXPECT_TRUE(network.has_value()) << t;
    if (network) out.push_back(*network);
  }
  return out;
}

TEST(IpNetworkTest, MatchesIpv4NetworksAtTheirBoundaries) {
  auto nets = Nets({"203.0.113.0/24", "10.1.2.3"});
  EXPECT_TRUE(AnyContains(nets, "203.0.113.0"));
  EXPECT_TRUE(AnyContains(nets, "203.0.113.255"));
  EXPECT_FALSE(AnyContains(nets, "203.0.114.0"));
  EXPECT_TRUE(AnyContains(nets, "10.1.2.3"));
  EXPECT_FALSE(AnyContains(nets, "10.1.2.4"));
}

TEST(IpNetworkTest, MatchesNonOctetPrefixes) {
  auto nets = Nets({"192.168.0.0/22"});
  EXPECT_TRUE(AnyContains(nets, "192.168.3.200"));
  EXPECT_FALSE(AnyContains(nets, "192.168.4.1"));
  EXPECT_TRUE(AnyContains(Nets({"0.0.0.0/0"}), "8.8.8.8"));
  EXPECT_FALSE(AnyContains(Nets({"0.0.0.0/0"}), "::2"));  // families never mix
}

TEST(IpNetworkTest, MatchesIpv6AndMappedIpv4BothWays) {
  auto nets = Nets({"2001:db8::/32", "::1", "10.0.0.0/8"});
  EXPECT_TRUE(AnyContains(nets, "2001:db8:ffff::1"));
  EXPECT_FALSE(AnyContains(nets, "2001:db9::1"));
  EXPECT_TRUE(AnyContains(nets, "::1"));
  EXPECT_TRUE(AnyContains(nets, "::ffff:10.9.8.7"));  // a dual-stack listener's IPv4 peer
  EXPECT_FALSE(AnyContains(nets, "127.0.0.1"));
  // An entry written mapped is the IPv4 network it covers.
  EXPECT_TRUE(AnyContains(Nets({"::ffff:192.0.2.0/120"}), "192.0.2.7"));
  EXPECT_TRUE(AnyContains(Nets({"::ffff:192.0.2.7"}), "192.0.2.7"));
}

TEST(IpNetworkTest, RefusesMalformedNetworksWithTheReason) {
  for (const char* bad : {"", "1.2.3", "example.com", "1.2.3.4 ", "/8"}) {
    auto network = IpNetwork::Parse(bad);
    ASSERT_FALSE(network.has_value()) << bad;
    EXPECT_THAT(network.error().message(), HasSubstr("is not an IP address or CIDR network"))
        << bad;
  }
  for (const char* bad : {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "1.2.3.4/-1", "::1/129"}) {
    auto network = IpNetwork::Parse(bad);
    ASSERT_FALSE(network.has_value()) << bad;
    EXPECT_THAT(network.error().message(), HasSubstr("invalid prefix length")) << bad;
  }
  EXPECT_FALSE(AnyContains(Nets({"10.0.0.0/8"}), "garbage"));
}

// "10.1.2.3/8" is refused when written (one host or the /8?), but an entry stored before that
// keeps meaning the network it always matched.
TEST(IpNetworkTest, HostBitsAreRefusedOrClearedOnRequest) {
  auto refused = IpNetwork::Parse("10.1.2.3/8");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message(),
            "\"10.1.2.3/8\" has host bits set (did you mean 10.0.0.0/8?)");
  EXPECT_THAT(IpNetwork::Parse("fd00::1/64").error().message(), HasSubstr("fd00::/64"));
  auto cleared = IpNetwork::Parse("10.1.2.3/8", IpNetwork::HostBits::kClear);
  ASSERT_OK(cleared);
  EXPECT_TRUE(cleared->Contains(*ParseIpAddress("10.200.0.1")));
  EXPECT_FALSE(cleared->Contains(*ParseIpAddress("11.0.0.1")));
}

}  // namespace
}  // namespace triggerd
