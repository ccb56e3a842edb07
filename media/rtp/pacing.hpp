// pacing.hpp — the arithmetic of sending on time: a stream's packets leave
// when the monotonic clock reaches their media time, measured from the
// first packet. Three small pieces, each unit-tested:
//
//   MediaTimeline       demuxer timestamps -> one continuous, increasing
//                       timeline (chained Ogg, stream restarts and missing
//                       timestamps must not make RTP time jump)
//   RtpTimestampUnwrap  32-bit RTP timestamps -> 64-bit ticks
//   PacingClock         ticks -> send time; a source that falls behind
//                       re-anchors the clock instead of bursting to catch up
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace joincast::media {

class MediaTimeline {
 public:
  // tolerance: how far (in stream time base units) a timestamp may run
  // ahead of where the previous packet's duration says it should be before
  // it counts as a discontinuity; behind, a twentieth of it.
  explicit MediaTimeline(std::int64_t tolerance) : tolerance_(tolerance) {}

  // Places a packet with the demuxer's pts (nullopt if unknown) and
  // duration (0 if unknown); returns its output timestamp. Output starts
  // at 0 and never decreases.
  std::int64_t place(std::optional<std::int64_t> pts, std::int64_t duration);

  // Where the next packet is expected.
  std::int64_t next() const { return next_; }
  std::uint64_t discontinuities() const { return discontinuities_; }

 private:
  std::int64_t tolerance_;
  bool started_ = false;
  std::int64_t offset_ = 0;  // output = pts + offset_
  std::int64_t next_ = 0;
  std::int64_t last_ = 0;
  std::uint64_t discontinuities_ = 0;
};

// Extends 32-bit RTP timestamps (RFC 3550 §5.1: they wrap) to signed
// 64-bit ticks counted from the first timestamp seen. A step of less than
// half the range either way is taken as the nearer of the two readings.
class RtpTimestampUnwrap {
 public:
  std::int64_t operator()(std::uint32_t timestamp);
  bool started() const { return started_; }
  std::uint32_t first() const { return first_; }

 private:
  bool started_ = false;
  std::uint32_t first_ = 0;
  std::uint32_t last_ = 0;
  std::int64_t last_ticks_ = 0;
};

class PacingClock {
 public:
  using Clock = std::chrono::steady_clock;

  // clock_rate: ticks per second. max_lateness: how late a packet may be
  // when it is produced before the clock is moved to now (the source
  // stalled; sending the backlog at once would only burst).
  PacingClock(unsigned clock_rate, std::chrono::nanoseconds max_lateness)
      : rate_(clock_rate), max_lateness_(max_lateness) {}

  // The send time of the packet at media position ticks, produced at now.
  // The first call anchors the clock: that packet is due at once.
  Clock::time_point due(std::int64_t ticks, Clock::time_point now);

  // The media position (in ticks) the clock reads at time t; for stamping
  // sender reports at the moment they leave. Requires anchored().
  std::int64_t ticks_at(Clock::time_point t) const;

  bool anchored() const { return anchored_; }
  std::uint64_t rebases() const { return rebases_; }
  unsigned clock_rate() const { return rate_; }

 private:
  Clock::duration to_duration(std::int64_t ticks) const;

  unsigned rate_;
  std::chrono::nanoseconds max_lateness_;
  bool anchored_ = false;
  Clock::time_point anchor_time_{};
  std::int64_t anchor_ticks_ = 0;
  std::uint64_t rebases_ = 0;
};

}  // namespace joincast::media
