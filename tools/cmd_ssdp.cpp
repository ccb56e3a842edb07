// cmd_ssdp.cpp — `joincast ssdp`: the SSDP zones, their interfaces and the
// relay's counters, from the daemon or, when it is down, the counters alone
// from the pinned map.
#include "daemon/lan/ssdp/loader/ssdp_program.hpp"
#include "tools/commands.hpp"

#include <net/if.h>

#include <fmt/format.h>

namespace joincast::tools {

namespace {

using daemon::lan::ssdp::counter_fields;

nlohmann::json from_pinned_map(const Context& ctx) {
  auto counters = daemon::lan::ssdp::read_pinned_counters(ctx.bpf_root);
  if (!counters)
    throw CliError(fmt::format("joincastd is not running and the SSDP counters under {} cannot be read: {}",
                               ctx.bpf_root, counters.error().message()));
  nlohmann::json ifaces = nlohmann::json::array();
  for (const auto& c : counters.value()) {
    char name[IF_NAMESIZE] = {};
    nlohmann::json j = {{"ifindex", c.key.ifindex},
                        {"name", ::if_indextoname(c.key.ifindex, name) ? name : fmt::format("if{}", c.key.ifindex)},
                        {"direction", c.key.direction == JC_SSDP_OUT ? "out" : "in"}};
    for (const auto& f : counter_fields) j[f.name] = c.value.*f.member;
    ifaces.push_back(std::move(j));
  }
  return {{"source", "pinned map " + ctx.bpf_root}, {"counters", std::move(ifaces)}};
}

// The verdicts worth a column: the rest appear only when not zero.
std::string verdicts(const nlohmann::json& c) {
  std::string out;
  for (const auto& [k, v] : c.items()) {
    if (!v.is_number() || v.get<std::uint64_t>() == 0) continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", k, v.get<std::uint64_t>());
  }
  return out.empty() ? "-" : out;
}

int run(Context& ctx) {
  for (const auto& a : ctx.args) throw CliError("unexpected argument \"" + a + "\" (see joincast ssdp --help)");
  auto answer = try_call_daemon(ctx, {{"cmd", "ssdp"}});
  nlohmann::json doc = answer ? *answer : from_pinned_map(ctx);
  if (ctx.json) {
    print_json(doc);
    return 0;
  }
  if (!answer) {
    fmt::print("(joincastd is not running; counters read from {})\n", ctx.bpf_root);
    for (const auto& c : doc["counters"])
      fmt::print("  {:<12} {:<3} {}\n", c["name"].get<std::string>(), c["direction"].get<std::string>(), verdicts(c));
    return 0;
  }
  if (doc["zones"].empty()) {
    fmt::print("no SSDP zone is configured\n");
    return 0;
  }
  for (const auto& z : doc["zones"]) {
    fmt::print("zone {}  ports {}  {}{}  rate {}/s burst {}\n", z["name"].get<std::string>(), z["ports"].dump(),
               z["ipv4"].get<bool>() ? "IPv4" : "", z["ipv6"].get<bool>() ? (z["ipv4"].get<bool>() ? "+IPv6" : "IPv6") : "",
               z["rate"].get<unsigned>(), z["burst"].get<unsigned>());
    for (const auto& r : z["relay"])
      fmt::print("  {} -> {}  {}{}\n", r["from"].get<std::string>(), r["to"].get<std::string>(),
                 r["kinds"].get<std::string>(), r.contains("ttl") ? fmt::format(" ttl={}", r["ttl"].get<unsigned>()) : "");
    for (const auto& i : z["interfaces"]) {
      std::string demand;
      if (i.value("on_demand", false)) {
        std::string groups;
        for (const auto& g : i.value("listening", nlohmann::json::array()))
          groups += (groups.empty() ? "" : ", ") + g.get<std::string>();
        demand = "  on demand, listening: " + (groups.empty() ? std::string("nobody") : groups);
      }
      fmt::print("  {:<12} {:<8}{}{}\n", i["name"].get<std::string>(), i["state"].get<std::string>(),
                 i.contains("error") ? "  " + i["error"].get<std::string>() : "", demand);
      fmt::print("      in:  {}\n      out: {}\n", verdicts(i["in"]), verdicts(i["out"]));
      for (const auto& dev : i.value("devices", nlohmann::json::array()))
        fmt::print("      device {}  {}  {}  {}  ({}s ago)\n", dev["usn"].get<std::string>(), dev["nt"].get<std::string>(),
                   dev["server"].get<std::string>(), dev["location"].get<std::string>(),
                   dev["last_seen_s_ago"].get<long>());
    }
  }
  return 0;
}

}  // namespace

const Command ssdp_command{
    "ssdp", "show SSDP zones, their interfaces and relay counters",
    R"(Usage: joincast ssdp [--json]

For every [[ssdp.zone]]: its relay rules (which interface's searches or
announcements reach which other), and per interface whether it is attached
(or pending, waiting for it to appear) and the counters of the SSDP relay
program: "in" for packets received on it (ssdp, rewritten, relayed,
filtered, policy, rate_limited, loop, foreign_relay, truncated, malformed,
fragment, oversized, errors), "out" for the copies sent out of it (relayed,
errors, no_listeners: held back from an on-demand interface where no host
listens). Counters that are zero are left out of the table, not of --json.
An on-demand interface says which SSDP groups a host there listens to.
Then the devices heard on each interface (what they announce or answer on
their own network): USN, NT, SERVER, LOCATION and when last heard; "which
Sonos is where".
When joincastd is not running, the counters are read from the pinned map
(see --bpf-root).)",
    run};

}  // namespace joincast::tools
