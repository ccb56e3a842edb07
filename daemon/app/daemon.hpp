// daemon.hpp — joincastd as one object, the composition root: owns the
// io_context, the control socket, the metrics endpoint and every module;
// wires the modules to each other once (membership events to sessions and
// the proxy); starts them in order, reloads them on SIGHUP with their own
// sections, and stops them in reverse order. The media half (catalogue and
// sessions, media_part.hpp) is one part it adds, absent from a routing-only
// build.
#pragma once

#include "daemon/app/config.hpp"
#include "daemon/app/media_part.hpp"
#include "daemon/app/module_entry.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/core/module.hpp"
#include "daemon/lan/mdns/mdns_relay.hpp"
#include "daemon/lan/monitor/monitor.hpp"
#include "daemon/lan/ssdp/ssdp.hpp"
#include "daemon/membership/membership.hpp"
#include "daemon/membership/proxy.hpp"
#include "daemon/routing/route_controller.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace joincast::daemon::app {

// Runs io until it stops. A handler that throws is a defect (STYLE.md:
// never throw out of an Asio handler), but it must not end the daemon and
// every stream with it: the exception is logged once, naming what was
// thrown, and the loop goes on. Returns how many handlers threw.
std::size_t run_event_loop(boost::asio::io_context& io);

class Daemon {
 public:
  struct Options {
    // --log-level was given: it wins over daemon.log_level, also on reload.
    bool log_level_from_command_line = false;
  };
  Daemon(Config config, Options options);
  ~Daemon();

  // Runs until SIGTERM/SIGINT. Returns the process exit status.
  int run();

 private:
  template <class Section>
  void add(core::ConfiguredModule<Section>& module, Section Config::*section) {
    modules_.push_back(module_entry(module, section));
  }

  Result<void> start();
  void stop();
  void on_signal(int signo);
  void reload();
  // [daemon] on SIGHUP: the log level changes live; the rest only on restart.
  void reload_daemon_section(Config& next);
  void reload_metrics(const core::MetricsSection& next);
  nlohmann::json status() const;

  Config config_;
  Options options_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  core::ControlServer control_;
  core::MetricsServer metrics_;
  core::LinkWatcher links_;  // the one interface watcher every module subscribes to
  std::unique_ptr<routing::RouteController> routes_;
  std::unique_ptr<membership::Membership> membership_;
  std::unique_ptr<membership::MembershipProxy> proxy_;
  std::unique_ptr<MediaPart> media_;  // catalogue and sessions; null without media
  std::unique_ptr<lan::monitor::Monitor> monitor_;
  std::unique_ptr<lan::ssdp::Ssdp> ssdp_;  // UPnP/SSDP between the networks of each zone
  std::unique_ptr<lan::mdns::MdnsRelay> mdns_;
  std::vector<ModuleEntry> modules_;  // start order
  std::size_t started_modules_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace joincast::daemon::app
