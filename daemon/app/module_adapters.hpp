// module_adapters.hpp — the routing and sessions modules seen through the
// Module interface, for the composition root. Routing keeps the bool start
// and reload it had (it logs its own failures); sessions return Result.
#pragma once

#include "daemon/core/module.hpp"
#include "daemon/routing/route_controller.hpp"
#include "daemon/sessions/session_manager.hpp"

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

class SessionsModule final : public ConfiguredModule<SessionsSection> {
 public:
  explicit SessionsModule(SessionManager& sessions) : sessions_(sessions) {}
  std::string_view name() const override { return "sessions"; }
  Result<void> start() override { return sessions_.start(); }
  // Fails, changing nothing, when the media engine cannot start.
  Result<void> reload(const SessionsSection& next) override { return sessions_.reload(next); }
  void stop() override { sessions_.stop(); }
  nlohmann::json status() const override { return sessions_.summary(); }
  void collect_metrics(MetricsWriter& w) const override { sessions_.collect_metrics(w); }

 private:
  SessionManager& sessions_;
};

}  // namespace joincast::daemon
