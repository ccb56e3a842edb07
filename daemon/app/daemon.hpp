// daemon.hpp — joincastd as one object: owns the io_context, the control
// socket and every module, starts them in order and stops them in reverse.
#pragma once

#include "daemon/catalogue/catalogue.hpp"
#include "daemon/app/config.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/membership/membership.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/membership/proxy.hpp"
#include "daemon/sessions/session_manager.hpp"
#include "daemon/routing/route_controller.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <memory>

namespace joincast::daemon {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();

  // Runs until SIGTERM/SIGINT. Returns the process exit status.
  int run();

 private:
  void on_signal(int signo);
  void reload();
  nlohmann::json status() const;

  Config config_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  ControlServer control_;
  MetricsServer metrics_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<MembershipProxy> proxy_;
  void start_proxy();
  std::unique_ptr<RouteController> routes_;
  std::unique_ptr<Catalogue> catalogue_;  // groups -> stations and DVB services
  std::unique_ptr<SessionManager> sessions_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace joincast::daemon
