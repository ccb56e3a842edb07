// cmd_directories.cpp — `joincast directories`: the station directories,
// their state, and every station with its number and group address; the
// DVB channel table and the carriers dvblast is tuned to.
#include "tools/commands.hpp"

#include <fmt/format.h>

#include <ctime>

namespace joincast::tools {

namespace {

std::string when(std::int64_t unix_seconds) {
  if (unix_seconds == 0) return "never";
  std::time_t t = unix_seconds;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

int run(Context& ctx) {
  nlohmann::json request = {{"cmd", "directories"}};
  for (const auto& a : ctx.args) {
    if (a == "--refresh") request["refresh"] = true;
    else if (a == "--summary") request["stations"] = false;
    else if (!a.empty() && a[0] != '-' && !request.contains("directory")) request["directory"] = a;
    else throw CliError("unknown argument " + a + " (see joincast directories --help)");
  }
  auto answer = call_daemon(ctx, request);
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  for (const auto& d : answer["directories"]) {
    fmt::print("{} (slot {}, {}, {}): {} stations, {} reserved, updated {}\n", d.value("name", "?"),
               d.value("slot", 0), d.value("type", "?"), d.value("source", ""), d.value("listed", 0),
               d.value("reserved", 0), when(d.value("updated", std::int64_t{0})));
    if (!d.value("error", "").empty()) fmt::print("  error: {}\n", d.value("error", ""));
    for (const auto& w : d.value("warnings", nlohmann::json::array())) fmt::print("  warning: {}\n", w.get<std::string>());
    if (!d.contains("stations")) continue;
    for (const auto& s : d["stations"]) {
      std::string group = s.contains("group") && s["group"].is_string() ? s["group"].get<std::string>() : "-";
      fmt::print("  {:>6}  {:<40}  {}{}\n", s.value("number", 0), group, s.value("name", ""),
                 s.value("listed", false) ? "" : " (not listed, number reserved)");
    }
  }
  const auto& dvb = answer["dvb"];
  for (const auto& c : dvb["carriers"]) {
    fmt::print("DVB carrier {} kHz {} {} {} sym/s{}\n", c.value("frequency_khz", 0), c.value("polarisation", ""),
               c.value("delivery", ""), c.value("symbol_rate", 0),
               c.value("name", "").empty() ? "" : " (" + c.value("name", "") + ")");
    for (const auto& s : c["services"]) {
      std::string group = s["group"].is_string() ? s["group"].get<std::string>() : "-";
      fmt::print("  {:>6}  {:<40}  {}\n", s.value("id", 0), group, s.value("name", ""));
    }
  }
  for (const auto& t : dvb["tuned"])
    fmt::print("dvblast pid {} on {}: {} ({} services)\n", t.value("pid", 0), t.value("adapter", ""),
               t.value("carrier", ""), t["outputs"].size());
  return 0;
}

}  // namespace

const Command directories_command{
    "directories", "list station directories, their stations and groups",
    R"(Usage: joincast directories [--json] [NAME] [--summary] [--refresh]

Lists every configured station directory (Icecast yp.xml, radio-browser,
TuneIn, static, test): its slot in the address plan, where its list comes
from, how many stations it lists, when it was last updated and the last
error, if any. Then every station with its number and IPv6 group address;
stations that vanished from the directory keep their numbers, shown as
reserved. Then the DVB channel table with each service's group, and the
carriers dvblast is currently tuned to.

  NAME       only this directory
  --summary  directories only, without their stations
  --refresh  fetch the directories again now (the answer shows the state
             before the refresh completes; ask again to see the result)

Numbers never change meaning: a station keeps its number across refreshes
and restarts (they are stored in the daemon's state directory).)",
    run};

}  // namespace joincast::tools
