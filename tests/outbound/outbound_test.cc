// The outbound policy as a value: entries (CIDRs, addresses, named sets), allow over deny,
// IPv4-mapped IPv6, the default, and the messages of bad entries.
#include "outbound/outbound.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "test_util.h"

namespace triggerd::outbound {
namespace {

using ::testing::HasSubstr;

// `text` (an IPv4 or IPv6 address) as the sockaddr libcurl hands the open-socket callback.
sockaddr_storage Address(const std::string& text) {
  sockaddr_storage storage;
  std::memset(&storage, 0, sizeof(storage));
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(80);
  } else if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(80);
  } else {
    ADD_FAILURE() << "not an address: " << text;
  }
  return storage;
}

bool Allows(const Policy& policy, const std::string& address, std::string* why = nullptr) {
  sockaddr_storage storage = Address(address);
  return policy.Allows(reinterpret_cast<const sockaddr*>(&storage), why);
}

Policy Make(const std::vector<std::string>& deny, const std::vector<std::string>& allow = {}) {
  auto policy = Policy::Make(deny, allow);
  EXPECT_OK(policy);
  return policy ? *policy : Policy::Default();
}

TEST(OutboundPolicyTest, DefaultRefusesMetadataAndLinkLocalButNotLoopbackOrPrivate) {
  const Policy policy = Policy::Default();
  std::string why;
  EXPECT_FALSE(Allows(policy, "169.254.169.254", &why));
  EXPECT_EQ(why, "outbound policy refused 169.254.169.254 (outbound.deny_networks: link-local)");
  EXPECT_FALSE(Allows(policy, "169.254.0.1"));
  EXPECT_FALSE(Allows(policy, "fe80::1"));
  EXPECT_FALSE(Allows(policy, "0.0.0.0", &why));
  EXPECT_EQ(why, "outbound policy refused 0.0.0.0 (outbound.deny_networks: unspecified)");
  EXPECT_FALSE(Allows(policy, "::"));
  EXPECT_FALSE(Allows(policy, "fd00:ec2::254", &why));
  EXPECT_EQ(why, "outbound policy refused fd00:ec2::254 (outbound.deny_networks: metadata)");
  EXPECT_TRUE(Allows(policy, "fd00:ec2::253"));  // only the metadata address of fd00::/8
  for (const char* reachable : {"127.0.0.1", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.1",
                                "100.64.0.1", "fd12::1", "93.184.216.34", "2001:db8::1"}) {
    EXPECT_TRUE(Allows(policy, reachable)) << reachable;
  }
  EXPECT_FALSE(policy.denies_nothing());
}

TEST(OutboundPolicyTest, IPv4MappedIPv6IsCheckedAsTheIPv4AddressItCarries) {
  std::string why;
  EXPECT_FALSE(Allows(Policy::Default(), "::ffff:169.254.169.254", &why));
  EXPECT_EQ(why, "outbound policy refused 169.254.169.254 (outbound.deny_networks: link-local)");
  const Policy policy = Make({"10.0.0.0/8"}, {"10.1.2.0/24"});
  EXPECT_FALSE(Allows(policy, "::ffff:10.9.9.9"));
  EXPECT_TRUE(Allows(policy, "::ffff:10.1.2.3"));  // the allow matches the mapped address too
  // A network written mapped is the IPv4 network it covers.
  EXPECT_FALSE(Allows(Make({"::ffff:192.0.2.0/120"}), "192.0.2.7"));
  EXPECT_TRUE(Allows(Make({"::ffff:192.0.2.0/120"}), "192.0.3.7"));
}

TEST(OutboundPolicyTest, CidrsAndSingleAddressesMatchTheirRange) {
  const Policy policy = Make({"10.0.0.0/8", "2001:db8::/32", "203.0.113.9", "2001:db9::1"});
  std::string why;
  EXPECT_FALSE(Allows(policy, "10.255.255.255", &why));
  EXPECT_EQ(why, "outbound policy refused 10.255.255.255 (outbound.deny_networks: 10.0.0.0/8)");
  EXPECT_TRUE(Allows(policy, "11.0.0.0"));
  EXPECT_TRUE(Allows(policy, "9.255.255.255"));
  EXPECT_FALSE(Allows(policy, "2001:db8:ffff::1"));
  EXPECT_TRUE(Allows(policy, "2001:db7::1"));
  EXPECT_FALSE(Allows(policy, "203.0.113.9"));
  EXPECT_TRUE(Allows(policy, "203.0.113.10"));
  EXPECT_FALSE(Allows(policy, "2001:db9::1"));
  EXPECT_TRUE(Allows(policy, "2001:db9::2"));
  // What the explicit list does not name is reachable, metadata included: the list replaces the
  // default (`default` keeps it).
  EXPECT_TRUE(Allows(policy, "169.254.169.254"));
  EXPECT_FALSE(Allows(Make({"default", "10.0.0.0/8"}), "169.254.169.254"));
  EXPECT_TRUE(Allows(Make({"0.0.0.0/0", "::/0"}, {"0.0.0.0/0"}), "8.8.8.8"));
  EXPECT_FALSE(Allows(Make({"0.0.0.0/0", "::/0"}, {"0.0.0.0/0"}), "2001:db8::1"));
}

