// routing_config.hpp — the [routing] section of joincast.toml: multicast
// routes (ours, and smcroute.conf files included as they are), group
// blocks and the routes that end the ff00::/8 ambiguity, static joins,
// bridge snooping settings and MDB entries. docs/configuration.md
// documents every key.
//
// Everything here is checked when the file is read (joincastd --check, and
// SIGHUP before anything changes): a bad line in an included smcroute.conf
// is a config error with that file's name, line and column.
#pragma once

#include "daemon/core/config_reader.hpp"
#include "daemon/routing/group_block.hpp"
#include "daemon/routing/smcroute_conf.hpp"
#include "common/ip_address.hpp"
#include "netlink/link.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::routing {

// A multicast route as configured: an (S,G) route when source and group
// are single addresses and `from` names one interface, otherwise a
// template that the kernel's no-cache upcalls resolve into (S,G) entries.
struct RouteRule {
  int family = AF_UNSPEC;
  std::string from;                         // interface name or "eth+"
  std::optional<IpPrefix> source;  // nullopt: any source
  std::optional<IpPrefix> group;   // or:
  std::string block;                        // the groups of a [[routing.group_block]]
  std::vector<std::string> to;              // output interfaces (names or "eth+")
  std::string origin;                       // "joincast.toml:12", "smcroute.conf:3", "control"

  // A single (S,G) entry the kernel gets at once.
  bool source_specific() const;
  // Same route (ignoring origin), for reload diffs and `route del`.
  bool same_selector(const RouteRule& other) const;
  std::string describe() const;  // "from eth0 source 10.0.0.1 group 239.1.1.1 to eth1 eth2"
  bool operator==(const RouteRule&) const = default;
};

struct StaticJoin {
  std::string interface;
  std::optional<IpPrefix> source;
  IpPrefix group;  // a /LEN joins every group of the range
  std::string origin;
  bool operator==(const StaticJoin&) const = default;
};

struct GroupBlockConfig {
  std::string name;
  std::string interface;    // where the block's groups leave (the ambiguity fix)
  std::string derive_from;  // whose global /64 gives the prefix; default: interface
  std::optional<IpPrefix> prefix;  // an explicit /64 instead
  std::vector<GroupIdRange> ids;
  std::vector<IpPrefix> groups;    // literal prefixes (IPv4 or IPv6) instead of ids
  std::uint8_t scope = 0xe;
  bool route = true;        // install the more-specific route
  std::string origin;

  bool derived() const { return groups.empty(); }
  bool operator==(const GroupBlockConfig&) const = default;
};

struct BridgeConfig {
  std::string bridge;
  netlink::BridgeMulticast settings;
  std::string origin;
  bool operator==(const BridgeConfig&) const = default;
};

struct MdbConfig {
  std::string bridge;
  std::string port;
  IpAddress group;
  std::optional<IpAddress> source;
  std::uint16_t vid = 0;
  bool permanent = true;
  std::string origin;
  bool operator==(const MdbConfig&) const = default;
};

struct InterfaceConfig {
  std::string name;  // or "eth+"
  std::uint8_t ttl_threshold = 1;
  bool enabled = true;  // smcroute's `phyint NAME disable`
  std::string origin;
  bool operator==(const InterfaceConfig&) const = default;
};

struct RoutingSection {
  bool enabled = false;  // the section is present
  bool ipv4 = true;
  bool ipv6 = true;
  // MRT_TABLE/MRT6_TABLE; nullopt: the kernel's default table (253), the
  // one smcrouted and `ip mroute show` use unless told otherwise.
  std::optional<std::uint32_t> table;
  // `ip mrule` priority for the rules that send the VIF interfaces'
  // traffic to `table` (only with a table).
  std::uint32_t rule_priority = 1000;
  std::chrono::milliseconds dynamic_expiry{60'000};
  // Where group block routes go: the table the kernel consults first.
  std::uint32_t group_route_table = 255;  // "local"
  std::uint32_t group_route_metric = 256;
  // rtm_protocol of the routes and rules joincastd installs, so it finds
  // its own after a restart and leaves everyone else's alone.
  std::uint8_t route_protocol = 200;

  std::vector<std::string> smcroute_files;  // what `include` named, resolved
  std::vector<InterfaceConfig> interfaces;
  std::vector<RouteRule> routes;
  std::vector<StaticJoin> joins;
  std::vector<GroupBlockConfig> blocks;
  std::vector<BridgeConfig> bridges;
  std::vector<MdbConfig> mdb;
  std::vector<std::string> warnings;  // logged at start and reload

  bool operator==(const RoutingSection&) const = default;
};

// "239.1.1.1", "225.0.0.0/24", "ff3e::/16": a group or a range of them.
// On failure returns nullopt and says why in `error`.
std::optional<IpPrefix> parse_group_prefix(std::string_view text, std::string& error);

// Parses [routing] from root into section; errors go to reader (with the
// smcroute.conf file name for lines from an included file).
void parse_routing(core::ConfigReader& reader, const toml::table& root, RoutingSection& section);

}  // namespace joincast::daemon::routing
