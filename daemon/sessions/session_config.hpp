// session_config.hpp — the [sessions] and [[policy]] sections: how a join
// becomes a stream (docs/configuration.md).
#pragma once

#include "daemon/core/config_reader.hpp"
#include "daemon/sessions/session_policy.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace joincast::daemon::sessions {

struct SessionsSection {
  std::string interface;  // where streams leave; empty: no sessions
  std::string source_address;
  unsigned hop_limit = 16;
  std::chrono::milliseconds grace{2'000};
  unsigned max_sessions = 32;
  std::map<std::string, unsigned> limits;  // directory name or "dvb" -> concurrent sessions
  std::chrono::milliseconds retry_initial{2'000};
  std::chrono::milliseconds retry_max{60'000};
  std::chrono::milliseconds start_timeout{20'000};
  std::chrono::milliseconds sap_interval{5'000};
  bool sap_well_known = false;
  // RFC 2974 §3.1's floor of the periodic interval on the well-known group.
  std::chrono::milliseconds sap_well_known_floor{300'000};
  unsigned threads = 0;
  std::size_t rtcp_receivers = 64;         // RTCP receivers one session keeps track of
  std::size_t rtcp_receivers_total = 1024; // ... and all sessions together
  bool route = true;  // with [routing]: route streams to the interfaces with listeners
  std::vector<PolicyRule> policies;  // [[policy]], parsed (session_policy.hpp)
  // [daemon] state_dir (set by the composition root): streams keep their
  // restart continuity records in <state_dir>/sessions/. Empty: none kept.
  std::string state_dir;
};

void parse_sessions(core::ConfigReader& r, const toml::table& root, SessionsSection& s);

}  // namespace joincast::daemon::sessions
