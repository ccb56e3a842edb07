// cmd_routes.cpp — `joincast routes` (what the multicast routing module
// installed: VIFs, MFC entries with counters, templates, group blocks,
// pending routes) and `joincast route add|del` (routes changed at runtime,
// smcroutectl's argument order).
#include "tools/commands.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace joincast::tools {

namespace {

using Json = nlohmann::json;

// Prints rows as left-aligned columns, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows, const std::string& indent = "  ") {
  if (rows.empty()) return;
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string human_bytes(std::uint64_t n) {
  if (n < 10'000) return std::to_string(n);
  if (n < 10'000'000) return fmt::format("{}k", n / 1000);
  if (n < 10'000'000'000) return fmt::format("{}M", n / 1'000'000);
  return fmt::format("{}G", n / 1'000'000'000);
}

int run_routes(Context& ctx) {
  if (!ctx.args.empty()) throw CliError(fmt::format("unexpected argument \"{}\" (see joincast routes --help)", ctx.args[0]));
  Json answer = call_daemon(ctx, {{"cmd", "routes"}});
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  if (!answer.value("enabled", false)) fmt::print("Routing is not configured ([routing] is absent).\n");
  for (const auto& f : answer.value("families", Json::array())) {
    const std::string family = str(f, "family") == "ipv4" ? "IPv4" : "IPv6";
    const bool v4 = family == "IPv4";
    fmt::print("{} multicast routing table {}: socket {}\n", family, str(f, "table"), str(f, "socket"));
    const auto& vifs = f.value("vifs", Json::array());
    if (!vifs.empty()) {
      std::vector<std::vector<std::string>> rows{{v4 ? "VIF" : "MIF", "INTERFACE", "THRESHOLD", "PKTS IN", "BYTES IN", "PKTS OUT", "BYTES OUT"}};
      for (const auto& v : vifs)
        rows.push_back({str(v, "vif"), str(v, "interface"), str(v, "threshold"), str(v, "packets_in"),
                        human_bytes(v.value("bytes_in", std::uint64_t{0})), str(v, "packets_out"),
                        human_bytes(v.value("bytes_out", std::uint64_t{0}))});
      print_table(rows);
    }
    const auto& mfc = f.value("mfc", Json::array());
    if (mfc.empty()) {
      fmt::print("  no MFC entries\n");
    } else {
      std::vector<std::vector<std::string>> rows{{"SOURCE", "GROUP", "IIF", "OIFS", "PACKETS", "BYTES", "WRONG IF", "IDLE", "KIND"}};
      for (const auto& e : mfc) {
        std::string oifs;
        for (const auto& o : e.value("oifs", Json::array())) {
          if (!oifs.empty()) oifs += ",";
          oifs += str(o, "interface");
          if (o.value("ttl", 1) > 1) oifs += fmt::format("(ttl {})", o.value("ttl", 1));
        }
        std::string kind = str(e, "kind");
        if (!str(e, "origin").empty()) kind += " " + str(e, "origin");
        rows.push_back({str(e, "source"), str(e, "group"), str(e, "iif").empty() ? "-" : str(e, "iif"),
                        oifs.empty() ? "-" : oifs, str(e, "packets"), human_bytes(e.value("bytes", std::uint64_t{0})),
                        str(e, "wrong_if"), fmt::format("{:.1f}s", e.value("idle_s", 0.0)), kind});
      }
      print_table(rows);
    }
    if (f.contains("error")) fmt::print("  (MFC not readable: {})\n", str(f, "error"));
  }
  const auto& templates = answer.value("templates", Json::array());
  if (!templates.empty()) {
    fmt::print("Templates (resolved into (S,G) entries when traffic arrives):\n");
    std::vector<std::vector<std::string>> rows{{"ROUTE", "INPUTS NOW", "ORIGIN"}};
    for (const auto& t : templates) {
      std::string inputs;
      for (const auto& i : t.value("inputs", Json::array())) inputs += (inputs.empty() ? "" : ",") + i.get<std::string>();
      rows.push_back({str(t, "route"), inputs.empty() ? "-" : inputs, str(t, "origin")});
    }
    print_table(rows);
  }
  const auto& blocks = answer.value("group_blocks", Json::array());
  if (!blocks.empty()) {
    fmt::print("Group blocks:\n");
    std::vector<std::vector<std::string>> rows{{"NAME", "INTERFACE", "GROUPS", "ROUTE"}};
    for (const auto& b : blocks) {
      std::string groups;
      for (const auto& g : b.value("groups", Json::array())) groups += (groups.empty() ? "" : " ") + g.get<std::string>();
      rows.push_back({str(b, "name"), str(b, "interface"), groups.empty() ? "-" : groups,
                      b.value("routed", false) ? "installed" : "-"});
    }
    print_table(rows);
  }
  const auto& joins = answer.value("joins", Json::array());
  if (!joins.empty()) {
    fmt::print("Static joins:\n");
    std::vector<std::vector<std::string>> rows{{"INTERFACE", "SOURCE", "GROUP", "ORIGIN"}};
    for (const auto& j : joins)
      rows.push_back({str(j, "interface"), str(j, "source").empty() ? "*" : str(j, "source"), str(j, "group"), str(j, "origin")});
    print_table(rows);
  }
  const auto& pending = answer.value("pending", Json::array());
  if (!pending.empty()) {
    fmt::print("Pending:\n");
    for (const auto& p : pending) fmt::print("  {} ({}): {}\n", str(p, "what"), str(p, "origin"), str(p, "reason"));
  }
  return 0;
}

bool is_address(const std::string& s, bool& multicast) {
  std::string a = s.substr(0, s.find('/'));
  unsigned char buf[16];
  if (::inet_pton(AF_INET, a.c_str(), buf) == 1) {
    multicast = (buf[0] & 0xf0) == 0xe0;
    return true;
  }
  if (::inet_pton(AF_INET6, a.c_str(), buf) == 1) {
    multicast = buf[0] == 0xff;
    return true;
  }
  return false;
}

// IIF [SOURCE] GROUP[/LEN] [OIF ...], or the smcroute.conf keywords
// "from IIF [source SOURCE] group GROUP [to OIF ...]".
Json route_request(const std::vector<std::string>& words, bool adding) {
  Json req{{"cmd", adding ? "route add" : "route del"}};
  Json to = Json::array();
  if (!words.empty() && words[0] == "from") {
    for (std::size_t i = 0; i < words.size(); ++i) {
      auto value = [&](const char* key) {
        if (i + 1 >= words.size()) throw CliError(fmt::format("\"{}\" needs a value", words[i]));
        req[key] = words[++i];
      };
      if (words[i] == "from") value("from");
      else if (words[i] == "source") value("source");
      else if (words[i] == "group") value("group");
      else if (words[i] == "to") {
        for (++i; i < words.size(); ++i) to.push_back(words[i]);
      } else throw CliError(fmt::format("unexpected \"{}\"", words[i]));
    }
  } else {
    if (words.size() < 2) throw CliError("expected IIF [SOURCE] GROUP[/LEN] OIF [OIF ...] (see joincast route --help)");
    req["from"] = words[0];
    std::size_t i = 1;
    bool multicast = false;
    if (!is_address(words[i], multicast)) throw CliError(fmt::format("\"{}\" is not an address", words[i]));
    if (!multicast) {
      req["source"] = words[i++];
      if (i >= words.size()) throw CliError("a GROUP must follow the SOURCE");
      if (!is_address(words[i], multicast) || !multicast)
        throw CliError(fmt::format("\"{}\" is not a multicast group", words[i]));
    }
    req["group"] = words[i++];
    for (; i < words.size(); ++i) to.push_back(words[i]);
  }
  if (!req.contains("from") || !req.contains("group")) throw CliError("a route needs an input interface and a group");
  if (adding && to.empty()) throw CliError("a route needs at least one output interface");
  if (!to.empty()) req["to"] = to;
  return req;
}

int run_route(Context& ctx) {
  if (ctx.args.empty() || (ctx.args[0] != "add" && ctx.args[0] != "del")) throw CliError("expected \"add\" or \"del\" (see joincast route --help)");
  const bool adding = ctx.args[0] == "add";
  std::vector<std::string> words(ctx.args.begin() + 1, ctx.args.end());
  Json answer = call_daemon(ctx, route_request(words, adding));
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  if (adding) {
    std::string state = str(answer, "state");
    if (state == "pending") fmt::print("added {} (pending: {})\n", str(answer, "route"), str(answer, "reason"));
    else if (state == "template") fmt::print("added {} (a template: (S,G) entries appear when traffic does)\n", str(answer, "route"));
    else fmt::print("added {}\n", str(answer, "route"));
    for (const auto& m : answer.value("incomplete", Json::array())) fmt::print("  warning: {}\n", m.get<std::string>());
  } else {
    fmt::print("removed {}{}\n", str(answer, "removed") == "outputs" ? "outputs of " : "", str(answer, "route"));
  }
  return 0;
}

}  // namespace

const Command routes_command{
    "routes", "show multicast routes: VIFs, MFC entries with counters, templates",
    R"(Usage: joincast routes [--json]

Shows what joincastd's multicast routing module holds, per address family:

  VIFs (IPv4) / MIFs (IPv6)
      the interfaces that have one (the kernel allows 32 per table; joincastd
      gives one only to interfaces a route uses), with packet and byte
      counters in and out.
  MFC entries
      every (S,G) entry of the table, with input and output interfaces,
      packet, byte and wrong-interface counters, time since the last packet,
      and what made it: "route" (configured or added (S,G)), "dynamic" (a
      template resolved it when traffic arrived; it expires when idle),
      "stop" (traffic no route wants, dropped without asking again, as
      smcrouted does), "foreign" (not joincastd's).

Then the templates ((*,G) routes and group ranges), the group blocks with
the groups derived for them and whether their route is installed, static
joins, and everything pending with the reason (a missing interface, a
block without a prefix yet, no VIF left).

Exits 1 if joincastd is not running.)",
    run_routes};

const Command route_command{
    "route", "add or remove a multicast route at runtime",
    R"(Usage: joincast route add IIF [SOURCE] GROUP[/LEN] OIF [OIF ...]
       joincast route del IIF [SOURCE] GROUP[/LEN] [OIF ...]
       joincast route add|del from IIF [source SOURCE] group GROUP[/LEN] [to OIF ...]

Changes the multicast routes of a running joincastd, in smcroutectl's
argument order (or with smcroute.conf's keywords).

  add   Routes traffic from SOURCE to GROUP arriving on IIF out of every
        OIF. Without SOURCE (or with 0.0.0.0 / ::), or with a GROUP/LEN
        range, the route is a template: joincastd installs an (S,G) entry
        for each source when its traffic arrives. Adding outputs to a route
        added before extends it. A route whose interfaces are missing is
        accepted and waits for them; one that would need a 33rd VIF is
        refused and nothing changes.
  del   Removes a route added with `route add`; with OIFs, only those
        outputs (the route goes when none is left). Routes from the
        configuration file are changed there, followed by a reload (SIGHUP).

Routes added at runtime survive a reload but not a restart.

Examples:
  joincast route add eth0 192.168.1.42 225.1.2.3 eth1 eth2
  joincast route add int0 ff3e:40:2001:db8:1:2:8000:0/124 ext0
  joincast route del eth0 192.168.1.42 225.1.2.3)",
    run_route};

}  // namespace joincast::tools
