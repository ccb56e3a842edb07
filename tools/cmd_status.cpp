// cmd_status.cpp — `joincast status`: is the daemon running, and how.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {
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
    fmt::print("membership: {} backend", m.value("backend", "?"));
    if (m.contains("interfaces")) {
      std::string names;
      for (const auto& i : m["interfaces"]) names += (names.empty() ? "" : ", ") + i.value("name", "?") + (i.value("attached", false) ? "" : " (pending)");
      fmt::print(" on {}", names.empty() ? "no interfaces" : names);
    }
    fmt::print(", {} groups, {} listeners\n", m.value("groups", 0), m.value("listeners", 0));
  }
  return 0;
}
}  // namespace

const Command status_command{
    "status", "show whether joincastd runs and what it is doing",
    R"(Usage: joincast status [--json]

Shows the daemon's version, uptime, configuration file and the state of each
module (membership backend and interfaces, ...). Exits 1 if no daemon runs.)",
    run};

}  // namespace joincast::tools
