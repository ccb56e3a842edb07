// relayed_copies.hpp — what this relay sent into each zone in the last
// `window`, by the bytes sent, so that another relay's copy of the same
// message is not relayed again. Two relays on the same links each carry a
// message from zone A into zone B; each then receives the other's copy in
// B, from an address not its own. Relayed back into A (when B may ask or
// be seen there), the copies would go round without end, multiplied by
// two each time. Both relays encode the same message the same way (the
// codec writes a decoded message deterministically), so the other's copy
// has the bytes this relay sent into B a moment before: such a message is
// counted (relayed_copies) and dropped. This does not wait for the
// reflector watch (reflector_watch.hpp), which needs records copied and so
// cannot see a query's copies. Keyed by zone and a 64-bit hash of the
// bytes; bounded: at most `max_entries`, and when full nothing new is
// remembered until expire() makes room. Time is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <utility>

namespace joincast::daemon::lan::mdns {

class RelayedCopies {
 public:
  using Clock = std::chrono::steady_clock;
  // A copy arrives within milliseconds; an identical message from a host a
  // second later is one of its own retransmissions (RFC 6762 §5.2).
  static constexpr auto window = std::chrono::milliseconds(500);
  static constexpr std::size_t max_entries = 8192;

  // `bytes` went out into `zone` at `now`.
  void sent(std::size_t zone, std::span<const std::uint8_t> bytes, Clock::time_point now);
  // True if `bytes`, arriving in `zone` at `now`, are what this relay sent
  // into that zone within the window.
  bool is_copy(std::size_t zone, std::span<const std::uint8_t> bytes, Clock::time_point now) const;
  void expire(Clock::time_point now);
  void clear() { sent_.clear(); }
  std::size_t size() const { return sent_.size(); }

  static std::uint64_t hash(std::span<const std::uint8_t> bytes);

 private:
  std::map<std::pair<std::size_t, std::uint64_t>, Clock::time_point> sent_;
};

}  // namespace joincast::daemon::lan::mdns
