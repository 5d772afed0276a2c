#include "outbound/outbound.h"

#include <netinet/in.h>

#include <array>
#include <cassert>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <mutex>
#include <optional>

namespace triggerd::outbound {
namespace {

namespace ip = boost::asio::ip;

// One entry of a list as the refusal names it, with the networks it stands for.
struct Entry {
  std::string label;
  std::vector<ip::network_v4> v4;
  std::vector<ip::network_v6> v6;
};

struct NamedSet {
  std::string_view name;
  std::vector<std::string_view> networks;
};

// Keep in step with the table in outbound.h and README's `outbound:` section.
const std::array<NamedSet, 5>& NamedSets() {
  static const std::array<NamedSet, 5> sets = {{
      {"loopback", {"127.0.0.0/8", "::1/128"}},
      {"private",
       {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"}},
      {"link-local", {"169.254.0.0/16", "fe80::/10"}},
      {"unspecified", {"0.0.0.0/8", "::/128"}},
      {"metadata", {"169.254.169.254/32", "fd00:ec2::254/128"}},
  }};
  return sets;
}
constexpr std::array<std::string_view, 3> kDefaultDeny = {"link-local", "unspecified", "metadata"};
constexpr std::string_view kSetNames = "loopback, private, link-local, unspecified, metadata, default";

// A v6 network inside ::ffff:0:0/96 as the IPv4 network it covers: peers are matched as IPv4
// once unmapped, so it must be stored that way to ever match.
void Add(Entry* entry, const ip::network_v6& net) {
  if (net.prefix_length() >= 96 && net.address().is_v4_mapped()) {
    entry->v4.push_back(ip::make_network_v4(ip::make_address_v4(ip::v4_mapped, net.address()),
                                            static_cast<unsigned short>(net.prefix_length() - 96)));
  } else {
    entry->v6.push_back(net);
  }
}

Status Invalid(std::string_view entry, std::string_view why) {
  std::string message = "\"";
  message.append(entry.substr(0, 64)).append("\" ").append(why);
  return Status::InvalidArgument(std::move(message));
}

// One CIDR network or address into `entry`.
Status ParseNetwork(std::string_view text, Entry* entry) {
  boost::system::error_code ec;
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    const ip::address address = ip::make_address(text, ec);
    if (ec) {
      return Invalid(text, "is not a network, an address or a named set (" +
                               std::string(kSetNames) + ")");
    }
    if (address.is_v4()) {
      entry->v4.push_back(ip::make_network_v4(address.to_v4(), 32));
    } else {
      Add(entry, ip::make_network_v6(address.to_v6(), 128));
    }
    return Status::Ok();
  }
  const ip::address address = ip::make_address(text.substr(0, slash), ec);
  if (ec) {
    return Invalid(text, "is not a network, an address or a named set (" + std::string(kSetNames) +
                             ")");
  }
  if (address.is_v4()) {
    const ip::network_v4 net = ip::make_network_v4(text, ec);
    if (ec) return Invalid(text, "has an invalid prefix length (0 to 32 for IPv4)");
    if (net != net.canonical()) {
      return Invalid(text, "has host bits set (did you mean " + net.canonical().to_string() + "?)");
    }
    entry->v4.push_back(net);
    return Status::Ok();
  }
  const ip::network_v6 net = ip::make_network_v6(text, ec);
  if (ec) return Invalid(text, "has an invalid prefix length (0 to 128 for IPv6)");
  if (net != net.canonical()) {
    return Invalid(text, "has host bits set (did you mean " + net.canonical().to_string() + "?)");
  }
  Add(entry, net);
  return Status::Ok();
}

Status ParseEntry(std::string_view text, std::vector<Entry>* out) {
  if (text == "default") {
    for (std::string_view name : kDefaultDeny) {
      if (Status s = ParseEntry(name, out); !s.ok()) return s;
    }
    return Status::Ok();
  }
  Entry entry{std::string(text), {}, {}};
  bool named = false;
  for (const NamedSet& set : NamedSets()) {
    if (set.name != text) continue;
    named = true;
    for (std::string_view network : set.networks) {
      [[maybe_unused]] Status s = ParseNetwork(network, &entry);
      assert(s.ok() && "the named sets are valid networks");
    }
  }
  if (!named) {
    if (Status s = ParseNetwork(text, &entry); !s.ok()) return s;
  }
  out->push_back(std::move(entry));
  return Status::Ok();
}

bool Contains(const Entry& entry, const ip::address& address) {
  if (address.is_v4()) {
    for (const auto& net : entry.v4) {
      if (ip::make_network_v4(address.to_v4(), net.prefix_length()).canonical() == net) {
        return true;
      }
    }
    return false;
  }
  for (const auto& net : entry.v6) {
    if (ip::make_network_v6(address.to_v6(), net.prefix_length()).canonical() == net) return true;
  }
  return false;
}

// The peer as Boost's address, IPv4-mapped IPv6 unmapped; nullopt for other families.
std::optional<ip::address> PeerOf(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return ip::address(ip::address_v4(ntohl(in->sin_addr.s_addr)));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    ip::address_v6::bytes_type bytes;
    std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
    const ip::address_v6 v6(bytes);
    if (v6.is_v4_mapped()) return ip::address(ip::make_address_v4(ip::v4_mapped, v6));
    return ip::address(v6);
  }
  return std::nullopt;
}

}  // namespace

struct Policy::Rules {
  std::vector<Entry> deny;
  std::vector<Entry> allow;
};

Policy Policy::Default() {
  static const Policy policy = [] {
    auto made = Make({"default"}, {});
    assert(made.has_value() && "the default policy parses");
    return std::move(made).value();
  }();
  return policy;
}

Result<Policy> Policy::Make(const std::vector<std::string>& deny_networks,
                            const std::vector<std::string>& allow_networks) {
  auto rules = std::make_shared<Rules>();
  for (const auto& text : deny_networks) {
    if (Status s = ParseEntry(text, &rules->deny); !s.ok()) {
      return Status::InvalidArgument("outbound.deny_networks: " + s.message());
    }
  }
  for (const auto& text : allow_networks) {
    if (Status s = ParseEntry(text, &rules->allow); !s.ok()) {
      return Status::InvalidArgument("outbound.allow_networks: " + s.message());
    }
  }
  return Policy(std::move(rules));
}

Status Policy::CheckEntry(std::string_view entry) {
  std::vector<Entry> ignored;
  return ParseEntry(entry, &ignored);
}

bool Policy::Allows(const sockaddr* address, std::string* refusal) const {
  if (denies_nothing()) return true;
  const std::optional<ip::address> peer = PeerOf(address);
  if (!peer) return true;
  for (const Entry& denied : rules_->deny) {
    if (!Contains(denied, *peer)) continue;
    for (const Entry& allowed : rules_->allow) {
      if (Contains(allowed, *peer)) return true;
    }
    if (refusal != nullptr) {
      *refusal = "outbound policy refused " + peer->to_string() +
                 " (outbound.deny_networks: " + denied.label + ")";
    }
    return false;
  }
  return true;
}

bool Policy::denies_nothing() const { return rules_->deny.empty(); }

namespace {

std::mutex& ProcessPolicyMutex() {
  static std::mutex mutex;
  return mutex;
}

std::shared_ptr<const Policy>& ProcessPolicySlot() {
  static std::shared_ptr<const Policy> slot = std::make_shared<const Policy>(Policy::Default());
  return slot;
}

}  // namespace

void SetProcessPolicy(Policy policy) {
  auto next = std::make_shared<const Policy>(std::move(policy));
  std::lock_guard lock(ProcessPolicyMutex());
  ProcessPolicySlot() = std::move(next);
}

std::shared_ptr<const Policy> ProcessPolicy() {
  std::lock_guard lock(ProcessPolicyMutex());
  return ProcessPolicySlot();
}

}  // namespace triggerd::outbound
