// membership_event.hpp — what the membership module tells other modules
// (sessions, the proxy): a group gained its first listener or lost its last,
// or one listener joined or left. Typed C++ values, so no other module sees
// the BPF ring buffer's jc_event (bpf/shared/membership_abi.h).
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"

#include <cstdint>

namespace joincast::daemon::membership {

struct MembershipEvent {
  enum class Kind {
    group_up,         // listener count 0 → 1
    group_down,       // 1 → 0
    listener_joined,  // a listener appeared on an interface
    listener_left,    // a listener left or was aged out
  };
  Kind kind = Kind::group_up;
  Address16 group{};      // IPv6, or IPv4-mapped
  int ifindex = 0;        // where the listener is (0 for group_up/down)
  Address16 host{};       // the listener (joined/left)
  unsigned listeners = 0;  // the group's listener count after the event
};

}  // namespace joincast::daemon::membership
