// source_rate_limit.hpp — the relay's per-source rate limit: a token
// bucket per sender address (`rate` messages a second, `burst` at once), so
// one host flooding its link with queries or responses gets only its share
// carried into other zones while the others' discovery goes on. Bounded:
// at most `max_sources` buckets, the one idle longest making room.
#pragma once

#include "common/ip_address.hpp"

#include <chrono>
#include <cstddef>
#include <map>

namespace joincast::daemon::lan::mdns {

class SourceRateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t max_sources = 4096;

  SourceRateLimit(unsigned rate, unsigned burst) : rate_(rate), burst_(burst) {}

  // True if a message from `source` may be relayed at `now` (it takes a
  // token); always true with rate 0 (no limit).
  bool admit(const IpAddress& source, Clock::time_point now);
  std::size_t sources() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  unsigned rate_, burst_;
  std::map<IpAddress, Bucket> buckets_;
};

}  // namespace joincast::daemon::lan::mdns
