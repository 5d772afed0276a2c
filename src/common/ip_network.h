// IP networks for allow- and deny-lists: a source's and an agent webhook's allowed_ips (ingest,
// api) and the outbound policy (outbound). Boost.Asio parses and compares. An IPv4-mapped IPv6
// address ("::ffff:10.0.0.1") is read as the IPv4 address it carries, in entries and in the
// addresses checked alike: a dual-stack listener reports IPv4 peers that way.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace triggerd {

// `address` with an IPv4-mapped IPv6 address replaced by the IPv4 address it carries.
boost::asio::ip::address Unmapped(const boost::asio::ip::address& address);
// A textual IPv4 or IPv6 address, unmapped; nullopt when `text` is not one.
std::optional<boost::asio::ip::address> ParseIpAddress(std::string_view text);

// One network: "203.0.113.0/24", "2001:db8::/32", or a single address ("10.1.2.3" is a /32,
// "::1" a /128).
class IpNetwork {
 public:
  enum class HostBits {
    kRefuse,  // "10.1.2.3/8" is an error (a typo for one host, or for 10.0.0.0/8?)
    kClear,   // "10.1.2.3/8" is 10.0.0.0/8: for entries stored before they were refused
  };
  // kInvalidArgument quoting the text: not an address or network, a prefix length out of range,
  // or host bits set ("\"10.1.2.3/8\" has host bits set (did you mean 10.0.0.0/8?)").
  static Result<IpNetwork> Parse(std::string_view text, HostBits host_bits = HostBits::kRefuse);

  // `address` as Unmapped gives it.
  bool Contains(const boost::asio::ip::address& address) const;

 private:
  using Network = std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6>;
  explicit IpNetwork(Network network) : network_(network) {}
  Network network_;
};

// True when `address` (text) parses and lies in one of `networks`.
bool AnyContains(const std::vector<IpNetwork>& networks, std::string_view address);

}  // namespace triggerd
