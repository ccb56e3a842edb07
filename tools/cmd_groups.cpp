// cmd_groups.cpp — `joincast groups`: who listens to which group, from the
// daemon or, when it is down, straight from the pinned BPF maps.
#include "daemon/membership/loader/membership_json.hpp"
#include "daemon/membership/loader/membership_maps.hpp"
#include "daemon/membership/loader/membership_program.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

nlohmann::json from_pinned_maps(const Context& ctx, bool include_empty) {
  auto maps = daemon::membership::loader::MembershipMaps::open_pinned(ctx.bpf_root);
  if (!maps)
    throw CliError(fmt::format("joincastd is not running and the pinned maps under {} cannot be read: {}",
                               ctx.bpf_root, maps.error().message()));
  auto groups = maps.value().groups();
  auto listeners = maps.value().listeners();
  if (!groups || !listeners)
    throw CliError(fmt::format("reading the pinned maps under {} failed: {}", ctx.bpf_root,
                               (!groups ? groups.error() : listeners.error()).message()));
  auto out = daemon::membership::loader::groups_json(groups.value(), listeners.value(), daemon::membership::loader::monotonic_ns(), include_empty);
  out["source"] = "pinned maps " + ctx.bpf_root;
  return out;
}

int run(Context& ctx) {
  bool all = false;
  std::string only;
  for (const auto& a : ctx.args) {
    if (a == "--all") all = true;
    else if (only.empty() && a[0] != '-') only = a;
    else throw CliError("unexpected argument \"" + a + "\" (see joincast groups --help)");
  }
  auto answer = try_call_daemon(ctx, {{"cmd", "groups"}, {"all", all}});
  nlohmann::json doc = answer ? *answer : from_pinned_maps(ctx, all);
  if (!only.empty()) {
    auto want = daemon::membership::loader::parse_address(only);
    if (!want) throw CliError("\"" + only + "\" is not an IPv4 or IPv6 address");
    std::string canonical = daemon::membership::loader::format_address(want->data());
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& g : doc["groups"])
      if (g["group"] == canonical) kept.push_back(g);
    doc["groups"] = kept;
  }
  if (ctx.json) {
    print_json(doc);
    return 0;
  }
  if (!answer) fmt::print("(joincastd is not running; read from {})\n", ctx.bpf_root);
  if (doc["groups"].empty()) {
    fmt::print("no group has listeners\n");
    return 0;
  }
  for (const auto& g : doc["groups"]) {
    fmt::print("{}  {} listener{}  since {}\n", g["group"].get<std::string>(), g["listeners"].get<int>(),
               g["listeners"].get<int>() == 1 ? "" : "s", g["first_join"].get<std::string>());
    for (const auto& m : g["members"]) {
      fmt::print("    {:<10} {:<28} {:<7} {:<8} last report {:.1f}s ago{}\n", m["interface"].get<std::string>(),
                 m["host"].get<std::string>(), m["version"].get<std::string>(), m["mode"].get<std::string>(),
                 m["last_report_ago_s"].get<double>(), m["leaving"].get<bool>() ? ", leaving" : "");
    }
  }
  return 0;
}

}  // namespace

const Command groups_command{
    "groups", "list groups with their listener count and listeners",
    R"(Usage: joincast groups [--json] [--all] [GROUP]

Lists every multicast group that has listeners: the group address, how many
hosts listen, since when, and for each listener the interface it reported
on, its address, protocol (MLDv1/v2, IGMPv1/2/3), filter mode and the age
of its last report. "leaving" marks a listener whose leave is being
verified with last-listener queries.

With GROUP, shows only that group. --all also lists groups whose last
listener left recently (they are kept for membership.timers.
empty_group_retention, 10 minutes by default). When joincastd is not running the same
table is read from the pinned BPF maps (see --bpf-root).)",
    run};

}  // namespace joincast::tools
