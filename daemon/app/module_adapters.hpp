// module_adapters.hpp — the routing and sessions modules seen through the
// Module interface, for the composition root, while their own classes keep
// the bool/void start and reload they had (they log their own failures).
#pragma once

#include "daemon/core/module.hpp"
#include "daemon/routing/route_controller.hpp"
#include "daemon/sessions/session_manager.hpp"

#include <exception>
#include <string>
#include <string_view>

namespace joincast::daemon {

class RoutingModule final : public ConfiguredModule<RoutingSection> {
 public:
  explicit RoutingModule(RouteController& routes) : routes_(routes) {}
  std::string_view name() const override { return "routing"; }
  Result<void> start() override {
    if (!routes_.start()) return Error(std::errc::invalid_argument, "the [routing] section cannot be applied");
    return success();
  }
  Result<void> reload(const RoutingSection& next) override {
    if (!routes_.reload(next)) return Error(std::errc::invalid_argument, "the new [routing] section cannot be applied");
    return success();
  }
  void stop() override { routes_.stop(); }
  nlohmann::json status() const override { return routes_.status(); }

 private:
  RouteController& routes_;
};

// The session manager's exceptions name it already ("sessions: …").
inline Error sessions_error(const std::exception& e) {
  std::string_view what = e.what();
  if (what.starts_with("sessions: ")) what.remove_prefix(10);
  return Error(std::errc::io_error, std::string(what));
}

class SessionsModule final : public ConfiguredModule<SessionsSection> {
 public:
  explicit SessionsModule(SessionManager& sessions) : sessions_(sessions) {}
  std::string_view name() const override { return "sessions"; }
  Result<void> start() override {
    try {
      sessions_.start();
    } catch (const std::exception& e) {
      return sessions_error(e);
    }
    return success();
  }
  Result<void> reload(const SessionsSection& next) override {
    try {
      sessions_.reload(next);
    } catch (const std::exception& e) {
      return sessions_error(e);
    }
    return success();
  }
  void stop() override { sessions_.stop(); }
  nlohmann::json status() const override { return sessions_.summary(); }
  void collect_metrics(MetricsWriter& w) const override { sessions_.collect_metrics(w); }

 private:
  SessionManager& sessions_;
};

}  // namespace joincast::daemon
