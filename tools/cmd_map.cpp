// cmd_map.cpp — `joincast map`: a group address to its service number and
// what it stands for, or a number to its groups (DESIGN.md, "Address plan").
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

std::string text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "-";
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

int run(Context& ctx) {
  if (ctx.args.size() != 1) throw CliError("needs exactly one argument (see joincast map --help)");
  auto answer = call_daemon(ctx, {{"cmd", "map"}, {"query", ctx.args[0]}});
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  fmt::print("group          {}\n", text(answer, "group"));
  fmt::print("IPv4 group     {}\n", text(answer, "group_v4"));
  fmt::print("group id       {}\n", text(answer, "group_id"));
  fmt::print("service number {}\n", text(answer, "service_number"));
  if (answer.value("kind", "") == "internet") {
    fmt::print("directory      slot {} ({})\n", text(answer, "slot"), text(answer, "directory"));
    fmt::print("station        {}", text(answer, "station"));
    if (answer.contains("name")) fmt::print(" {}{}", text(answer, "name"), answer.value("listed", true) ? "" : " (no longer listed, number reserved)");
    fmt::print("\n");
    if (answer.contains("url")) fmt::print("url            {}\n", text(answer, "url"));
  } else {
    fmt::print("DVB carrier    {} kHz {}{}\n", text(answer, "frequency_khz"), text(answer, "polarisation"),
               answer.contains("carrier") ? " = " + text(answer, "carrier") : " (not in the channel table)");
    fmt::print("DVB service    {}{}\n", text(answer, "service_id"),
               answer.contains("name") ? " " + text(answer, "name") : "");
  }
  return 0;
}

}  // namespace

const Command map_command{
    "map", "convert between group addresses and service numbers",
    R"(Usage: joincast map [--json] GROUP|NUMBER|D/S|dvb:FREQ:POL:SID

Shows what a multicast group stands for, or which groups stand for a
service. Every mapping is reversible; the output always has both sides.

  GROUP             an IPv6 group (ff3e:40:<prefix>:<group id>) or an IPv4
                    group inside the configured block (239.255.0.0/16)
  NUMBER            a 32-bit group id with the top bit set (0x80000005), or a
                    31-bit service number (decimal or 0x hex)
  D/S               directory slot (or directory name) and station number,
                    e.g. 1/5 or xiph/5
  dvb:FREQ:POL:SID  a DVB service: carrier frequency in kHz, polarisation
                    h or v, service id, e.g. dvb:11426500:h:0xf00d

The address plan (which bits mean what, the IPv6 prefix, the IPv4 block) is
the daemon's [address_plan] configuration; joincastd must be running.

Examples:
  joincast map ff3e:40:2001:db8:d0be:f00d:9000:5    directory 1, station 5
  joincast map 1/5                                  the same, the other way
  joincast map dvb:11426500:h:0xf00d)",
    run};

}  // namespace joincast::tools
