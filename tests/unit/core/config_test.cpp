// config_test.cpp — the TOML configuration: defaults, derived timers, and
// errors that name file, line and key.
#include "daemon/app/config.hpp"

#include <doctest/doctest.h>

using namespace joincast::daemon;
using namespace std::chrono_literals;

TEST_CASE("an empty config gives RFC 3810 default timers") {
  auto r = app::parse_config("", "empty.toml");
  REQUIRE(r.ok());
  const auto& t = r.config.membership.timers;
  CHECK(t.robustness == 2);
  CHECK(t.query_interval == 125s);
  CHECK(t.query_response_interval == 10s);
  CHECK(t.listener_interval == 260s);       // §9.4
  CHECK(t.other_querier_timeout == 255s);   // §9.5
  CHECK(t.startup_query_interval == 31250ms);  // §9.6
  CHECK(t.last_listener_query_count == 2);
  CHECK(r.config.membership.bpf_pin_root == "/sys/fs/bpf/joincast");
}

TEST_CASE("derived timers follow the configured ones") {
  auto r = app::parse_config(R"(
[membership.timers]
robustness = 3
query_interval = "10s"
query_response_interval = "2s"
)", "t.toml");
  REQUIRE(r.ok());
  const auto& t = r.config.membership.timers;
  CHECK(t.listener_interval == 32s);
  CHECK(t.other_querier_timeout == 31s);
  CHECK(t.startup_query_interval == 2500ms);
  CHECK(t.last_listener_query_count == 3);
}

TEST_CASE("durations accept units and plain seconds") {
  CHECK(core::parse_duration("500ms") == 500ms);
  CHECK(core::parse_duration("1.5s") == 1500ms);
  CHECK(core::parse_duration("2m") == 120s);
  CHECK(core::parse_duration("3") == 3s);
  CHECK_FALSE(core::parse_duration("soon"));
  CHECK_FALSE(core::parse_duration("-1s"));
}

TEST_CASE("errors name file and line and key") {
  auto r = app::parse_config("[membership]\ninterfaces = [\"br0\"]\nbackend = \"ebpf\"\n", "/etc/joincast/x.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        "/etc/joincast/x.toml:3:11: membership.backend: must be \"auto\", \"bpf\" or \"socket\"");
}

TEST_CASE("unknown keys are errors and not silently ignored") {
  auto r = app::parse_config("[membership]\ninterface = [\"br0\"]\n", "x.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].key == "membership.interface");
  CHECK(r.errors[0].line == 2);
}

TEST_CASE("every problem is reported and not just the first") {
  auto r = app::parse_config(R"(
[daemon]
log_level = "loud"
[membership.timers]
query_interval = "10s"
query_response_interval = "20s"
robustness = 0
)", "x.toml");
  CHECK(r.errors.size() == 3);
}

TEST_CASE("a TOML syntax error points at the line") {
  auto r = app::parse_config("[membership\n", "bad.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "bad.toml");
  CHECK(r.errors[0].line == 1);
}

TEST_CASE("durations that must be positive refuse 0s, naming the key") {
  struct Case {
    const char* section;
    const char* key;
  };
  for (Case c : {Case{"membership.timers", "listener_interval"}, Case{"membership.timers", "other_querier_timeout"},
                 Case{"membership.timers", "query_interval"}, Case{"membership.timers", "query_response_interval"},
                 Case{"membership.timers", "last_listener_query_interval"},
                 Case{"membership.timers", "startup_query_interval"}, Case{"membership.timers", "aging_period"},
                 Case{"sessions", "start_timeout"}, Case{"http", "response_timeout"}, Case{"http", "stall_timeout"},
                 Case{"http", "reconnect_initial"}, Case{"http", "reconnect_max"}, Case{"dvb", "start_timeout"}}) {
    for (const char* zero : {"\"0s\"", "0", "\"0ms\"", "0.0"}) {
      std::string key = std::string(c.section) + "." + c.key;
      CAPTURE(key);
      CAPTURE(zero);
      auto r = app::parse_config(std::string("[") + c.section + "]\n" + c.key + " = " + zero + "\n", "z.toml");
      REQUIRE_FALSE(r.ok());
      bool named = false;
      for (const auto& e : r.errors)
        if (e.key == key && e.message.find("must be positive") != std::string::npos) named = true;
      CHECK(named);
    }
  }
}
