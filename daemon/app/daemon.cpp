// daemon.cpp — see daemon.hpp.
#include "daemon/app/daemon.hpp"

#include "daemon/core/log.hpp"
#include "daemon/core/service_notify.hpp"

#include <malloc.h>

#include <csignal>
#include <exception>
#include <typeinfo>

namespace joincast::daemon::app {

namespace {
// Reading the configuration (a large smcroute.conf: text, TOML, every
// origin string, the plan) leaves freed heap behind that glibc keeps
// mapped; give it back, so the resident size is what the routes hold.
void release_freed_memory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}
}  // namespace

std::size_t run_event_loop(boost::asio::io_context& io) {
  std::size_t thrown = 0;
  for (;;) {
    try {
      io.run();
      return thrown;
    } catch (const std::exception& e) {
      ++thrown;
      core::log::error("event loop: a handler threw {} ({}); the daemon continues", typeid(e).name(), e.what());
    } catch (...) {
      ++thrown;
      core::log::error("event loop: a handler threw a non-standard exception; the daemon continues");
    }
  }
}

Daemon::Daemon(Config config, Options options)
    : config_(std::move(config)),
      options_(options),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      control_(io_, config_.daemon.control_socket, config_.daemon.control_mode, config_.daemon.control_group),
      metrics_(io_),
      links_(io_),
      started_(std::chrono::steady_clock::now()) {
  // The modules, in start order. Adding a module is one line here.
  routes_ = std::make_unique<routing::RouteController>(io_, control_, config_.routing, links_);
  add(*routes_, &Config::routing);
  membership_ = std::make_unique<membership::Membership>(io_, config_.membership, control_, *routes_, links_);
  add(*membership_, &Config::membership);
  proxy_ =
      std::make_unique<membership::MembershipProxy>(config_.proxy, [this] { return membership_->active_groups(); }, links_);
  add(*proxy_, &Config::proxy);
  // The catalogue and the sessions, in a build with media.
  media_ = add_media_part({io_, control_, links_, *membership_, *routes_}, config_, modules_);
  monitor_ = std::make_unique<lan::monitor::Monitor>(io_, control_, config_.monitor, links_);
  add(*monitor_, &Config::monitor);
  ssdp_ = std::make_unique<lan::ssdp::Ssdp>(io_, config_.ssdp, config_.membership.bpf_pin_root, control_, links_,
                                            [this] { return membership_->listener_interfaces(); });
  add(*ssdp_, &Config::ssdp);
  mdns_ = std::make_unique<lan::mdns::MdnsRelay>(io_, control_, config_.mdns, links_);
  add(*mdns_, &Config::mdns);

  // How modules hear of each other: membership's events, once.
  membership_->observe([this](const membership::MembershipEvent& e) {
    if (media_) media_->on_membership(e);
    if (e.kind == membership::MembershipEvent::Kind::group_up) proxy_->group_up(e.group);
    else if (e.kind == membership::MembershipEvent::Kind::group_down) proxy_->group_down(e.group);
    // Any change of an SSDP group's listeners (group up/down too: they are
    // what is recovered after the ring buffer lost events).
    if (lan::ssdp::is_ssdp_group(e.group)) ssdp_->listeners_changed();
  });
  metrics_.add_collector([this](core::MetricsWriter& w) {
    for (const auto& m : modules_) m.module->collect_metrics(w);
  });
}

Daemon::~Daemon() = default;

nlohmann::json Daemon::status() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  nlohmann::json out = {
      {"version", JOINCAST_VERSION}, {"pid", ::getpid()}, {"uptime_s", uptime.count()}, {"config", config_.path}};
  for (std::size_t i = 0; i < started_modules_; ++i) {
    nlohmann::json s = modules_[i].module->status();
    if (!s.is_null()) out[std::string(modules_[i].module->name())] = std::move(s);
  }
  return out;
}

Result<void> Daemon::start() {
  for (auto& m : modules_) {
    if (auto r = m.module->start(); !r) return std::move(r).error().context(m.module->name());
    ++started_modules_;
  }
  return success();
}

void Daemon::stop() {
  // Reverse order: sessions send their SAP deletions while the sockets and
  // routes still work; routing removes what it installed last.
  while (started_modules_ > 0) modules_[--started_modules_].module->stop();
}

