// joincast.cpp — the `joincast` command: talks to joincastd's control
// socket, and reads the pinned BPF maps directly when the daemon is down.
#include "tools/commands.hpp"

#include <fmt/format.h>

#include <cstring>
#include <iostream>

namespace joincast::tools {

namespace {

const Command* const commands[] = {
    &status_command,
    &groups_command,
    &watch_command,
    &routes_command,
    &route_command,
    &map_command,
    &directories_command,
    &sessions_command,
    &sdp_command,
    &ssdp_command,
    &listen_command,
    &monitor_command,
    &mdns_command,
};

void usage(std::FILE* out) {
  fmt::print(out,
             "Usage: joincast [--socket PATH] [--bpf-root DIR] [--json] COMMAND [ARGS]\n\n"
             "Talks to joincastd (see `joincastd --help`).\n\nCommands:\n");
  for (const Command* c : commands) fmt::print(out, "  {:<12} {}\n", c->name, c->summary);
  fmt::print(out,
             "\nOptions:\n"
             "  --socket PATH    control socket (default /run/joincast/control.sock,\n"
             "                   or $JOINCAST_SOCKET)\n"
             "  --bpf-root DIR   pinned maps, read when the daemon is down\n"
             "                   (default /sys/fs/bpf/joincast, or $JOINCAST_BPF_ROOT)\n"
             "  --json           machine-readable output\n"
             "  -h, --help       this help; `joincast COMMAND --help` for a command's\n");
}

}  // namespace

std::optional<nlohmann::json> try_call_daemon(const Context& ctx, const nlohmann::json& request) {
  ControlClient client(ctx.socket);
  if (auto ec = client.connect()) {
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused) return std::nullopt;
    throw CliError(fmt::format("cannot connect to {}: {}", ctx.socket, ec.message()));
  }
  nlohmann::json answer;
  try {
    answer = client.call(request);
  } catch (const std::runtime_error& e) {
    throw CliError(e.what());
  }
  if (!answer.value("ok", false)) throw CliError(answer.value("error", std::string("joincastd refused the request")));
  answer.erase("ok");
  return answer;
}

nlohmann::json call_daemon(const Context& ctx, const nlohmann::json& request) {
  auto answer = try_call_daemon(ctx, request);
  if (!answer) throw CliError(fmt::format("joincastd is not running (no answer on {})", ctx.socket));
  return *answer;
}

void print_json(const nlohmann::json& doc) {
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace joincast::tools

int main(int argc, char** argv) {
  using namespace joincast::tools;
  Context ctx;
  if (const char* s = std::getenv("JOINCAST_SOCKET")) ctx.socket = s;
  if (const char* s = std::getenv("JOINCAST_BPF_ROOT")) ctx.bpf_root = s;
  const Command* command = nullptr;
  bool help = false;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "joincast: {} needs a value\n", arg);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--json") ctx.json = true;
    else if (arg == "--socket") ctx.socket = value();
    else if (arg == "--bpf-root") ctx.bpf_root = value();
    else if (arg == "-h" || arg == "--help") help = true;
    else if (!command) {
      for (const Command* c : commands)
        if (arg == c->name) command = c;
      if (!command) {
        fmt::print(stderr, "joincast: unknown command \"{}\" (see joincast --help)\n", arg);
        return 2;
      }
    } else {
      ctx.args.push_back(arg);
    }
  }
  if (!command) {
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
  }
  if (help) {
    fmt::print("{}\n", command->help);
    return 0;
  }
  try {
    return command->run(ctx);
  } catch (const CliError& e) {
    fmt::print(stderr, "joincast {}: {}\n", command->name, e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "joincast {}: {}\n", command->name, e.what());
    return 1;
  }
}
