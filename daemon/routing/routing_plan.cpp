// routing_plan.cpp — see routing_plan.hpp.
#include "daemon/routing/routing_plan.hpp"

#include "daemon/routing/group_block.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>

#include <algorithm>

namespace joincast::daemon::routing {


namespace {

struct InterfaceSetting {
  std::uint8_t ttl = 1;
  bool enabled = true;
  std::string origin;
};

class Planner {
 public:
  explicit Planner(const PlanInput& in) : in_(in), ifs_(in.interfaces) {}
  Planner(const PlanInput& in, RoutingPlan&& plan) : in_(in), ifs_(in.interfaces), plan_(std::move(plan)) {}

  RoutingPlan one_more(const RouteRule& rule) {
    plan_rule(rule);
    return std::move(plan_);
  }

  RoutingPlan run() {
    for (const auto& [family, indexes] : in_.pinned)
      for (int ifindex : indexes) plan_.vifs[family].emplace(ifindex, setting(ifs_.name(ifindex)).ttl);
    plan_blocks();
    for (const auto& rule : in_.config.routes) plan_rule(rule);
    for (const auto& rule : in_.runtime) plan_rule(rule);
    for (const auto& join : in_.config.joins) plan_join(join);
    plan_bridges();
    plan_mdb();
    return std::move(plan_);
  }

 private:
  // smcroute's phyint semantics: the last matching line wins.
  InterfaceSetting setting(std::string_view name) const {
    InterfaceSetting s;
    for (const auto& i : in_.config.interfaces) {
      if (!core::interface_matches(i.name, name)) continue;
      s.ttl = i.ttl_threshold;
      s.enabled = i.enabled;
      s.origin = i.origin;
    }
    return s;
  }

  void pending(std::string what, std::string origin, std::string reason, bool vif_exhausted = false) {
    plan_.pending.push_back({std::move(what), std::move(origin), std::move(reason), vif_exhausted});
  }

  void note_missing_outputs(const std::string& what, const RouteRule& rule, const std::vector<std::string>& missing) {
    for (const auto& name : missing) {
      const bool present = !ifs_.matching(name).empty();
      std::string reason = present ? fmt::format("output interface {} is disabled; routed without it", name)
                                   : fmt::format("output interface {} is missing; routed without it until it appears", name);
      plan_.incomplete.push_back({what, rule.origin, std::move(reason)});
    }
  }

  void plan_blocks() {
    for (const auto& b : in_.config.blocks) {
      PlannedBlock pb;
      pb.name = b.name;
      pb.interface = b.interface;
      pb.origin = b.origin;
      std::string what = fmt::format("group block \"{}\"", b.name);
      if (!b.derived()) {
        pb.prefixes = b.groups;
      } else {
        if (b.prefix) {
          pb.prefix64 = *b.prefix;
        } else if (const auto* l = ifs_.find(b.derive_from)) {
          pb.prefix64 = catalogue::derivation_prefix(ifs_.addresses(l->ifindex));
          if (!pb.prefix64) pending(what, b.origin, fmt::format("{} has no global IPv6 address to derive groups from", b.derive_from));
        } else {
          pending(what, b.origin, fmt::format("interface {} (to derive groups from) is missing", b.derive_from));
        }
        if (pb.prefix64) pb.prefixes = derive_block_prefixes(*pb.prefix64, b.ids, b.scope);
      }
      if (b.route && !pb.prefixes.empty()) {
        const auto* out = ifs_.find(b.interface);
        if (!out) {
          pending(what, b.origin, fmt::format("interface {} is missing; its group routes wait", b.interface));
        } else if (!out->up()) {
          pending(what, b.origin, fmt::format("interface {} is down; its group routes wait", b.interface));
        } else {
          for (const auto& p : pb.prefixes) {
            netlink::Route r;
            r.destination = p;
            r.table = in_.config.group_route_table;
            r.type = RTN_MULTICAST;
            r.protocol = in_.config.route_protocol;
            // IPv4 multicast routes are link-scoped (as `ip route add
            // multicast` makes them); IPv6 has no route scopes.
            r.scope = p.family() == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
            r.oif = out->ifindex;
            r.priority = in_.config.group_route_metric;
            plan_.group_routes.push_back(r);
          }
          pb.routed = true;
        }
      }
      plan_.blocks.push_back(std::move(pb));
    }
  }

  const PlannedBlock* block(const std::string& name) const {
    for (const auto& b : plan_.blocks)
      if (b.name == name) return &b;
    return nullptr;
  }

