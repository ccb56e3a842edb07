// cmd_watch.cpp — `joincast watch`: follow the daemon's events live.
#include "tools/commands.hpp"

#include <fmt/format.h>

#include <iostream>

namespace joincast::tools {

namespace {

std::string describe(const nlohmann::json& e) {
  std::string what = e.value("event", "?");
  if (e.value("topic", "") == "sessions")
    return fmt::format("{:<15} {} {}{}", what, e.value("group", ""), e.value("service", ""),
                       e.contains("detail") ? " — " + e["detail"].get<std::string>() : "");
  if (what == "query-seen")
    return fmt::format("{} query from {} on {}", e.value("version", "?"), e.value("querier", "?"), e.value("interface", "?"));
  std::string line = fmt::format("{:<15} {} {} on {}", what, e.value("group", ""), e.value("host", ""), e.value("interface", ""));
  if (e.contains("listeners")) line += fmt::format(" ({} listening)", e["listeners"].get<int>());
  if (e.contains("reason")) line += " — " + e["reason"].get<std::string>();
  return line;
}

int run(Context& ctx) {
  nlohmann::json topics = nlohmann::json::array();
  for (const auto& a : ctx.args) topics.push_back(a);
  ControlClient client(ctx.socket);
  if (auto ec = client.connect()) throw CliError(fmt::format("joincastd is not running (no answer on {})", ctx.socket));
  nlohmann::json request = {{"cmd", "watch"}};
  if (!topics.empty()) request["topics"] = topics;
  bool first = true;
  client.stream(request, [&](const nlohmann::json& line) {
    if (first) {
      first = false;
      if (!line.value("ok", false)) throw CliError(line.value("error", std::string("watch refused")));
      return true;
    }
    if (ctx.json) std::cout << line.dump() << std::endl;
    else fmt::print("{} {:<10} {}\n", line.value("time", ""), line.value("topic", ""), describe(line));
    std::fflush(stdout);
    return true;
  });
  return 0;
}

}  // namespace

const Command watch_command{
    "watch", "follow events live (joins, leaves, groups up and down, ...)",
    R"(Usage: joincast watch [--json] [TOPIC...]

Prints the daemon's events as they happen until interrupted. Topics:
"membership" (listener joins and leaves, groups up and down, queries from
other routers), "sessions" (starting, on-air, grace, listener-back,
stopped, failed, waiting), "directories", "catalogue"; without a topic,
everything. --json prints one JSON object
per line, exactly as the control protocol delivers them.)",
    run};

}  // namespace joincast::tools
