// monitor_program.hpp — the loader of bpf/monitor.bpf.c: loads the TC
// program with its maps (not pinned: they hold nothing the configuration
// does not say again at start), attaches it to interfaces' clsact ingress
// in a slot of its own (after the membership program), and reads and
// writes its maps (bpf/shared/monitor_abi.h).
//
// A library: every failure is returned, nothing is logged.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"
#include "daemon/membership/loader/tc_filter.hpp"
#include "monitor_abi.h"

#include <cstdint>
#include <memory>
#include <set>

struct monitor_bpf;

namespace joincast::daemon::lan::monitor {

class MonitorProgram {
 public:
  // "JM", after membership's filter (0x4a43, priority 1).
  static constexpr membership::loader::TcSlot tc_slot{0x4a4d, 2};

  static Result<std::unique_ptr<MonitorProgram>> load();
  ~MonitorProgram();  // detaches from every interface
  MonitorProgram(const MonitorProgram&) = delete;
  MonitorProgram& operator=(const MonitorProgram&) = delete;

  Result<void> attach(int ifindex);
  Result<void> detach(int ifindex);
  const std::set<int>& attached() const { return attached_; }
  int program_fd() const;

  Result<void> put_entry(const jc_mon_key& key, const jc_mon_entry& entry);
  Result<void> delete_entry(const jc_mon_key& key);
  // Allowed senders of entry id (an LPM trie of prefixes).
  Result<void> add_sender(std::uint32_t id, const IpPrefix& sender);
  Result<void> delete_sender(std::uint32_t id, const IpPrefix& sender);
  Result<jc_mon_counters> counters(std::uint32_t id) const;
  Result<void> reset_counters(std::uint32_t id);

  static jc_mon_key key(int ifindex, const IpAddress& group, std::uint16_t port);

 private:
  MonitorProgram() = default;
  struct SkeletonDeleter {
    void operator()(monitor_bpf* skel) const noexcept;
  };
  std::unique_ptr<monitor_bpf, SkeletonDeleter> skel_;
  std::set<int> attached_;
};

}  // namespace joincast::daemon::lan::monitor
