// daemon.cpp — see daemon.hpp.
#include "daemon/daemon.hpp"

#include "daemon/log.hpp"

#include <systemd/sd-daemon.h>

#include <csignal>

namespace joincast::daemon {

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      control_(io_, config_.daemon.control_socket, config_.daemon.control_mode, config_.daemon.control_group),
      catalogue_(std::make_unique<Catalogue>(io_, config_)),
      started_(std::chrono::steady_clock::now()) {}

Daemon::~Daemon() = default;

nlohmann::json Daemon::status() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  return {{"version", JOINCAST_VERSION}, {"pid", ::getpid()}, {"uptime_s", uptime.count()}, {"config", config_.path}};
}

int Daemon::run() {
  if (auto ec = control_.open()) {
    log::error("control socket {}: {}", control_.path(),
               ec == std::errc::address_in_use ? "another joincastd is already running" : ec.message());
    return 1;
  }
  control_.add("status", "daemon version, uptime and module state", [this](const nlohmann::json&) { return status(); });
  catalogue_->start(control_);

  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (!ec) on_signal(signo);
  });
  log::info("joincastd {} started, control socket {}", JOINCAST_VERSION, control_.path());
  sd_notify(0, "READY=1\nSTATUS=running");
  io_.run();
  log::info("joincastd stopped");
  return 0;
}

void Daemon::on_signal(int signo) {
  if (signo == SIGHUP) {
    reload();
    signals_.async_wait([this](boost::system::error_code ec, int s) {
      if (!ec) on_signal(s);
    });
    return;
  }
  log::info("{} received, stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
  sd_notify(0, "STOPPING=1");
  catalogue_->stop();
  control_.close();
  io_.stop();
}

void Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  ConfigResult next = load_config(config_.path);
  if (!next.ok()) {
    for (const auto& e : next.errors) log::error("reload refused: {}", e.to_string());
  } else {
    log::info("configuration {} reloaded", config_.path);
    config_ = std::move(next.config);
    catalogue_->reload(config_);
  }
  sd_notify(0, "READY=1");
}

}  // namespace joincast::daemon
