// tc_filter.hpp — attaching a BPF program as a direct-action filter on an
// interface's clsact ingress hook, at a handle and priority of its own, so
// that joincast's programs (membership, monitor, …) sit side by side on
// one interface and each can be replaced or removed alone. Lower
// priorities run first; each program returns TC_ACT_UNSPEC for what it
// lets pass, so the next one still sees the packet.
//
// A library: every failure is returned, nothing is logged.
#pragma once

#include "common/result.hpp"

#include <cstdint>

namespace joincast::daemon::membership::loader {

struct TcSlot {
  std::uint32_t handle;
  std::uint32_t priority;
};

// Creates clsact if needed; replaces a filter a previous joincastd left
// in the same slot.
Result<void> tc_attach_ingress(int ifindex, int program_fd, TcSlot slot);
// Removes the filter in the slot. An interface, hook or filter that is
// gone counts as detached.
Result<void> tc_detach_ingress(int ifindex, TcSlot slot);

}  // namespace joincast::daemon::membership::loader
