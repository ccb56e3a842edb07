// cmd_mdns.cpp — `joincast mdns`: the mDNS zones, their interfaces, and per
// zone pair what crossed and what the policy kept back.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

int run(Context& ctx) {
  for (const auto& a : ctx.args) throw CliError("unexpected argument \"" + a + "\" (see joincast mdns --help)");
  nlohmann::json doc = call_daemon(ctx, {{"cmd", "mdns"}});
  if (ctx.json) {
    print_json(doc);
    return 0;
  }
  if (doc["zones"].empty()) {
    fmt::print("no [[mdns.zone]] is configured\n");
    return 0;
  }
  fmt::print("{} mode, query window {}s\n", doc.value("stateful", true) ? "stateful" : "stateless",
             doc.value("query_window_s", 30.0));
  for (const auto& z : doc["zones"]) {
    std::string ifs;
    for (const auto& i : z["interfaces"]) ifs += (ifs.empty() ? "" : " ") + i["name"].get<std::string>();
    fmt::print("zone {} (trust {}): {}; {} received, {} malformed, {} own\n", z["name"].get<std::string>(),
               z["trust"].get<int>(), ifs.empty() ? "no interface in force" : ifs, z.value("received", 0),
               z.value("malformed", 0), z.value("own", 0));
    if (z.contains("last_malformed")) fmt::print("    last malformed: {}\n", z["last_malformed"].get<std::string>());
    if (z.value("rate_limited", 0) + z.value("reflected", 0) + z.value("relayed_copies", 0) +
            z.value("legacy_queries", 0) > 0)
      fmt::print("    {} over their sender's rate, {} from another reflector, {} another relay's copies of ours, "
                 "{} legacy unicast queries\n",
                 z.value("rate_limited", 0), z.value("reflected", 0), z.value("relayed_copies", 0),
                 z.value("legacy_queries", 0));
    for (const auto& s : z.value("services", nlohmann::json::array())) {
      std::string addrs;
      for (const auto& a : s["addresses"]) addrs += " " + a.get<std::string>();
      const std::string host = s["host"].is_string() ? s["host"].get<std::string>() : "?";
      fmt::print("    {}.{} {}:{}{}\n", s["instance"].get<std::string>(), s["type"].get<std::string>(), host,
                 s.value("port", 0), addrs);
    }
  }
  fmt::print("{:<12} {:<12} {:>10} {:>10} {:>10} {:>8}\n", "from", "to", "forwarded", "filtered", "malformed", "removed");
  for (const auto& p : doc["pairs"])
    fmt::print("{:<12} {:<12} {:>10} {:>10} {:>10} {:>8}\n", p["from"].get<std::string>(), p["to"].get<std::string>(),
               p.value("forwarded", 0), p.value("filtered", 0), p.value("malformed", 0), p.value("records_removed", 0));
  for (const auto& r : doc.value("reflectors", nlohmann::json::array()))
    fmt::print("another reflector: {} in zone {} copies zone {}'s records ({} copied, {} of its messages not relayed)\n",
               r["address"].get<std::string>(), r["zone"].get<std::string>(), r["copies_from"].get<std::string>(),
               r.value("records_copied", 0), r.value("not_relayed", 0));
  for (const auto& p : doc.value("pending", nlohmann::json::array()))
    fmt::print("pending: zone {} on {}: {}\n", p["zone"].get<std::string>(), p["interface"].get<std::string>(),
               p["reason"].get<std::string>());
  return 0;
}

}  // namespace

const Command mdns_command{
    "mdns", "mDNS between zones: interfaces, forwarded, filtered and malformed per zone pair",
    R"(Usage: joincast mdns [--json]

Lists the [mdns] zones with their interfaces in force and the messages
received on them (malformed ones refused, the router's own ignored, those
over their sender's rate or from another reflector not relayed, legacy
unicast queries), the services each zone announced as the relay saw them
(instance, type, host, port, addresses), then
one line per ordered zone pair: the messages relayed from one zone into the
other (its queries where it may ask, its responses where they may be seen),
those the policy kept back, the malformed ones from the first zone, and the
questions and records removed from relayed messages. Another reflector
found on the zones' links is named with the zones it copies between.
Interfaces that are missing or down are listed as pending. See docs/mdns.md.)",
    run};

}  // namespace joincast::tools
