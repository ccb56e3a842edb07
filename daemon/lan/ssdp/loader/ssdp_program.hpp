// ssdp_program.hpp — the BPF loader for bpf/ssdp.bpf.c, beside
// MembershipProgram and with its conventions: opens the skeleton, pins the
// maps under the pin root (names prefixed "ssdp_", reused when compatible),
// attaches the TC program to clsact ingress at its own handle and priority,
// and writes the zone configuration the program reads.
//
// A library: every failure is returned, nothing is logged.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"
#include "daemon/membership/loader/tc_filter.hpp"
#include "ssdp_abi.h"

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

struct ssdp_bpf;

// The ABI has no implicit padding; if one of these fails, the header grew a
// hole or changed and both sides must be rebuilt together.
static_assert(sizeof(jc_ssdp_peer) == 8);
static_assert(sizeof(jc_ssdp_iface) == 136);
static_assert(sizeof(jc_ssdp_mac_key) == 8);
static_assert(sizeof(jc_ssdp_filter_key) == 28);
static_assert(sizeof(jc_ssdp_source_key) == 20);
static_assert(sizeof(jc_ssdp_bucket) == 32);
static_assert(sizeof(jc_ssdp_counter_key) == 8);
static_assert(sizeof(jc_ssdp_counters) == 14 * 8);
static_assert(sizeof(jc_ssdp_port_bits) == 8192);

namespace joincast::daemon::lan::ssdp {

using joincast::daemon::membership::loader::TcSlot;
using Mac = std::array<std::uint8_t, 6>;

struct CounterEntry {
  jc_ssdp_counter_key key;
  jc_ssdp_counters value;  // summed over CPUs
};

// The counters' field names as the map's BTF spells them, in order, for
// JSON, metrics and tests.
struct CounterField {
  const char* name;
  __u64 jc_ssdp_counters::*member;
};
extern const std::array<CounterField, 14> counter_fields;

// Reads a counters map (a loaded program's fd, or a pinned map's).
Result<std::vector<CounterEntry>> read_counters(int fd);
// The same from the pin under root (what `joincast ssdp` does if the daemon
// is down).
Result<std::vector<CounterEntry>> read_pinned_counters(const std::string& root);

class SsdpProgram {
 public:
  struct Options {
    std::string pin_root = "/sys/fs/bpf/joincast";
    std::uint32_t max_sources = JC_SSDP_MAX_SOURCES;
    // Pinned maps that do not match this build's are unpinned and made
    // afresh; replaced_pins() says which and why.
    bool replace_incompatible_pins = true;
  };

  // clsact ingress: handle 0x5353 ("SS"), priority 3, after membership's
  // 0x4a43/1 (which therefore sees every packet as it came) and monitor's
  // 0x4a4d/2.
  static constexpr membership::loader::TcSlot tc_slot{0x5353, 3};

  static Result<std::unique_ptr<SsdpProgram>> load(const Options& options);
  ~SsdpProgram();  // detaches from every interface; maps stay pinned
  SsdpProgram(const SsdpProgram&) = delete;
  SsdpProgram& operator=(const SsdpProgram&) = delete;

  const std::string& replaced_pins() const { return replaced_; }
  const std::string& pin_root() const { return pin_root_; }

  // Puts ifindex into a zone (or replaces its entry) and records its MAC as
  // one of ours, so that our copies coming back are recognised.
  Result<void> configure(std::uint32_t ifindex, const jc_ssdp_iface& iface);
  // Takes ifindex out of its zone: its traffic passes after one lookup.
  // Its counters stay. An interface without an entry is not an error.
  Result<void> unconfigure(std::uint32_t ifindex);
  // Sets which SSDP groups hosts on ifindex listen to (enum
  // jc_ssdp_listening bits) in its entry, for JC_SSDP_F_ON_DEMAND.
  // An interface without an entry is not an error.
  Result<void> set_listening(std::uint32_t ifindex, std::uint8_t listening);

  // Source filters of an interface (used when its entry has
  // JC_SSDP_F_SOURCE_FILTER): an address prefix, or a MAC address.
  Result<void> allow_source(std::uint32_t ifindex, const Address16& address, unsigned prefix_bits);
  Result<void> allow_mac(std::uint32_t ifindex, const Mac& mac);
  Result<void> clear_filters(std::uint32_t ifindex);

  Result<void> attach(int ifindex);
  Result<void> detach(int ifindex);
  const std::set<int>& attached() const { return attached_; }

  Result<std::vector<CounterEntry>> counters() const { return read_counters(counters_fd()); }

  // Deletes the rate-limit buckets of sources silent since before
  // idle_before_ns (CLOCK_MONOTONIC; a bucket's state is due at its
  // theoretical arrival time, so one older than that holds a full burst
  // anyway). Without it the table fills with every source ever heard and
  // new sources share the overflow bucket. Returns how many were deleted.
  Result<std::size_t> collect_buckets(std::uint64_t idle_before_ns);
  // Buckets in the table now.
  Result<std::size_t> bucket_count() const;

  int program_fd() const;
  int ifaces_fd() const;
  int own_macs_fd() const;
  int filters_fd() const;
  int buckets_fd() const;
  int counters_fd() const;
  int ports_fd() const;

  // Removes the pinned maps under root.
  static Result<void> unpin(const std::string& root);

 private:
  SsdpProgram() = default;
  // Rewrites the ports map from the interface entries (see ssdp_abi.h).
  Result<void> update_ports();
  struct SkeletonDeleter {
    void operator()(ssdp_bpf* skel) const noexcept;
  };
  std::unique_ptr<ssdp_bpf, SkeletonDeleter> skel_;
  std::string pin_root_;
  std::string replaced_;
  std::set<int> attached_;
};

inline constexpr const char* pinned_ifaces = "ssdp_ifaces";
inline constexpr const char* pinned_own_macs = "ssdp_own_macs";
inline constexpr const char* pinned_filters = "ssdp_filters";
inline constexpr const char* pinned_buckets = "ssdp_buckets";
inline constexpr const char* pinned_counters = "ssdp_counters";

}  // namespace joincast::daemon::lan::ssdp
