// harness.hpp — the membership program loaded for one test: its own pin
// root on a private bpffs, packets run through BPF_PROG_TEST_RUN, and the
// state it leaves (listeners, groups, queriers, counters, ring-buffer
// events) read back for assertions.
//
// The bpffs (private_bpffs.hpp) is mounted once per test process and
// unmounted at exit; /sys/fs/bpf is never touched.
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/packet_builder.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct ring_buffer;

namespace joincast::tests {

// The interface index reported packets carry (as skb->ingress_ifindex).
inline constexpr std::uint32_t test_ifindex = 7;

// Runs one frame through a TC program with BPF_PROG_TEST_RUN, as if it
// arrived on ifindex (ctx.ingress_ifindex) with skb->mark `mark`: 0 or the
// kernel's negative error (test_run refuses frames shorter than ETH_HLEN
// or ending inside the IP header), the program's verdict and the frame
// after the run. Every program's tests use it.
int test_run(int program_fd, const Bytes& frame, std::uint32_t ifindex, std::uint32_t* retval, Bytes* out,
             std::uint32_t mark = 0);

// Directory of this process's private bpffs; mounted on first use.
const std::string& private_bpffs();

class LoadedMembership {
 public:
  // Loads the program with a fresh pin root on the private bpffs.
  explicit LoadedMembership(joincast::daemon::membership::loader::MembershipProgram::Options options = {});
  ~LoadedMembership();
  LoadedMembership(const LoadedMembership&) = delete;
  LoadedMembership& operator=(const LoadedMembership&) = delete;

  joincast::daemon::membership::loader::MembershipProgram& program() { return *program_; }

  // Runs one frame through jc_membership as if received on ifindex and
  // checks what every run must hold: verdict TC_ACT_UNSPEC and the frame
  // unchanged.
  void run(const Bytes& frame, std::uint32_t ifindex = test_ifindex);

  // The test run alone: 0 or the kernel's negative error (test_run refuses
  // frames shorter than ETH_HLEN or longer than its page), the program's
  // return value and the frame after the run.
  int try_run(const Bytes& frame, std::uint32_t ifindex, std::uint32_t* retval, Bytes* out);

  jc_counters counters() const;
  std::vector<joincast::daemon::membership::loader::ListenerEntry> listeners() const;
  std::vector<joincast::daemon::membership::loader::GroupEntry> groups() const;
  std::vector<joincast::daemon::membership::loader::QuerierEntry> queriers() const;
  std::optional<jc_listener> listener(std::string_view group, std::string_view host,
                                      std::uint32_t ifindex = test_ifindex) const;
  std::optional<jc_group> group(std::string_view group) const;
  std::optional<jc_querier> querier(std::uint32_t family, std::uint32_t ifindex = test_ifindex) const;

  // Every event queued since the last call, in order.
  std::vector<jc_event> events();

  std::uint32_t listener_count() const;
  std::uint32_t group_count() const;

 private:
  std::string pin_root_;
  std::unique_ptr<joincast::daemon::membership::loader::MembershipProgram> program_;
  ring_buffer* events_ = nullptr;
  std::vector<jc_event> pending_;
};

// Compares every counter with the expected ones (all others zero), naming
// the counters that differ.
void check_counters(const jc_counters& actual, const jc_counters& expected);
// What the counters grew by between two readings.
jc_counters counters_delta(const jc_counters& after, const jc_counters& before);

// An event as the tests spell it: type, group and host (text), and the
// group's listener count after it.
struct ExpectedEvent {
  std::uint8_t type;
  std::string group;
  std::string host;
  std::uint32_t listeners;
};
void check_events(const std::vector<jc_event>& actual, const std::vector<ExpectedEvent>& expected);

std::string describe(const jc_event& e);

}  // namespace joincast::tests
