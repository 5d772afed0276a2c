#include "common/ip_network.h"

namespace triggerd {
namespace {

namespace ip = boost::asio::ip;

Status Invalid(std::string_view text, std::string_view why) {
  std::string message = "\"";
  message.append(text.substr(0, 64)).append("\" ").append(why);
  return Status::InvalidArgument(std::move(message));
}

template <typename Net>
Result<Net> Canonical(std::string_view text, const Net& net, IpNetwork::HostBits host_bits) {
  if (net == net.canonical() || host_bits == IpNetwork::HostBits::kClear) return net.canonical();
  return Invalid(text, "has host bits set (did you mean " + net.canonical().to_string() + "?)");
}

}  // namespace

ip::address Unmapped(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<ip::address> ParseIpAddress(std::string_view text) {
  boost::system::error_code ec;
  const ip::address address = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return Unmapped(address);
}

Result<IpNetwork> IpNetwork::Parse(std::string_view text, HostBits host_bits) {
  const size_t slash = text.find('/');
  boost::system::error_code ec;
  const ip::address address = ip::make_address(text.substr(0, slash), ec);
  if (ec || text.size() > 64) return Invalid(text, "is not an IP address or CIDR network");
  if (slash == std::string_view::npos) {
    if (const ip::address host = Unmapped(address); host.is_v4()) {
      return IpNetwork(ip::make_network_v4(host.to_v4(), 32));
    }
    return IpNetwork(ip::make_network_v6(address.to_v6(), 128));
  }
  if (address.is_v4()) {
    const ip::network_v4 net = ip::make_network_v4(text, ec);
    if (ec) return Invalid(text, "has an invalid prefix length (0 to 32 for IPv4)");
    Result<ip::network_v4> canonical = Canonical(text, net, host_bits);
    if (!canonical) return canonical.error();
    return IpNetwork(*canonical);
  }
  const ip::network_v6 net = ip::make_network_v6(text, ec);
  if (ec) return Invalid(text, "has an invalid prefix length (0 to 128 for IPv6)");
  Result<ip::network_v6> canonical = Canonical(text, net, host_bits);
  if (!canonical) return canonical.error();
  // Inside ::ffff:0:0/96: the IPv4 network it covers, since addresses are compared unmapped.
  if (canonical->prefix_length() >= 96 && canonical->address().is_v4_mapped()) {
    return IpNetwork(
        ip::make_network_v4(ip::make_address_v4(ip::v4_mapped, canonical->address()),
                            static_cast<unsigned short>(canonical->prefix_length() - 96)));
  }
  return IpNetwork(*canonical);
}

bool IpNetwork::Contains(const ip::address& address) const {
  if (const auto* v4 = std::get_if<ip::network_v4>(&network_)) {
    return address.is_v4() &&
           ip::make_network_v4(address.to_v4(), v4->prefix_length()).canonical() == *v4;
  }
  const auto& v6 = std::get<ip::network_v6>(network_);
  return address.is_v6() &&
         ip::make_network_v6(address.to_v6(), v6.prefix_length()).canonical() == v6;
}

bool AnyContains(const std::vector<IpNetwork>& networks, std::string_view address) {
  const std::optional<ip::address> parsed = ParseIpAddress(address);
  if (!parsed) return false;
  for (const IpNetwork& network : networks) {
    if (network.Contains(*parsed)) return true;
  }
  return false;
}

}  // namespace triggerd
