// cmd_monitor.cpp — `joincast monitor`: the [[monitor]] entries in force,
// with what arrived, from whom, and whether a daemon listens for it.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

std::string text_or(const nlohmann::json& v, const char* fallback) {
  return v.is_string() ? v.get<std::string>() : fallback;
}

int run(Context& ctx) {
  for (const auto& a : ctx.args) throw CliError("unexpected argument \"" + a + "\" (see joincast monitor --help)");
  nlohmann::json doc = call_daemon(ctx, {{"cmd", "monitor"}});
  if (ctx.json) {
    print_json(doc);
    return 0;
  }
  if (doc["entries"].empty() && doc.value("pending", nlohmann::json::array()).empty()) {
    fmt::print("no [[monitor]] entries are configured\n");
    return 0;
  }
  for (const auto& e : doc["entries"]) {
    fmt::print("{} {} port {} on {}{}\n", e["service"].get<std::string>(), e["group"].get<std::string>(),
               e["port"].get<int>(), e["interface"].get<std::string>(), e["derived"].get<bool>() ? " (RFC 6034)" : "");
    fmt::print("    {} packets, {} bytes; last from {} {}\n", e.value("packets", 0), e.value("bytes", 0),
               text_or(e.value("last_sender", nlohmann::json()), "nobody yet"),
               e.value("last_seen_ago_s", nlohmann::json()).is_number()
                   ? fmt::format("{:.1f}s ago", e["last_seen_ago_s"].get<double>())
                   : "");
    if (!e["senders"].empty()) {
      std::string list;
      for (const auto& s : e["senders"]) list += (list.empty() ? "" : " ") + s.get<std::string>();
      fmt::print("    senders {}{}; {} filtered{}\n", list, e["source_specific"].get<bool>() ? " (source-specific join)" : "",
                 e.value("filtered", 0),
                 e.value("last_filtered_sender", nlohmann::json()).is_string()
                     ? ", last from " + e["last_filtered_sender"].get<std::string>()
                     : "");
    }
    if (e["rewrite_to"].is_string())
      fmt::print("    rewritten to {}: {}\n", e["rewrite_to"].get<std::string>(), e.value("rewritten", 0));
    if (e.contains("daemon_listening") && !e["daemon_listening"].get<bool>())
      fmt::print("    warning: nothing listens on udp port {}: these datagrams are lost\n", e["port"].get<int>());
    if (e.contains("error")) fmt::print("    error: {}\n", e["error"].get<std::string>());
  }
  for (const auto& p : doc.value("pending", nlohmann::json::array()))
    fmt::print("pending: {} {} on {}: {}\n", p["service"].get<std::string>(), p["group"].get<std::string>(),
               p["interface"].get<std::string>(), p["reason"].get<std::string>());
  return 0;
}

}  // namespace

const Command monitor_command{
    "monitor", "monitoring groups (NTP, syslog, SNMP traps): traffic, senders, listeners",
    R"(Usage: joincast monitor [--json]

Lists the [[monitor]] entries in force, one line per interface, group and
port: the datagrams let through to the local daemons (packets, bytes), the
last sender and how long ago, the allowed senders and how many datagrams
from others were dropped (and the last such sender), for NTP how many
requests were rewritten to the interface's own address, and a warning when
nothing on this router listens on the port (the datagrams are then lost).
Groups that wait for an interface or an address are listed as pending.
See docs/monitoring.md.)",
    run};

}  // namespace joincast::tools
