// receiver_table.hpp — what one session knows about its listeners from the
// RTCP they send to port 5005 of its group (RFC 3550 §6.4): who reports
// (distinct SSRCs, with CNAME and address), their loss and jitter for our
// stream, round-trip time, and when each was last heard. A BYE removes a
// receiver (§6.6); so does silence longer than the timeout (§6.3.5).
// Malformed packets are counted and otherwise ignored; so are new receivers
// beyond the per-session or total cap (ReceiverLimits).
#pragma once

#include "media/rtcp/rtcp.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace joincast::media {

struct ReceiverStats {
  std::uint32_t ssrc = 0;
  std::string cname;
  std::string address;          // source address of its last RTCP packet
  bool reports_on_us = false;   // it sent a report block about our SSRC
  double fraction_lost = 0;     // 0..1, from its last report block about us
  std::int64_t cumulative_lost = 0;
  std::uint32_t highest_seq = 0;
  double jitter_ms = 0;         // interarrival jitter, converted from RTP units
  std::optional<double> rtt_ms; // from LSR/DLSR (§6.4.1) when it echoes one of our SRs
  std::chrono::steady_clock::time_point first_seen{};
  std::chrono::steady_clock::time_point last_seen{};
  std::uint64_t reports = 0;    // RTCP compounds received from it
};

struct RtcpCounters {
  std::uint64_t packets = 0;     // datagrams received on the RTCP port
  std::uint64_t malformed = 0;   // failed parse_rtcp(): counted and ignored
  std::uint64_t byes = 0;        // receivers removed by BYE
  std::uint64_t timeouts = 0;    // receivers removed by silence
  std::uint64_t refused = 0;     // new receivers not recorded: a table or the total was full
};

// Receivers in all sessions together: any host on the LAN can claim
// thousands of SSRCs per datagram, so the total is capped as well as each
// session's table. Shared by the sessions' worker threads.
class ReceiverBudget {
 public:
  explicit ReceiverBudget(std::size_t limit) : limit_(limit) {}
  void set_limit(std::size_t limit) { limit_ = limit; }
  bool acquire() {
    auto used = used_.load();
    do {
      if (used >= limit_.load()) return false;
    } while (!used_.compare_exchange_weak(used, used + 1));
    return true;
  }
  void release(std::size_t n) { used_ -= n; }
  std::size_t used() const { return used_.load(); }

 private:
  std::atomic<std::size_t> limit_;
  std::atomic<std::size_t> used_{0};
};

struct ReceiverLimits {
  std::size_t per_session = 64;
  std::shared_ptr<ReceiverBudget> total;  // null: no total cap
};

class ReceiverTable {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ReceiverTable(std::chrono::milliseconds timeout, ReceiverLimits limits = {})
      : timeout_(timeout), limits_(std::move(limits)) {}
  ~ReceiverTable();
  ReceiverTable(const ReceiverTable&) = delete;
  ReceiverTable& operator=(const ReceiverTable&) = delete;

  // Our own SSRC (our SRs loop back and are not receivers) and the RTP
  // clock rate the jitter figures are in.
  void set_sender(std::uint32_t ssrc, unsigned clock_rate) {
    own_ssrc_ = ssrc;
    clock_rate_ = clock_rate;
  }

  // One datagram from port 5005. ntp_now is the arrival time in NTP format
  // (for round-trip times). Returns false if it was malformed.
  bool on_packet(std::span<const std::byte> datagram, const std::string& from, Clock::time_point now,
                 std::uint64_t ntp_now);

  // Removes receivers not heard from within the timeout.
  void expire(Clock::time_point now);

  std::vector<ReceiverStats> receivers() const;
  std::size_t size() const { return receivers_.size(); }
  const RtcpCounters& counters() const { return counters_; }

 private:
  // The receiver's entry, created if there is room; null when refused.
  ReceiverStats* touch(std::uint32_t ssrc, const std::string& from, Clock::time_point now);
  void erased(std::size_t n);

  std::chrono::milliseconds timeout_;
  ReceiverLimits limits_;
  std::uint32_t own_ssrc_ = 0;
  unsigned clock_rate_ = 0;
  std::map<std::uint32_t, ReceiverStats> receivers_;
  RtcpCounters counters_;
};

}  // namespace joincast::media
