// daemon.cpp — see daemon.hpp.
#include "daemon/app/daemon.hpp"

#include "daemon/core/log.hpp"

#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstring>

namespace joincast::daemon {

Daemon::Daemon(Config config)
    : config_(std::move(config)),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      control_(io_, config_.daemon.control_socket, config_.daemon.control_mode, config_.daemon.control_group),
      metrics_(io_),
      catalogue_(std::make_unique<Catalogue>(io_, config_.catalogue, config_.daemon.state_dir)),
      started_(std::chrono::steady_clock::now()) {}

Daemon::~Daemon() = default;

nlohmann::json Daemon::status() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  nlohmann::json out = {
      {"version", JOINCAST_VERSION}, {"pid", ::getpid()}, {"uptime_s", uptime.count()}, {"config", config_.path}};
  if (membership_) out["membership"] = membership_->status();
  if (proxy_) out["proxy"] = proxy_->status();
  if (sessions_) out["sessions"] = sessions_->summary();
  if (routes_) out["routing"] = routes_->status();
  return out;
}

int Daemon::run() {
  if (auto ec = control_.open()) {
    log::error("control socket {}: {}", control_.path(),
               ec == std::errc::address_in_use ? "another joincastd is already running" : ec.message());
    return 1;
  }
  control_.add("status", "daemon version, uptime and module state", [this](const nlohmann::json&) { return status(); });
  routes_ = std::make_unique<RouteController>(io_, control_, config_.routing);
  if (!routes_->start()) return 1;
  catalogue_->start(control_);

  membership_ = std::make_unique<Membership>(io_, config_.membership, control_, *routes_);
  membership_->observe([this](const MembershipEvent& e) {
    if (sessions_) sessions_->on_membership(e);
    if (!proxy_) return;
    if (e.kind == MembershipEvent::Kind::group_up) proxy_->group_up(e.group);
    else if (e.kind == MembershipEvent::Kind::group_down) proxy_->group_down(e.group);
  });
  membership_->start();
  start_proxy();
  sessions_ = std::make_unique<SessionManager>(io_, config_.sessions, *catalogue_, *membership_, *routes_, control_);
  sessions_->start();
  metrics_.add_collector([this](MetricsWriter& w) {
    membership_->collect_metrics(w);
    sessions_->collect_metrics(w);
  });
  if (!config_.metrics.listen.empty()) {
    if (auto ec = metrics_.listen(config_.metrics.listen)) {
      log::error("metrics: cannot listen on {}: {}", config_.metrics.listen, ec.message());
      return 1;
    }
    log::info("metrics: Prometheus text format on http://{}/metrics", config_.metrics.listen);
  }

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
  if (sessions_) sessions_->stop();  // SAP deletions while the sockets still work
  proxy_.reset();
  if (routes_) routes_->stop();
  if (membership_) membership_->stop();
  metrics_.close();
  catalogue_->stop();
  control_.close();
  io_.stop();
}

void Daemon::start_proxy() {
  proxy_.reset();  // leaves what an old upstream had joined
  if (config_.proxy.upstream.empty()) return;
  proxy_ = std::make_unique<MembershipProxy>(io_, config_.proxy);
  log::info("proxy: reporting downstream groups upstream on {} (RFC 4605)", config_.proxy.upstream);
  // Groups that already have listeners (pinned maps kept them).
  for (const auto& g : membership_->active_groups()) proxy_->group_up(g);
}

void Daemon::reload() {
  sd_notify(0, "RELOADING=1");
  ConfigResult next = load_config(config_.path);
  if (!next.ok()) {
    for (const auto& e : next.errors) log::error("reload refused: {}", e.to_string());
  } else {
    // A routing section that cannot be applied keeps the old one.
    if (routes_ && !routes_->reload(next.config.routing)) next.config.routing = config_.routing;
    log::info("configuration {} reloaded", config_.path);
    config_ = std::move(next.config);
    if (membership_) membership_->reload(config_.membership);
    if (!proxy_ || proxy_->upstream() != config_.proxy.upstream) start_proxy();
    if (sessions_) sessions_->reload(config_.sessions);
    if (config_.metrics.listen != metrics_.address()) {
      metrics_.close();
      if (!config_.metrics.listen.empty()) {
        if (auto ec = metrics_.listen(config_.metrics.listen))
          log::error("metrics: cannot listen on {}: {}; no metrics endpoint", config_.metrics.listen, ec.message());
        else
          log::info("metrics: now on http://{}/metrics", config_.metrics.listen);
      }
    }
    catalogue_->reload(config_.catalogue);
  }
  sd_notify(0, "READY=1");
}

}  // namespace joincast::daemon
