// main.cpp — joincastd's command line: --config, --check, --help, --version.
#include "daemon/app/config.hpp"
#include "daemon/app/daemon.hpp"
#include "daemon/lan/mdns/mdns_plan.hpp"
#include "daemon/lan/monitor/monitor_plan.hpp"
#include "daemon/routing/routing_check.hpp"
#include "daemon/core/log.hpp"

#include <fmt/format.h>

#include <sys/resource.h>

#include <cstring>
#include <string>

namespace {

constexpr const char* usage = R"(Usage: joincastd [OPTIONS]

joincast's daemon, an on-demand multicast headend and multicast router.
It counts who listens to which group (eBPF on the configured interfaces,
or the multicast routing socket where BPF cannot load) and acts as MLD/IGMP
querier, or as proxy towards an upstream router. A group's first listener
starts its stream (the service the group's number names: a radio station,
a DVB service, the test tone), sent as RTP on UDP 5004 with SAP/SDP on 9875
of the same group; the last listener leaving stops it after a grace period.
It installs the multicast routes of its configuration (an smcroute.conf
included) over netlink. The `joincast` command talks to it over the
control socket.

Options:
  -c, --config FILE   configuration file (default /etc/joincast/joincast.toml)
      --check         validate the configuration, print every problem, exit
                      0 if it is usable and 1 if not
  -l, --log-level L   debug, info, notice, warning or error (overrides the
                      config file's daemon.log_level)
  -h, --help          show this help
  -V, --version       show the version

Signals: SIGHUP reloads the configuration (streams and routes that stay
configured are not interrupted); SIGTERM and SIGINT stop cleanly.
Documentation (installed under share/doc/joincast): configuration.md,
sessions.md, membership.md, media.md, control-protocol.md, and the
annotated example examples/joincast.toml.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace joincast::daemon;
  using namespace joincast::daemon::app;
  std::string config_path = "/etc/joincast/joincast.toml";
  std::string log_level;
  bool check = false;

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "joincastd: {} needs a value\n", name);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "-c" || arg == "--config") config_path = value("--config");
    else if (arg.rfind("--config=", 0) == 0) config_path = arg.substr(9);
    else if (arg == "--check") check = true;
    else if (arg == "-l" || arg == "--log-level") log_level = value("--log-level");
    else if (arg.rfind("--log-level=", 0) == 0) log_level = arg.substr(12);
    else if (arg == "-h" || arg == "--help") {
      fmt::print("{}", usage);
      return 0;
    } else if (arg == "-V" || arg == "--version") {
      fmt::print("joincastd {}{}\n", JOINCAST_VERSION, built_with_media ? "" : " (routing-only: built without media)");
      return 0;
    } else {
      fmt::print(stderr, "joincastd: unknown option \"{}\" (see --help)\n", arg);
      return 2;
    }
  }

  ConfigResult loaded = load_config(config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.to_string());
    fmt::print(stderr, "joincastd: {} has {} problem{}\n", config_path, loaded.errors.size(),
               loaded.errors.size() == 1 ? "" : "s");
    return 1;
  }
  if (check) {
    // The routing module's own start-up validation, against the
    // interfaces of this network namespace.
    core::InterfaceTable interfaces;
    auto nl = joincast::netlink::NetlinkSocket::open();
    auto read = nl ? interfaces.read(nl.value()) : joincast::netlink::Result<void>(nl.error());
    if (!read && loaded.config.routing.enabled)
      fmt::print(stderr, "warning: cannot list the interfaces ({}): routes are checked as if none existed\n",
                 read.error().message());
    const routing::RoutingCheck checked = routing::check_routing(loaded.config.routing, interfaces);
    for (const auto& w : checked.warnings) fmt::print(stderr, "warning: routing: {}\n", w);
    for (const auto& p : checked.pending) fmt::print(stderr, "pending: routing: {}\n", p);
    for (const auto& e : checked.errors) fmt::print(stderr, "routing: {}\n", e);
    // Monitor groups wait for their interfaces (and a subnet to derive
    // from); the daemon follows them, so these are not errors.
    const auto monitor = joincast::daemon::lan::monitor::plan_monitor(loaded.config.monitor, interfaces);
    for (const auto& p : monitor.pending)
      fmt::print(stderr, "pending: monitor: {} of monitor[{}] ({}): {}\n", p.group, p.entry,
                 loaded.config.monitor.entries[p.entry].service, p.reason);
    // SSDP zones: interfaces not there yet are followed live, not errors.
    for (const auto& z : loaded.config.ssdp.zones)
      for (const auto& name : z.interfaces)
        if (!interfaces.ifindex(name))
          fmt::print(stderr, "pending: ssdp: zone \"{}\": interface {} does not exist yet; it is attached when it appears\n",
                     z.name, name);
    // mDNS zone interfaces that are missing or down: followed live too.
    const auto mdns = joincast::daemon::lan::mdns::plan_mdns(loaded.config.mdns, interfaces);
    for (const auto& p : mdns.pending)
      fmt::print(stderr, "pending: mdns: zone {}: {}\n", loaded.config.mdns.zones[p.zone].name, p.reason);
    if (!checked.errors.empty()) {
      fmt::print(stderr, "joincastd: {} has {} problem{}\n", config_path, checked.errors.size(),
                 checked.errors.size() == 1 ? "" : "s");
      return 1;
    }
    fmt::print("{}: ok\n", config_path);
    return 0;
  }
  core::log::Level level = core::log::Level::info;
  if (!log_level.empty() && !core::log::parse_level(log_level, level)) {
    fmt::print(stderr, "joincastd: unknown log level \"{}\"\n", log_level);
    return 2;
  }
  if (log_level.empty()) core::log::parse_level(loaded.config.daemon.log_level, level);
  core::log::set_level(level);

  // Every media session holds sockets of its own: allow as many open files
  // as the hard limit does (often 1024 soft, far more hard).
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }

  try {
    Daemon daemon(std::move(loaded.config), Daemon::Options{.log_level_from_command_line = !log_level.empty()});
    return daemon.run();
  } catch (const std::exception& e) {
    core::log::error("{}", e.what());
    return 1;
  }
}