  // Resolves output names to present, enabled interfaces; records the
  // names that match nothing.
  kernel::OifMap outputs(const RouteRule& rule, std::vector<std::string>& missing) const {
    kernel::OifMap oifs;
    for (const auto& name : rule.to) {
      auto links = ifs_.matching(name);
      bool any = false;
      for (const auto* l : links) {
        InterfaceSetting s = setting(l->name);
        if (!s.enabled) continue;
        oifs[l->ifindex] = s.ttl;
        any = true;
      }
      if (!any) missing.push_back(name);
    }
    return oifs;
  }

  // Claims VIFs for `needed` in `family`, or explains why not.
  bool claim_vifs(int family, const std::map<int, std::uint8_t>& needed, std::string& reason) {
    auto& have = plan_.vifs[family];
    std::vector<int> fresh;
    for (const auto& [ifindex, ttl] : needed)
      if (!have.count(ifindex)) fresh.push_back(ifindex);
    if (have.size() + fresh.size() > netlink::max_vifs) {
      std::string users;
      for (const auto& [ifindex, ttl] : have) users += (users.empty() ? "" : ", ") + ifs_.name(ifindex);
      reason = fmt::format(
          "needs a VIF for {}, but all {} {} of multicast routing table {} are in use ({}): the kernel has no 33rd",
          ifs_.name(fresh[netlink::max_vifs - have.size()]), netlink::max_vifs,
          family == AF_INET ? "VIFs" : "MIFs", family == AF_INET ? in_.table_ipv4 : in_.table_ipv6, users);
      return false;
    }
    for (const auto& [ifindex, ttl] : needed) have.emplace(ifindex, ttl);
    return true;
  }

  void plan_rule(const RouteRule& rule) {
    // Described only when pending: a plan of 10 000 routes formats none.
    auto what = [&rule] { return "route " + rule.describe(); };
    std::vector<IpPrefix> groups;
    if (rule.group) {
      groups.push_back(*rule.group);
    } else {
      const PlannedBlock* b = block(rule.block);
      if (!b || b->prefixes.empty()) {
        pending(what(), rule.origin, fmt::format("group block \"{}\" has no groups yet", rule.block));
        return;
      }
      groups = b->prefixes;
    }
    std::vector<std::string> missing;
    kernel::OifMap oifs = outputs(rule, missing);

    if (rule.source_specific()) {
      const auto* in = ifs_.find(rule.from);
      if (!in) {
        pending(what(), rule.origin, fmt::format("input interface {} is missing", rule.from));
        return;
      }
      InterfaceSetting s = setting(in->name);
      if (!s.enabled) {
        pending(what(), rule.origin, fmt::format("input interface {} is disabled ({})", rule.from, s.origin));
        return;
      }
      std::map<int, std::uint8_t> needed = oifs;
      needed.emplace(in->ifindex, s.ttl);
      std::string reason;
      if (!claim_vifs(rule.family, needed, reason)) {
        pending(what(), rule.origin, reason, true);
        return;
      }
      kernel::MfcKey key{rule.family, rule.source->address(), rule.group->address()};
      auto [it, inserted] = plan_.routes.try_emplace(key);
      PlannedRoute& r = it->second;
      if (!inserted && r.iif != in->ifindex) {
        pending(what(), rule.origin,
                fmt::format("({}, {}) is already routed from {} ({})", key.source.to_string(), key.group.to_string(),
                            ifs_.name(r.iif), r.origin));
        return;
      }
      if (inserted) {
        r.iif = in->ifindex;
        r.origin = rule.origin;
      }
      // Several lines for one (S,G) add up their outputs, as in smcroute.
      for (const auto& [ifindex, ttl] : oifs) r.oifs[ifindex] = ttl;
      r.missing_outputs.insert(r.missing_outputs.end(), missing.begin(), missing.end());
      note_missing_outputs(what(), rule, missing);
      return;
    }

    // A template: every present interface matching `from` needs a VIF to
    // report traffic on.
    std::vector<int> iifs;
    std::map<int, std::uint8_t> needed = oifs;
    for (const auto* l : ifs_.matching(rule.from)) {
      InterfaceSetting s = setting(l->name);
      if (!s.enabled) continue;
      iifs.push_back(l->ifindex);
      needed.emplace(l->ifindex, s.ttl);
    }
    std::string reason;
    if (!iifs.empty() && !claim_vifs(rule.family, needed, reason)) {
      pending(what(), rule.origin, reason, true);
      return;
    }
    if (iifs.empty()) pending(what(), rule.origin, fmt::format("no input interface matches {} yet", rule.from));
    else note_missing_outputs(what(), rule, missing);
    for (const auto& g : groups) {
      Template t;
      t.family = rule.family;
      t.from = rule.from;
      t.source = rule.source;
      t.group = g;
      t.oifs = oifs;
      t.iifs = iifs;
      t.origin = rule.origin;
      RouteRule shown = rule;
      shown.group = g;
      shown.block.clear();
      t.description = shown.describe();
      plan_.templates.push_back(std::move(t));
    }
  }

