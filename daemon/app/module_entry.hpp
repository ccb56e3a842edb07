// module_entry.hpp — one module in the composition root's start order
// (daemon/app/daemon.hpp), with how to hand it its section of Config on
// SIGHUP and how to keep its running section when it refuses the new one.
#pragma once

#include "daemon/app/config.hpp"
#include "daemon/core/module.hpp"

#include <functional>

namespace joincast::daemon::app {

struct ModuleEntry {
  core::Module* module;
  std::function<Result<void>(const Config& next)> reload;
  std::function<void(Config& next, const Config& running)> keep_running_section;
};

// `section` picks the module's section out of a Config: a member pointer
// (&Config::routing) or a function of Config& / const Config&.
template <class Section, class Pick>
ModuleEntry module_entry(core::ConfiguredModule<Section>& module, Pick section) {
  return {&module, [&module, section](const Config& next) { return module.reload(std::invoke(section, next)); },
          [section](Config& next, const Config& running) { std::invoke(section, next) = std::invoke(section, running); }};
}

}  // namespace joincast::daemon::app
