#include "outbound/outbound.h"

#include <netinet/in.h>

#include <array>
#include <cassert>
#include <mutex>
#include <optional>

#include "common/ip_network.h"

namespace triggerd::outbound {
namespace {

namespace ip = boost::asio::ip;

// One entry of a list as the refusal names it, with the networks it stands for.
struct Entry {
  std::string label;
  std::vector<IpNetwork> networks;
};

struct NamedSet {
  std::string_view name;
  std::vector<std::string_view> networks;
};

// Keep in step with the table in outbound.h and README's `outbound:` section.
const std::array<NamedSet, 5>& NamedSets() {
  static const std::array<NamedSet, 5> sets = {{
      {"loopback", {"127.0.0.0/8", "::1/128"}},
      {"private", {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"}},
      {"link-local", {"169.254.0.0/16", "fe80::/10"}},
      {"unspecified", {"0.0.0.0/8", "::/128"}},
      {"metadata", {"169.254.169.254/32", "fd00:ec2::254/128"}},
  }};
  return sets;
}
constexpr std::array<std::string_view, 3> kDefaultDeny = {"link-local", "unspecified", "metadata"};
constexpr std::string_view kSetNames =
    "loopback, private, link-local, unspecified, metadata, default";

Status ParseEntry(std::string_view text, std::vector<Entry>* out) {
  if (text == "default") {
    for (std::string_view name : kDefaultDeny) {
      if (Status s = ParseEntry(name, out); !s.ok()) return s;
    }
    return Status::Ok();
  }
  Entry entry{std::string(text), {}};
  bool named = false;
  for (const NamedSet& set : NamedSets()) {
    if (set.name != text) continue;
    named = true;
    for (std::string_view network : set.networks) {
      Result<IpNetwork> parsed = IpNetwork::Parse(network);
      assert(parsed.has_value() && "the named sets are valid networks");
      entry.networks.push_back(std::move(parsed).value());
    }
  }
  if (!named) {
    Result<IpNetwork> parsed = IpNetwork::Parse(text);
    if (!parsed) {
      // Name the sets too: an unknown word is more likely a misspelt set than a bad address.
      if (text.find_first_of("./:") == std::string_view::npos) {
        std::string message = "\"";
        message.append(text.substr(0, 64))
            .append("\" is not a network, an address or a named set (");
        message.append(kSetNames).append(")");
        return Status::InvalidArgument(std::move(message));
      }
      return parsed.error();
    }
    entry.networks.push_back(std::move(parsed).value());
  }
  out->push_back(std::move(entry));
  return Status::Ok();
}

bool Contains(const Entry& entry, const ip::address& address) {
  for (const IpNetwork& network : entry.networks) {
    if (network.Contains(address)) return true;
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
    return Unmapped(ip::address(ip::address_v6(bytes)));
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

std::string Policy::Describe() const {
  auto labels = [](const std::vector<Entry>& entries) {
    std::string out = "[";
    for (const Entry& entry : entries) {
      if (out.size() > 1) out += ", ";
      out += entry.label;
    }
    return out + "]";
  };
  return "deny " + labels(rules_->deny) + ", allow " + labels(rules_->allow);
}

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