  void plan_join(const StaticJoin& join) {
    const std::string what = fmt::format("join {} on {}", join.group.to_string(true), join.interface);
    auto links = ifs_.matching(join.interface);
    if (links.empty()) {
      pending(what, join.origin, fmt::format("interface {} is missing", join.interface));
      return;
    }
    const unsigned max = join.group.address().max_prefix();
    const unsigned group_bits = max - join.group.length();
    const unsigned source_bits = join.source ? max - join.source->length() : 0;
    if (group_bits + source_bits > 10) {
      pending(what, join.origin, fmt::format("expands to more than {} joins", max_joins_per_statement));
      return;
    }
    for (const auto* l : links) {
      for (std::uint64_t gi = 0; gi < (std::uint64_t{1} << group_bits); ++gi) {
        for (std::uint64_t si = 0; si < (std::uint64_t{1} << source_bits); ++si) {
          kernel::PlannedJoin pj;
          pj.ifindex = l->ifindex;
          pj.group = offset(join.group, gi);
          if (join.source) pj.source = offset(*join.source, si);
          pj.origin = join.origin;
          plan_.joins.insert(pj);
        }
      }
    }
  }

  // The n-th address of a prefix (n fits in the host bits).
  static IpAddress offset(const IpPrefix& p, std::uint64_t n) {
    std::array<std::uint8_t, 16> b{};
    std::copy_n(p.address().data(), p.address().size(), b.begin());
    std::size_t i = p.address().size();
    while (n && i > 0) {
      --i;
      const unsigned sum = b[i] + static_cast<unsigned>(n & 0xff);
      b[i] = static_cast<std::uint8_t>(sum);
      n = (n >> 8) + (sum >> 8);
    }
    return *IpAddress::from_bytes(p.family(), {b.data(), p.address().size()});
  }

  void plan_bridges() {
    for (const auto& b : in_.config.bridges) {
      const auto* l = ifs_.find(b.bridge);
      const std::string what = fmt::format("bridge {} settings", b.bridge);
      if (!l) pending(what, b.origin, fmt::format("bridge {} is missing", b.bridge));
      else if (l->kind != "bridge") pending(what, b.origin, fmt::format("{} is not a bridge", b.bridge));
      else plan_.bridges[l->ifindex] = b.settings;
    }
  }

  void plan_mdb() {
    for (const auto& m : in_.config.mdb) {
      const std::string what = fmt::format("MDB entry {} on {} port {}", m.group.to_string(), m.bridge, m.port);
      const auto* bridge = ifs_.find(m.bridge);
      const auto* port = ifs_.find(m.port);
      if (!bridge || bridge->kind != "bridge") {
        pending(what, m.origin, fmt::format("bridge {} is missing", m.bridge));
        continue;
      }
      if (!port) {
        pending(what, m.origin, fmt::format("port {} is missing", m.port));
        continue;
      }
      if (port->ifindex != bridge->ifindex && port->master != bridge->ifindex) {
        pending(what, m.origin, fmt::format("{} is not a port of {}", m.port, m.bridge));
        continue;
      }
      netlink::MdbEntry e;
      e.bridge = bridge->ifindex;
      e.port = port->ifindex;
      e.group = m.group;
      e.source = m.source;
      e.vid = m.vid;
      e.permanent = m.permanent;
      plan_.mdb.push_back({e, m.origin});
    }
  }

  const PlanInput& in_;
  const core::InterfaceTable& ifs_;
  RoutingPlan plan_;
};

}  // namespace

bool Template::matches(std::string_view iif_name, const IpAddress& source_address,
                       const IpAddress& group_address) const {
  if (group_address.family() != family || !core::interface_matches(from, iif_name)) return false;
  if (!group.contains(group_address)) return false;
  return !source || source->contains(source_address);
}

bool RoutingPlan::vif_exhausted() const {
  return std::any_of(pending.begin(), pending.end(), [](const Pending& p) { return p.vif_exhausted; });
}

Result<void> applicable(const RoutingPlan& plan) {
  for (const auto& p : plan.pending)
    if (p.vif_exhausted) return invalid(fmt::format("{} ({}) {}", p.what, p.origin, p.reason));
  return success();
}

const Template* RoutingPlan::match(int family, std::string_view iif_name, const IpAddress& source,
                                   const IpAddress& group) const {
  for (const auto& t : templates)
    if (t.family == family && t.matches(iif_name, source, group)) return &t;
  return nullptr;
}

RoutingPlan make_plan(const PlanInput& input) { return Planner(input).run(); }

void plan_one_more(RoutingPlan& plan, const PlanInput& input, const RouteRule& rule) {
  plan = Planner(input, std::move(plan)).one_more(rule);
}

}  // namespace joincast::daemon::routing
