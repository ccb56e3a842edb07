// routing_plan.hpp — what the kernel should hold, computed from the
// [routing] configuration, the routes added at runtime and the interfaces
// that exist right now. Pure: no sockets, so every rule of it is unit
// tested (tests/unit/routing_plan_test.cpp).
//
// The plan says, per address family: which interfaces need a VIF (in the
// order routes claim them, so the 33rd is refused deterministically), the
// (S,G) entries to install, the (*,G) templates that upcalls resolve, and
// everything else the routing module owns: group block routes, static
// joins, MDB entries and bridge settings. What cannot be done yet (an
// interface is missing, a block has no prefix, no VIF is left) is listed
// as pending with the reason, never silently dropped.
#pragma once

#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/kernel/mfc_key.hpp"
#include "daemon/routing/kernel/bridge_state.hpp"
#include "daemon/routing/kernel/static_joins.hpp"
#include "daemon/routing/routing_config.hpp"
#include "common/ip_address.hpp"
#include "netlink/link.hpp"
#include "netlink/mdb.hpp"
#include "netlink/mfc.hpp"
#include "netlink/route.hpp"

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace joincast::daemon::routing {

// A (*,G) route, or one whose source or group is a range: resolved into
// (S,G) entries when the kernel reports traffic it has no entry for.
struct Template {
  int family = AF_UNSPEC;
  std::string from;  // name or "eth+"
  std::optional<IpPrefix> source;
  IpPrefix group;
  kernel::OifMap oifs;
  std::vector<int> iifs;  // present interfaces matching `from`
  std::string origin;
  std::string description;

  bool matches(std::string_view iif_name, const IpAddress& source_address,
               const IpAddress& group_address) const;
};

struct PlannedRoute {
  int iif = 0;
  kernel::OifMap oifs;
  std::string origin;
  std::vector<std::string> missing_outputs;  // configured outputs not present now
};

struct Pending {
  std::string what;    // "route from eth0 group 239.1.1.1 to eth1"
  std::string origin;  // "joincast.toml:12"
  std::string reason;  // "input interface eth0 is missing"
  bool vif_exhausted = false;
};

struct PlannedBlock {
  std::string name;
  std::string interface;
  std::string origin;
  std::optional<IpPrefix> prefix64;  // derived or configured
  std::vector<IpPrefix> prefixes;
  bool routed = false;  // its routes are in group_routes
};

struct RoutingPlan {
  std::vector<Template> templates;
  std::map<kernel::MfcKey, PlannedRoute> routes;
  std::vector<Pending> pending;
  // Routes installed without some of their outputs, one per output that
  // matches no present, enabled interface (a late interface, or a typo
  // such as `to ext1`): listed as pending by `joincast routes`.
  std::vector<Pending> incomplete;
  std::vector<PlannedBlock> blocks;
  std::vector<netlink::Route> group_routes;
  std::set<kernel::PlannedJoin> joins;
  std::vector<kernel::PlannedMdb> mdb;
  std::map<int, netlink::BridgeMulticast> bridges;  // bridge ifindex -> settings to enforce
  // family -> ifindex -> threshold: the interfaces that need a VIF.
  std::map<int, std::map<int, std::uint8_t>> vifs;

  bool vif_exhausted() const;
  // The first template (in configuration order) for traffic from source
  // to group arriving on iif_name.
  const Template* match(int family, std::string_view iif_name, const IpAddress& source,
                        const IpAddress& group) const;
};

struct PlanInput {
  const RoutingSection& config;
  const std::vector<RouteRule>& runtime;
  const core::InterfaceTable& interfaces;
  // family -> interfaces that must have a VIF whatever the routes say (the
  // membership tap); they are served first.
  std::map<int, std::set<int>> pinned;
  // The multicast routing tables (IPv4, IPv6), for messages.
  std::uint32_t table_ipv4 = netlink::default_mroute_table_ipv4;
  std::uint32_t table_ipv6 = netlink::default_mroute_table_ipv6;
};

// Whether a transaction may apply `plan`: an error naming the route that
// would need a 33rd VIF if not, what the daemon says at start and
// `joincastd --check` too.
Result<void> applicable(const RoutingPlan& plan);

// A join statement expands to at most this many (S,G) joins.
constexpr std::size_t max_joins_per_statement = 1024;

RoutingPlan make_plan(const PlanInput& input);

// Plans one more route on top of `plan`, made by make_plan() from `input`
// (whose runtime routes do not include `rule` yet): the result is what
// make_plan() gives with `rule` appended to the runtime routes. The cheap
// path for `route add`: it touches one (S,G) entry, not all of them.
void plan_one_more(RoutingPlan& plan, const PlanInput& input, const RouteRule& rule);

}  // namespace joincast::daemon::routing
