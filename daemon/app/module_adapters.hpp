// module_adapters.hpp — the routing module seen through the Module
// interface, for the composition root: RouteController keeps the bool start
// and reload it has (it logs its own failures, in detail, where they happen).
#pragma once

#include "daemon/core/module.hpp"
#include "daemon/routing/route_controller.hpp"

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

}  // namespace joincast::daemon
