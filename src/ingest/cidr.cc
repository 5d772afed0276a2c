#include <arpa/inet.h>

#include <cstring>

#include "ingest/ingest.h"

namespace triggerd::ingest {
namespace {

// Parses a bare address into `cidr` with the full prefix length. IPv4-mapped IPv6 addresses
// are read as IPv4 so "::ffff:10.0.0.1" matches "10.0.0.0/8".
bool ParseAddress(const std::string& text, Cidr* cidr) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    cidr->family = 4;
    std::memcpy(cidr->bytes, &v4, 4);
    cidr->prefix_length = 32;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6.s6_addr, kMapped, 12) == 0) {
      cidr->family = 4;
      std::memcpy(cidr->bytes, v6.s6_addr + 12, 4);
      cidr->prefix_length = 32;
      return true;
    }
    cidr->family = 6;
    std::memcpy(cidr->bytes, v6.s6_addr, 16);
    cidr->prefix_length = 128;
    return true;
  }
  return false;
}

}  // namespace

Result<Cidr> ParseCidr(std::string_view text) {
  std::string address(text.substr(0, text.find('/')));
  Cidr cidr;
  if (text.size() > 64 || !ParseAddress(address, &cidr)) {
    return Status::InvalidArgument("\"" + std::string(text.substr(0, 64)) +
                                   "\" is not an IP address or CIDR network");
  }
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    int max = cidr.family == 4 ? 32 : 128;
    int value = 0;
    if (bits.empty() || bits.size() > 3) value = -1;
    for (char c : bits) {
      if (c < '0' || c > '9') value = -1;
      if (value >= 0) value = value * 10 + (c - '0');
    }
    if (value < 0 || value > max) {
      return Status::InvalidArgument("\"" + std::string(text) + "\" has an invalid prefix length");
    }
    cidr.prefix_length = value;
  }
  return cidr;
}

bool AddressAllowed(const std::vector<Cidr>& networks, std::string_view address) {
  Cidr peer;
  if (!ParseAddress(std::string(address), &peer)) return false;
  for (const Cidr& net : networks) {
    if (net.family != peer.family) continue;
    int full = net.prefix_length / 8, rest = net.prefix_length % 8;
    if (std::memcmp(net.bytes, peer.bytes, full) != 0) continue;
    if (rest != 0) {
      unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
      if ((net.bytes[full] & mask) != (peer.bytes[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

}  // namespace triggerd::ingest
