// commands.hpp — the `joincast` CLI's subcommands. Each lives in its own
// cmd_*.cpp and is listed once in joincast.cpp.
#pragma once

#include "tools/control_client.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace joincast::tools {

struct Context {
  std::string socket = "/run/joincast/control.sock";
  std::string bpf_root = "/sys/fs/bpf/joincast";
  bool json = false;
  std::vector<std::string> args;  // after the subcommand name and global options
};

struct Command {
  const char* name;
  const char* summary;  // one line, for `joincast --help`
  const char* help;     // the whole text, for `joincast NAME --help`
  int (*run)(Context& ctx);
};

// Thrown for a clear, user-facing failure; main prints it and exits 1.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sends request to the daemon and returns the answer's fields. Throws
// CliError with a useful message if the daemon is not running or refuses.
nlohmann::json call_daemon(const Context& ctx, const nlohmann::json& request);
// Like call_daemon, but returns nullopt when no daemon is running.
std::optional<nlohmann::json> try_call_daemon(const Context& ctx, const nlohmann::json& request);

// Prints a JSON document the way --json promises: one object, indented.
void print_json(const nlohmann::json& doc);

extern const Command status_command;
extern const Command groups_command;
extern const Command watch_command;
extern const Command routes_command;
extern const Command route_command;
extern const Command map_command;
extern const Command directories_command;
extern const Command listen_command;
extern const Command sessions_command;
extern const Command sdp_command;
extern const Command monitor_command;
extern const Command ssdp_command;
extern const Command mdns_command;

}  // namespace joincast::tools
