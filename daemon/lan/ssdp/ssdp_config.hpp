// ssdp_config.hpp — the [[ssdp.zone]] sections: which interfaces share
// UPnP/SSDP discovery, in which direction which kinds of message cross,
// the ports whose broadcasts become SSDP multicast, source filters, rate
// limit and TTL. docs/configuration.md documents every key, docs/ssdp.md
// the model.
#pragma once

#include "common/result.hpp"

#include "common/ip_address.hpp"
#include "daemon/core/config_reader.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace joincast::daemon::lan::ssdp {

// Message kinds, as bits (the values of bpf/shared/ssdp_abi.h's
// enum jc_ssdp_kind).
inline constexpr std::uint8_t kind_search = 1;
inline constexpr std::uint8_t kind_announcements = 2;
inline constexpr std::uint8_t kind_other = 4;
inline constexpr std::uint8_t kind_all = 7;

// "ext0 -> int0 search": what crosses from one interface to another.
struct RelayRule {
  std::string from, to;
  std::uint8_t kinds = kind_all;
  std::optional<unsigned> ttl;  // the zone's ttl unless given
};

// One source filter entry: an address prefix or a MAC address.
struct SourceFilter {
  std::optional<IpPrefix> prefix;
  std::optional<std::array<std::uint8_t, 6>> mac;
};

struct Zone {
  std::string name;
  std::vector<std::string> interfaces;
  std::vector<RelayRule> relay;  // empty: every pair, both ways, all kinds
  std::map<std::string, std::vector<SourceFilter>> sources;
  std::vector<std::uint16_t> ports{1900, 6969};
  bool ipv4 = true;
  bool ipv6 = true;
  bool rewrite_broadcast = true;
  unsigned rate = 100;   // packets/s per source and interface; 0: no limit
  unsigned burst = 200;  // packets at once
  unsigned ttl = 0;      // TTL / hop limit of the copies; 0: as received
  // Interfaces copies go out of only while a host there has joined the
  // SSDP group (239.255.255.250; ff02::c or ff05::c), as membership sees.
  std::set<std::string> on_demand;
};

struct SsdpSection {
  std::vector<Zone> zones;
};

// The rules of a zone with the default (every pair, both ways) expanded.
std::vector<RelayRule> effective_rules(const Zone& zone);
// "search+announcements", "all", for status and logs.
std::string kinds_name(std::uint8_t kinds);
// "aa:bb:cc:dd:ee:ff"; nullopt if not that.
std::optional<std::array<std::uint8_t, 6>> parse_mac(std::string_view text);
// One relay rule as the config spells it ("ext0 -> int0 search ttl=2";
// "a <-> b" is both ways); an error saying what is wrong if malformed.
struct ParsedRule {
  RelayRule rule;
  bool both_ways = false;
};
Result<ParsedRule> parse_rule(std::string_view text);

void parse_ssdp_section(core::ConfigReader& r, const toml::table& root, SsdpSection& s);
// An on-demand interface learns of its listeners from the membership
// module: it must be one of membership.interfaces.
void check_on_demand(core::ConfigReader& r, const toml::table& root, const SsdpSection& s,
                     const std::vector<std::string>& membership_interfaces);

}  // namespace joincast::daemon::lan::ssdp
