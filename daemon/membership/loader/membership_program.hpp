// membership_program.hpp — the BPF loader for bpf/membership.bpf.c.
//
// Opens the skeleton, sets the load-time knobs, pins the maps under a root
// on bpffs (reusing maps already pinned there, so a restarted daemon
// forgets no listener), attaches the TC program to interfaces' clsact
// ingress and detaches it again. Also runs the two programs (jc_forget, jc_collect_group) that
// change membership state from userspace.
//
// A library: every failure is returned, nothing is logged.
#pragma once

#include "common/result.hpp"
#include "membership_abi.h"

#include <cstdint>
#include <memory>
#include <set>
#include <string>

struct membership_bpf;

namespace joincast::daemon::membership::loader {

// libbpf returns -errno (and sets errno); a NULL pointer return leaves errno.
inline std::error_code libbpf_error(int negative_errno) { return errno_error(-negative_errno); }

class MembershipProgram {
 public:
  struct Options {
    std::string pin_root = "/sys/fs/bpf/joincast";
    bool track_link_local = false;
    bool verify_checksum = true;
    std::uint32_t max_listeners = JC_MAX_LISTENERS;
    std::uint32_t max_groups = JC_MAX_GROUPS;
    std::uint32_t event_buffer = JC_EVENTS_BYTES;
    // Group quotas (0: none): joins beyond them are refused and counted
    // (jc_counters.host_quota, interface_quota).
    std::uint32_t max_groups_per_host = 0;
    std::uint32_t max_groups_per_interface = 0;
    // Pinned maps that do not match this build's (another size, another
    // joincast version) are unpinned and made afresh, instead of failing
    // the load. replaced_pins() says which and why.
    bool replace_incompatible_pins = true;
  };

  // What load() found under the pin root.
  enum class MapsOrigin { created, reused };

  // Where the TC filter sits in clsact ingress: handle 0x4a43 ("JC"),
  // priority 1 so it sees packets before filters that might drop them.
  static constexpr std::uint32_t tc_handle = 0x4a43;
  static constexpr std::uint32_t tc_priority = 1;

  // Loads the program and pins (or reuses) its maps. Mounts bpffs on the
  // pin root's parent if nothing is mounted there.
  static Result<std::unique_ptr<MembershipProgram>> load(const Options& options);
  ~MembershipProgram();  // detaches from every interface; maps stay pinned
  MembershipProgram(const MembershipProgram&) = delete;
  MembershipProgram& operator=(const MembershipProgram&) = delete;

  MapsOrigin maps_origin() const { return origin_; }
  // Empty, or what load() found incompatible and replaced, for the log:
  // "groups: max_entries 4096 pinned, 8192 wanted".
  const std::string& replaced_pins() const { return replaced_; }
  const std::string& pin_root() const { return pin_root_; }

  // Attaches to ifindex's clsact ingress, creating clsact if needed and
  // replacing a filter a previous joincastd left at our handle.
  Result<void> attach(int ifindex);
  // Removes our filter. An interface that is gone counts as detached.
  Result<void> detach(int ifindex);
  const std::set<int>& attached() const { return attached_; }

  int program_fd() const;
  int listeners_fd() const;
  int groups_fd() const;
  int queriers_fd() const;
  int counters_fd() const;
  int events_fd() const;

  enum class ForgetOutcome { forgotten, absent, kept };
  // Removes a listener unless it reported after unless_reported_after_ns
  // (CLOCK_MONOTONIC), under the group lock the TC program uses.
  Result<ForgetOutcome> forget(const jc_listener_key& key, std::uint64_t unless_reported_after_ns,
                               jc_leave_reason reason);
  // Deletes an empty group unchanged since idle_since_ns. True if deleted.
  Result<bool> collect_group(const jc_group_key& key, std::uint64_t idle_since_ns);

  // Removes the pinned maps under root (what `joincast flush` does).
  static Result<void> unpin(const std::string& root);

 private:
  MembershipProgram() = default;

  // The libbpf skeleton, destroyed (programs detached, maps closed) with us.
  struct SkeletonDeleter {
    void operator()(membership_bpf* skel) const noexcept;
  };
  std::unique_ptr<membership_bpf, SkeletonDeleter> skel_;
  std::string pin_root_;
  MapsOrigin origin_ = MapsOrigin::created;
  std::string replaced_;
  std::set<int> attached_;
};

// The names maps are pinned under, inside the pin root.
inline constexpr const char* pinned_listeners = "listeners";
inline constexpr const char* pinned_groups = "groups";
inline constexpr const char* pinned_queriers = "queriers";
inline constexpr const char* pinned_counters = "counters";
inline constexpr const char* pinned_events = "events";
inline constexpr const char* pinned_host_quota = "host_quota";
inline constexpr const char* pinned_interface_quota = "interface_quota";

// Mounts bpffs at dir if dir is not already on a bpffs. Creates dir.
Result<void> ensure_bpffs(const std::string& dir);

// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads.
std::uint64_t monotonic_ns();

}  // namespace joincast::daemon::membership::loader
