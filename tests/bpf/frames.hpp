// frames.hpp — the hosts, groups and everyday reports the membership tests
// share, so each test spells out only what it is about.
#pragma once

#include "tests/bpf/packet_builder.hpp"

#include <string>
#include <string_view>

namespace joincast::tests {

// Hosts: documentation addresses (RFC 5737) and link-local IPv6.
inline constexpr std::string_view host4_a = "192.0.2.10";
inline constexpr std::string_view host4_b = "192.0.2.11";
inline constexpr std::string_view host6_a = "fe80::10";
inline constexpr std::string_view host6_b = "fe80::11";
inline constexpr std::string_view router6 = "fe80::1";
inline constexpr std::string_view router4 = "192.0.2.1";

// Groups: an organisation-local IPv4 group and the RFC 3306 example of
// PROTOCOLS.md.
inline constexpr std::string_view group4 = "239.1.2.3";
inline constexpr std::string_view group4_b = "239.1.2.4";
inline constexpr std::string_view group6 = "ff3e:40:2001:db8:d0be:f00d:8000:0";
inline constexpr std::string_view group6_b = "ff3e:40:2001:db8:d0be:f00d:8000:1";

inline GroupRecord record(std::uint8_t type, std::string_view group, std::vector<std::string_view> sources = {}) {
  GroupRecord r;
  r.type = type;
  r.group = addr(group);
  for (auto s : sources) r.sources.push_back(addr(s));
  return r;
}

// An MLDv2 report as hosts send it: to ff02::16 with hop-by-hop Router Alert.
inline Bytes mld2(std::string_view host, std::vector<GroupRecord> records) {
  return PacketBuilder().ipv6(host, "ff02::16").mld_v2_report(std::move(records)).build();
}

// An IGMPv3 report as hosts send it: to 224.0.0.22 with Router Alert.
inline Bytes igmp3(std::string_view host, std::vector<GroupRecord> records) {
  return PacketBuilder().ipv4(host, "224.0.0.22").igmp_v3_report(std::move(records)).build();
}

}  // namespace joincast::tests
