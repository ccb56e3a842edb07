// membership_maps.hpp — reads the membership maps, either through the fds
// of a loaded MembershipProgram or straight from the pins (what `joincast
// groups` does when the daemon is down). Also the C++ view of the ABI:
// size checks against bpf/shared/membership_abi.h and address formatting.
//
// A library: every failure is returned, nothing is logged.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "membership_abi.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The ABI has no implicit padding; if one of these fails, the header grew a
// hole or changed and both sides must be rebuilt together.
static_assert(sizeof(jc_listener_key) == 36);
static_assert(sizeof(jc_listener) == 32);
static_assert(sizeof(jc_group_key) == 16);
static_assert(sizeof(jc_group) == 48);
static_assert(sizeof(jc_querier_key) == 8);
static_assert(sizeof(jc_querier) == 40);
static_assert(sizeof(jc_counters) == 15 * 8);
static_assert(sizeof(jc_host_key) == 20);
static_assert(sizeof(jc_quota) == 16);
static_assert(sizeof(jc_event) == 56);
static_assert(sizeof(jc_forget_args) == 48);
static_assert(sizeof(jc_collect_args) == 24);

namespace joincast::daemon::membership::loader {

static_assert(JC_ADDR_LEN == 16);
using joincast::Address16;  // the maps' address form (common/ip_address.hpp)

// "ff3e:40:2001:db8:d0be:f00d:8000:0" or "239.1.2.3" (IPv4-mapped).
std::string format_address(const std::uint8_t* addr16);
// Parses either family into the 16-byte form. nullopt if neither.
std::optional<Address16> parse_address(const std::string& text);
bool is_ipv4_mapped(const std::uint8_t* addr16);

const char* version_name(std::uint8_t version);    // "MLDv2", "IGMPv3", ...
const char* mode_name(std::uint8_t filter_mode);   // "include", "exclude"
const char* record_name(std::uint8_t record_type); // "IS_EX", "TO_IN", "v1 report", ...
const char* event_name(std::uint8_t event_type);   // "listener-join", ...
const char* reason_name(std::uint8_t reason);      // "report", "timeout", ...

struct ListenerEntry {
  jc_listener_key key;
  jc_listener value;
};
struct GroupEntry {
  jc_group_key key;
  jc_group value;
};
struct QuerierEntry {
  jc_querier_key key;
  jc_querier value;
};

class MembershipMaps {
 public:
  // Opens the pinned maps under root. The fds are owned and closed.
  static Result<MembershipMaps> open_pinned(const std::string& root);
  // Borrows the fds of a loaded program; they are not closed.
  static MembershipMaps borrow(int listeners, int groups, int queriers, int counters);

  MembershipMaps(MembershipMaps&& other) noexcept = default;
  MembershipMaps& operator=(MembershipMaps&&) = delete;

  Result<std::vector<ListenerEntry>> listeners() const;
  Result<std::vector<GroupEntry>> groups() const;
  Result<std::vector<QuerierEntry>> queriers() const;
  // Summed over all CPUs.
  Result<jc_counters> counters() const;

 private:
  MembershipMaps(int listeners, int groups, int queriers, int counters)
      : listeners_(listeners), groups_(groups), queriers_(queriers), counters_(counters) {}
  int listeners_ = -1, groups_ = -1, queriers_ = -1, counters_ = -1;
  std::array<UniqueFd, 4> owned_;  // open_pinned's fds; empty when borrowed
};

}  // namespace joincast::daemon::membership::loader
