// The outbound network policy: which addresses triggerd may open a connection to when it calls
// out (http and llm agents, the chat model of generated filters, polled feeds). Builders set
// those URLs, so without it one could point a poll at the cloud metadata service
// (169.254.169.254) and read its answer back as events: server-side request forgery. The check
// is made on the address a connection is about to be opened to (outbound/curl_guard.h), after
// DNS, so neither a name nor DNS rebinding can route around it.
//
// No libcurl here: the policy is a value (parse + check), plus the one the process uses.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace triggerd::outbound {

// An address is refused when it lies in a denied network and in no allowed one (allow overrides
// deny). Entries, in both lists: a CIDR network ("10.0.0.0/8", "fd00::/8"; host bits must be
// zero), a single address ("10.1.2.3" = /32, "::1" = /128), or a named set:
//   loopback     127.0.0.0/8, ::1
//   private      10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 (CGNAT), fc00::/7
//   link-local   169.254.0.0/16, fe80::/10 (holds the cloud metadata address 169.254.169.254)
//   unspecified  0.0.0.0/8, :: (Linux connects 0.0.0.0 to this host)
//   metadata     169.254.169.254, fd00:ec2::254 (AWS's IPv6 metadata address)
//   default      link-local, unspecified and metadata: the deny list when none is configured
// IPv4-mapped IPv6 addresses (::ffff:169.254.169.254) are checked as the IPv4 address they carry.
// Immutable once made; copies are cheap and share the parsed networks; thread-safe.
class Policy {
 public:
  // deny_networks: [default]; allow_networks: []. Loopback and private networks stay reachable
  // (self-hosted agents and feeds live there); link-local and cloud metadata never are.
  static Policy Default();
  // kInvalidArgument naming the field ("outbound.deny_networks") and the entry when an entry is
  // neither a network, an address nor a named set. An empty deny list refuses nothing.
  static Result<Policy> Make(const std::vector<std::string>& deny_networks,
                             const std::vector<std::string>& allow_networks);
  // OK when `entry` is a valid list entry; otherwise why not (without the field's name), e.g.
  // "\"10.1.2.3/8\" has host bits set (did you mean 10.0.0.0/8?)".
  static Status CheckEntry(std::string_view entry);

  // True when a connection to `address` (AF_INET or AF_INET6; the port is not looked at) is
  // allowed. When refused and `refusal` is not null, sets it to the message the caller reports:
  //   outbound policy refused 169.254.169.254 (outbound.deny_networks: link-local)
  // naming the first deny entry that matched. Addresses of other families are allowed: triggerd
  // only opens TCP connections.
  bool Allows(const sockaddr* address, std::string* refusal = nullptr) const;
  // True when no address can be refused (deny_networks: []): callers may skip the check.
  bool denies_nothing() const;
  // For the log: "deny [link-local, unspecified, metadata], allow []" ("default" expanded).
  std::string Describe() const;

  struct Rules;  // the parsed lists (outbound.cc)

 private:
  explicit Policy(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const Rules> rules_;
};

// The policy the process's outbound connections are checked against: Policy::Default() until
// SetProcessPolicy. Installed at start-up from triggerd.yaml's `outbound:` section and again on
// a config reload (app/serve.cc); a transfer takes the policy once when it starts, so a change
// applies to the next transfer. Process-wide like curl_global_init: every caller of libcurl in
// triggerd (dispatch targets, the filter model, polls) obeys one policy without it being
// threaded through each of their constructors. Thread-safe.
void SetProcessPolicy(Policy policy);
std::shared_ptr<const Policy> ProcessPolicy();

// Installs a process policy for its lifetime and puts back the one it replaced: a policy per
// test. Not for production code, where the policy belongs to the config.
class ScopedProcessPolicy {
 public:
  explicit ScopedProcessPolicy(Policy policy) : previous_(ProcessPolicy()) {
    SetProcessPolicy(std::move(policy));
  }
  ~ScopedProcessPolicy() { SetProcessPolicy(*previous_); }
  ScopedProcessPolicy(const ScopedProcessPolicy&) = delete;
  ScopedProcessPolicy& operator=(const ScopedProcessPolicy&) = delete;

 private:
  std::shared_ptr<const Policy> previous_;
};

}  // namespace triggerd::outbound