TEST(OutboundPolicyTest, NamedSetsCoverTheirNetworks) {
  const Policy loopback = Make({"loopback"});
  EXPECT_FALSE(Allows(loopback, "127.0.0.1"));
  EXPECT_FALSE(Allows(loopback, "127.255.0.1"));
  EXPECT_FALSE(Allows(loopback, "::1"));
  EXPECT_TRUE(Allows(loopback, "10.0.0.1"));
  const Policy privates = Make({"private"});
  for (const char* a : {"10.1.1.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1",
                        "100.127.255.255", "fc00::1", "fdff::1"}) {
    EXPECT_FALSE(Allows(privates, a)) << a;
  }
  for (const char* a : {"172.32.0.1", "192.169.0.1", "100.128.0.1", "fe00::1", "127.0.0.1"}) {
    EXPECT_TRUE(Allows(privates, a)) << a;
  }
  std::string why;
  EXPECT_FALSE(Allows(privates, "fd00::7", &why));
  EXPECT_EQ(why, "outbound policy refused fd00::7 (outbound.deny_networks: private)");
}

TEST(OutboundPolicyTest, AllowOverridesDeny) {
  const Policy policy = Make({"link-local", "10.0.0.0/8"}, {"10.1.2.0/24", "169.254.169.254"});
  EXPECT_TRUE(Allows(policy, "10.1.2.3"));
  EXPECT_FALSE(Allows(policy, "10.1.3.3"));
  EXPECT_TRUE(Allows(policy, "169.254.169.254"));
  EXPECT_FALSE(Allows(policy, "169.254.169.253"));
  // An allow that no deny covers changes nothing.
  EXPECT_TRUE(Allows(Make({"loopback"}, {"192.168.0.0/16"}), "192.168.1.1"));
  // What the log says at start and on reload.
  EXPECT_EQ(policy.Describe(),
            "deny [link-local, 10.0.0.0/8], allow [10.1.2.0/24, 169.254.169.254]");
  EXPECT_EQ(Policy::Default().Describe(), "deny [link-local, unspecified, metadata], allow []");
}

TEST(OutboundPolicyTest, AnEmptyDenyListRefusesNothing) {
  const Policy open = Make({});
  EXPECT_TRUE(open.denies_nothing());
  EXPECT_TRUE(Allows(open, "169.254.169.254"));
  EXPECT_TRUE(Allows(open, "::"));
}

TEST(OutboundPolicyTest, BadEntriesAreRefusedWithTheFieldAndWhy) {
  auto host_bits = Policy::Make({"10.1.2.3/8"}, {});
  ASSERT_FALSE(host_bits);
  EXPECT_EQ(host_bits.error().message(),
            "outbound.deny_networks: \"10.1.2.3/8\" has host bits set (did you mean 10.0.0.0/8?)");
  auto prefix = Policy::Make({}, {"10.0.0.0/33"});
  ASSERT_FALSE(prefix);
  EXPECT_EQ(prefix.error().message(),
            "outbound.allow_networks: \"10.0.0.0/33\" has an invalid "
            "prefix length (0 to 32 for IPv4)");
  EXPECT_THAT(Policy::CheckEntry("fd00::/129").message(),
              HasSubstr("invalid prefix length (0 to 128 for IPv6)"));
  EXPECT_THAT(Policy::CheckEntry("fd00::1/64").message(), HasSubstr("did you mean fd00::/64?"));
  for (const char* bad : {"10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "/8", "", "localhost",
                          "link_local", "10.0.0", "999.0.0.0/8", "10.0.0.0/8 "}) {
    EXPECT_FALSE(Policy::CheckEntry(bad).ok()) << bad;
  }
  EXPECT_THAT(Policy::CheckEntry("link_local").message(),
              HasSubstr("is not a network, an address or a named set (loopback, private, "
                        "link-local, unspecified, metadata, default)"));
  for (const char* good :
       {"default", "loopback", "private", "link-local", "unspecified", "metadata", "0.0.0.0/0",
        "::/0", "10.0.0.0/8", "fd00:ec2::254", "fd00:ec2::254/128", "192.0.2.1"}) {
    EXPECT_TRUE(Policy::CheckEntry(good).ok())
        << good << ": " << Policy::CheckEntry(good).message();
  }
}

TEST(OutboundPolicyTest, TheProcessPolicyIsTheDefaultUntilSetAndScopedPerTest) {
  EXPECT_FALSE(Allows(*ProcessPolicy(), "169.254.169.254"));
  EXPECT_TRUE(Allows(*ProcessPolicy(), "127.0.0.1"));
  {
    ScopedProcessPolicy scoped(Make({"loopback"}));
    EXPECT_FALSE(Allows(*ProcessPolicy(), "127.0.0.1"));
    EXPECT_TRUE(Allows(*ProcessPolicy(), "169.254.169.254"));
  }
  EXPECT_TRUE(Allows(*ProcessPolicy(), "127.0.0.1"));
  EXPECT_FALSE(Allows(*ProcessPolicy(), "169.254.169.254"));
}

}  // namespace
}  // namespace triggerd::outbound
