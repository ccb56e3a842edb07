// membership_config.hpp — the [membership] section (interfaces, backend,
// table sizes, querier and its RFC 3810 §9 / RFC 3376 §8 timers) and the
// [proxy] section (RFC 4605). docs/configuration.md documents every key.
#pragma once

#include "daemon/core/config_reader.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace joincast::daemon::membership {

using std::chrono::milliseconds;

// MLD/IGMP timers (RFC 3810 §9, RFC 3376 §8). Derived values are computed
// from the others unless set explicitly.
struct MembershipTimers {
  unsigned robustness = 2;
  milliseconds query_interval{125'000};
  milliseconds query_response_interval{10'000};
  milliseconds last_listener_query_interval{1'000};
  unsigned last_listener_query_count = 2;  // defaults to robustness
  milliseconds startup_query_interval{31'250};  // query_interval / 4
  unsigned startup_query_count = 2;        // defaults to robustness
  // RFC 3810 §9.4: robustness * query_interval + query_response_interval.
  milliseconds listener_interval{260'000};
  // RFC 3810 §9.5: robustness * query_interval + query_response_interval / 2.
  milliseconds other_querier_timeout{255'000};
  // How often listeners are checked for expiry.
  milliseconds aging_period{1'000};
  // Empty groups are deleted from the groups map after this long.
  milliseconds empty_group_retention{600'000};
};

struct MembershipSection {
  enum class Backend { automatic, bpf, socket };
  std::vector<std::string> interfaces;
  std::string bpf_pin_root = "/sys/fs/bpf/joincast";
  Backend backend = Backend::automatic;
  bool track_link_local = false;  // also count ff02::/16 and 224.0.0.0/24 groups
  bool verify_checksum = true;
  unsigned max_listeners = 16384;  // (interface, group, host) entries
  unsigned max_groups = 4096;
  // Groups one host (per interface), and all hosts of one interface, may
  // hold; 0: no quota. A host flooding joins cannot fill the tables and
  // deny the others.
  unsigned max_groups_per_host = 256;
  unsigned max_groups_per_interface = 0;
  unsigned event_buffer = 256 * 1024;  // ring buffer bytes, a power of two >= 4096
  bool querier = true;  // send queries when no other querier is heard
  bool query_ipv4 = true;
  bool query_ipv6 = true;
  MembershipTimers timers;
};

// RFC 4605 proxying: groups with listeners downstream are joined upstream.
struct ProxySection {
  std::string upstream;  // empty: not a proxy
};

const char* backend_name(MembershipSection::Backend b);

void parse_membership_section(core::ConfigReader& r, const toml::table& root, MembershipSection& m);
void parse_proxy_section(core::ConfigReader& r, const toml::table& root, const MembershipSection& membership,
                         ProxySection& p);

}  // namespace joincast::daemon::membership
