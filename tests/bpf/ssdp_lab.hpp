// ssdp_lab.hpp — the SSDP relay program loaded for one test, with three
// zone interfaces to relay between: veth pairs in a network namespace of
// the test process's own (unshared once, gone with the process), each with
// a packet socket on its far end that captures the copies the program
// sends. Packets are run through BPF_PROG_TEST_RUN as if received on one
// of the interfaces. Nothing is sent outside that namespace.
#pragma once

#include "daemon/lan/ssdp/loader/ssdp_program.hpp"
#include "tests/bpf/packet_builder.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joincast::tests {

using joincast::daemon::lan::ssdp::Mac;

// A zone interface: the near end of a veth pair, in the program's map.
struct SsdpPort {
  std::string name;
  std::uint32_t ifindex = 0;
  Mac mac{};
  int capture = -1;  // AF_PACKET socket on the far end
};

// The documentation subnet of port i: 192.0.2.(64 i)/26, hosts .10 up.
std::string host_of(int port, int host = 10);

class SsdpLab {
 public:
  static constexpr int ports = 3;
  SsdpLab();
  ~SsdpLab();
  SsdpLab(const SsdpLab&) = delete;
  SsdpLab& operator=(const SsdpLab&) = delete;

  joincast::daemon::lan::ssdp::SsdpProgram& program() { return *program_; }
  const SsdpPort& port(int i) const { return ports_.at(static_cast<std::size_t>(i)); }

  // An entry for port i: IPv4 and IPv6, rewrite on, ports 1900 and 6969,
  // subnet 192.0.2.(64 i)/26, no peers, no rate limit.
  jc_ssdp_iface iface(int i) const;
  // Adds a peer to an entry.
  static void add_peer(jc_ssdp_iface& e, const SsdpPort& to, std::uint8_t kinds, std::uint8_t ttl = 0);
  void configure(int i, const jc_ssdp_iface& e);
  // Every port in the zone, all relaying everything to all others.
  void full_mesh();

  struct Run {
    std::uint32_t verdict = 0;
    Bytes out;  // the packet as the stack on its own network gets it
  };
  // Runs frame as received on port i (ctx mark as given).
  Run run(const Bytes& frame, int i, std::uint32_t mark = 0);
  // Runs and checks the verdict is TC_ACT_UNSPEC and the packet unchanged.
  void run_unchanged(const Bytes& frame, int i, std::uint32_t mark = 0);

  // The next SSDP frame (destination MAC 01:00:5e:7f:ff:fa or
  // 33:33:00:00:00:0c) captured behind port i, waiting for it; nullopt if
  // none comes (after seconds).
  std::optional<Bytes> next_copy(int i, int seconds = 5);
  // Frames captured so far and not yet read, without waiting.
  std::vector<Bytes> drain(int i);

  // The summed counters of (port i, direction); all zero if no entry.
  jc_ssdp_counters counters(int i, std::uint32_t direction = JC_SSDP_IN) const;

 private:
  std::string pin_root_;
  std::unique_ptr<joincast::daemon::lan::ssdp::SsdpProgram> program_;
  std::array<SsdpPort, ports> ports_;
};

// Compares every counter with the expected ones, naming those that differ.
void check_ssdp_counters(const jc_ssdp_counters& actual, const jc_ssdp_counters& expected);

// True if the frame's IPv4 header checksum and UDP checksum (IPv4 or IPv6)
// are right; the message says which is not.
bool checksums_valid(const Bytes& frame, std::string* why = nullptr);

// The frame with another source MAC.
Bytes with_source_mac(Bytes frame, const Mac& mac);
// The copy the program sends out of an interface with this MAC: the frame
// with that source MAC and, for IPv6, flow label JC_SSDP_FLOW_LABEL.
Bytes relayed_copy(Bytes frame, const Mac& mac);

}  // namespace joincast::tests
