// example_config_test.cpp — the example configuration shipped in docs/
// must stay valid: it is what users copy.
#include "daemon/app/config.hpp"

#include <doctest/doctest.h>

TEST_CASE("docs/joincast.toml passes joincastd --check") {
  auto r = joincast::daemon::app::load_config(JOINCAST_SOURCE_DIR "/docs/joincast.toml");
  for (const auto& e : r.errors) MESSAGE(e.to_string());
  CHECK(r.ok());
  CHECK(r.config.membership.interfaces == std::vector<std::string>{"br0"});
}
