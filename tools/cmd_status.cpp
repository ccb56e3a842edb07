// cmd_status.cpp — `joincast status`: is the daemon running, and how.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

int run(Context& ctx) {
  auto answer = call_daemon(ctx, {{"cmd", "status"}});
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  fmt::print("joincastd {} (pid {}), up {} s, config {}\n", answer.value("version", "?"), answer.value("pid", 0),
             answer.value("uptime_s", 0), answer.value("config", "?"));
  if (answer.contains("membership")) {
    const auto& m = answer["membership"];
    if (m.value("backend", "none") == "none") {
      fmt::print("membership: {}\n", m.value("note", std::string("off")));
    } else {
      std::string names;
      for (const auto& i : m["interfaces"])
        names += (names.empty() ? "" : ", ") + i.value("name", "?") + (i.value("attached", false) ? "" : " (pending)");
      fmt::print("membership: {} backend on {}, {}, {}\n", m.value("backend", "?"),
                 names.empty() ? "no interfaces" : names, plural(m.value("groups", 0u), "group", "groups"),
                 plural(m.value("listeners", 0u), "listener", "listeners"));
      for (const auto& q : m.value("querier", nlohmann::json::array()))
        fmt::print("  {} {}: {}{}, listeners age after {:g} s\n", q.value("interface", "?"), q.value("protocol", "?"),
                   q.value("role", "?"),
                   q.contains("other_querier") ? " (" + q["other_querier"].get<std::string>() + " queries)" : "",
                   q.value("listener_interval_s", 0.0));
    }
  }
  if (answer.contains("sessions")) {
    const auto& s = answer["sessions"];
    if (s.value("interface", std::string()).empty()) {
      fmt::print("sessions: off (no sessions.interface)\n");
    } else {
      std::string states;
      for (const auto& [state, n] : s["by_state"].items())
        states += fmt::format("{}{} {}", states.empty() ? "" : ", ", n.get<int>(), state);
      fmt::print("sessions: {} out of {}{}; {} started since start\n", plural(s.value("sessions", 0u), "session", "sessions"),
                 s.value("interface", "?"), states.empty() ? "" : " (" + states + ")", s.value("started_total", 0u));
    }
  }
  if (answer.contains("proxy")) {
    const auto& p = answer["proxy"];
    fmt::print("proxy: {} joined upstream on {}\n", plural(p["groups"].size(), "group", "groups"),
               p.value("upstream", "?"));
  }
  if (answer.contains("ssdp") && answer["ssdp"].is_object()) {
    // Per zone: interfaces attached, copies relayed, and what another relay
    // or a loop sent (those are not relayed; joincastd logs them too).
    for (const auto& z : answer["ssdp"].value("zones", nlohmann::json::array())) {
      unsigned attached = 0, total = 0;
      std::uint64_t relayed = 0, foreign = 0, loops = 0, devices = 0;
      for (const auto& i : z.value("interfaces", nlohmann::json::array())) {
        ++total;
        if (i.value("state", "") == "attached") ++attached;
        const auto& in = i.value("in", nlohmann::json::object());
        relayed += in.value("relayed", std::uint64_t{0});
        foreign += in.value("foreign_relay", std::uint64_t{0});
        loops += in.value("loop", std::uint64_t{0});
        devices += i.value("devices", nlohmann::json::array()).size();
      }
      fmt::print("ssdp: zone {}: {} of {} interfaces attached, {} relayed, {}{}{}\n", z.value("name", "?"), attached,
                 total, relayed, plural(devices, "device", "devices"),
                 foreign ? fmt::format(", {} from another relay", foreign) : "",
                 loops ? fmt::format(", {} looped back", loops) : "");
    }
  }
  if (answer.contains("mdns") && answer["mdns"].is_object()) {
    // Per zone: services seen and what was held back; another reflector on
    // the links is named (joincastd logs it once a minute too).
    const auto& m = answer["mdns"];
    for (const auto& z : m.value("zones", nlohmann::json::array()))
      fmt::print("mdns: zone {}: {} in force, {}, {} rate-limited, {} from another reflector\n", z.value("name", "?"),
                 plural(z.value("interfaces", nlohmann::json::array()).size(), "interface", "interfaces"),
                 plural(z.value("services", nlohmann::json::array()).size(), "service", "services"),
                 z.value("rate_limited", std::uint64_t{0}), z.value("reflected", std::uint64_t{0}));
    for (const auto& r : m.value("reflectors", nlohmann::json::array()))
      fmt::print("mdns: another reflector: {} in zone {} copies zone {}'s records; its traffic is not relayed\n",
                 r.value("address", "?"), r.value("zone", "?"), r.value("copies_from", "?"));
  }
  if (answer.contains("routing") && answer["routing"].is_object()) {
    const auto& r = answer["routing"];
    if (!r.value("enabled", false)) {
      fmt::print("routing: off (no [routing] section)\n");
    } else {
      fmt::print("routing: {}, {}, {} pending", plural(r.value("routes", 0u), "route", "routes"),
                 plural(r.value("templates", 0u), "template", "templates"), r.value("pending", 0u));
      for (const char* family : {"ipv4", "ipv6"})
        if (r.contains(family))
          fmt::print("; {}: {} VIFs, {} MFC entries", family, r[family].value("vifs", 0u),
                     r[family].value("mfc_entries", 0u));
      fmt::print("\n");
    }
  }
  return 0;
}

}  // namespace

const Command status_command{
    "status", "show whether joincastd runs and what it is doing",
    R"(Usage: joincast status [--json]

Shows the daemon's version, uptime and configuration file, and for each
module a line of state: the membership backend with its interfaces, groups,
listeners and querier role per interface; the sessions by state; the proxy's
upstream joins; per SSDP zone the interfaces attached, packets relayed,
devices heard and what came from another relay or looped back; routing.
Exits 1 if no daemon runs.)",
    run};

}  // namespace joincast::tools