int Daemon::run() {
  if (auto ec = control_.open()) {
    core::log::error("control socket {}: {}", control_.path(),
               ec == std::errc::address_in_use ? "another joincastd is already running" : ec.message());
    return 1;
  }
  control_.add("status", "daemon version, uptime and module state", [this](const nlohmann::json&) { return status(); });
  // The interfaces first: every module looks them up in its table.
  if (auto r = links_.start(); !r) {
    core::log::error("interfaces: {}", r.error().message());
    return 1;
  }
  if (auto r = start(); !r) {
    core::log::error("{}", r.error().message());
    stop();
    return 1;
  }
  release_freed_memory();
  if (!config_.metrics.listen.empty()) {
    if (auto ec = metrics_.listen(config_.metrics.listen)) {
      core::log::error("metrics: cannot listen on {}: {}", config_.metrics.listen, ec.message());
      stop();
      return 1;
    }
    core::log::info("metrics: Prometheus text format on http://{}/metrics", config_.metrics.listen);
  }

  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (!ec) on_signal(signo);
  });
  core::log::info("joincastd {} started, control socket {}", JOINCAST_VERSION, control_.path());
  core::notify_service_manager("READY=1\nSTATUS=running");
  run_event_loop(io_);
  core::log::info("joincastd stopped");
  return 0;
}

void Daemon::on_signal(int signo) {
  if (signo == SIGHUP) {
    // Nothing a reload throws may end the daemon without its orderly stop.
    try {
      reload();
    } catch (const std::exception& e) {
      core::log::error("reload failed: {}; the running configuration stays in force", e.what());
      core::notify_service_manager("READY=1");
    }
    signals_.async_wait([this](boost::system::error_code ec, int s) {
      if (!ec) on_signal(s);
    });
    return;
  }
  core::log::info("{} received, stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
  core::notify_service_manager("STOPPING=1");
  stop();
  links_.stop();
  metrics_.close();
  control_.close();
  io_.stop();
}

void Daemon::reload_daemon_section(Config& next) {
  core::DaemonSection& d = next.daemon;
  const core::DaemonSection& running = config_.daemon;
  auto restart_only = [](const char* key, const auto& now, const auto& asked) {
    core::log::warning("reload: daemon.{} changes only on restart; keeping {} (the file says {})", key, now, asked);
  };
  if (d.state_dir != running.state_dir) restart_only("state_dir", running.state_dir, d.state_dir);
  if (d.control_socket != running.control_socket)
    restart_only("control_socket", running.control_socket, d.control_socket);
  if (d.control_group != running.control_group)
    restart_only("control_group", running.control_group.empty() ? "root's" : running.control_group,
                 d.control_group.empty() ? "root's" : d.control_group);
  if (d.control_mode != running.control_mode)
    restart_only("control_mode", fmt::format("{:04o}", running.control_mode), fmt::format("{:04o}", d.control_mode));
  std::string level = d.log_level;
  d = running;
  d.log_level = level;
  if (level == running.log_level) return;
  if (options_.log_level_from_command_line) {
    core::log::notice("reload: daemon.log_level is now \"{}\", but --log-level on the command line stays in force", level);
    return;
  }
  core::log::Level parsed;
  if (core::log::parse_level(level, parsed)) {
    core::log::set_level(parsed);
    core::log::notice("reload: log level is now {}", level);
  }
}

void Daemon::reload_metrics(const core::MetricsSection& next) {
  if (next.listen == metrics_.address()) return;
  metrics_.close();
  if (next.listen.empty()) return;
  if (auto ec = metrics_.listen(next.listen))
    core::log::error("metrics: cannot listen on {}: {}; no metrics endpoint", next.listen, ec.message());
  else
    core::log::info("metrics: now on http://{}/metrics", next.listen);
}

void Daemon::reload() {
  core::notify_service_manager("RELOADING=1");
  ConfigResult next = load_config(config_.path);
  if (!next.ok()) {
    for (const auto& e : next.errors) core::log::error("reload refused: {}", e.to_string());
    core::log::error("reload refused: {} has {} problem{}; the running configuration stays in force", config_.path,
               next.errors.size(), next.errors.size() == 1 ? "" : "s");
    core::notify_service_manager("READY=1");
    return;
  }
  reload_daemon_section(next.config);
  for (auto& m : modules_) {
    if (auto r = m.reload(next.config); !r) {
      core::log::error("reload: {}: {}; it keeps its running configuration", m.module->name(), r.error().message());
      m.keep_running_section(next.config, config_);
    }
  }
  reload_metrics(next.config.metrics);
  config_ = std::move(next.config);
  release_freed_memory();
  core::log::info("configuration {} reloaded", config_.path);
  core::notify_service_manager("READY=1");
}

}  // namespace joincast::daemon::app
