// session_config.hpp — the [sessions] and [[policy]] sections: how a join
// becomes a stream (docs/configuration.md).
#pragma once

#include "daemon/core/config_reader.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace joincast::daemon {

// Which downstream interfaces may start what. A join on an interface named
// by a policy starts a session only if the service matches one of its
// `allow` items; interfaces no policy names may start anything.
struct PolicyRule {
  std::vector<std::string> interfaces;
  // "all", "internet", "dvb", "directory:NAME", or a group prefix such as
  // "ff3e:40:2001:db8:d0be:f00d:8000:0/112" or "239.255.0.0/24".
  std::vector<std::string> allow;
  std::string origin;  // "file:line"
};

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
  unsigned threads = 0;
  std::size_t rtcp_receivers = 64;         // RTCP receivers one session keeps track of
  std::size_t rtcp_receivers_total = 1024; // ... and all sessions together
  bool route = true;  // with [routing]: route streams to the interfaces with listeners
  std::vector<PolicyRule> policies;
};

void parse_sessions(ConfigReader& r, const toml::table& root, SessionsSection& s);

}  // namespace joincast::daemon
