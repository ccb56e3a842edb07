// module.hpp — what each daemon module offers the composition root
// (daemon/app/daemon.cpp): start, reload with its own configuration section,
// stop, a status object and metrics. Commands are registered with the control
// server at start. A module never reaches into another: they talk through
// the typed events and narrow interfaces the composition root wires up.
#pragma once

#include "common/result.hpp"
#include "daemon/core/metrics.hpp"

#include <nlohmann/json.hpp>

#include <string_view>

namespace joincast::daemon::core {

class Module {
 public:
  virtual ~Module() = default;

  // The status key and log prefix: "routing", "membership", …
  virtual std::string_view name() const = 0;
  // Registers the module's commands and starts it. An error stops joincastd
  // from starting (it is logged once, by the caller).
  virtual Result<void> start() = 0;
  // Undoes what start() did; called in reverse start order.
  virtual void stop() = 0;
  // The module's part of `joincast status`; null to leave it out.
  virtual nlohmann::json status() const = 0;
  virtual void collect_metrics(MetricsWriter&) const {}
};

// A module configured by one section of joincast.toml.
template <class Section>
class ConfiguredModule : public Module {
 public:
  // SIGHUP: apply the new section. An error means the module kept running
  // with the section it had (the caller logs the reason once).
  virtual Result<void> reload(const Section& next) = 0;
};

}  // namespace joincast::daemon::core
