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
//   LiveEdge            how far behind the newest received data a live
//                       source's frames are sent; which frame to drop to
//                       skip a connect burst and to follow a fast clock
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
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

  // Takes out a packet that is not sent (LiveEdge dropped it): the next
  // packet gets the output timestamp this one would have had, so the
  // output stays continuous (RTP timestamps in step with what is sent).
  void skip(std::optional<std::int64_t> pts, std::int64_t duration);

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

// A live source (an HTTP/ICY stream) is sent from near its newest data.
// Servers such as Icecast send a backlog at connect (burst-on-connect,
// 64 kB by default: 4 s of 128 kb/s MP3), and a source whose clock runs
// faster than ours delivers more than we send. Both would become
// permanent delay; LiveEdge decides, frame by frame, which to drop.
//
// The lag of a frame is what will have been received after it by the time
// it leaves: the input backlog behind it (bytes converted to media time at
// the stream's byte rate, learned from the frames themselves) plus how far
// ahead of now it is queued (at most the pacing lead). So:
//   - before the first frame is sent and for `start` after it, frames are
//     dropped while the lag exceeds `lead`: the burst gives a fast start
//     (the first frame leaves at once, the queue fills at once) but not
//     its delay. `start` because a burst takes a few round trips to
//     arrive: the first frames may leave before the rest is seen. At most
//     `max_skip` of media is dropped so: a burst is a few seconds (64 kB
//     is 4 s of 128 kb/s, 16 s of 32 kb/s); a server that sends a whole
//     file at once is not a burst, and plays;
//   - afterwards, when the smallest lag over the last `window` exceeds
//     lead + slack / 2, one frame is dropped (a fast source: about one a
//     few seconds at 1 %). The smallest over a window, not the last: a
//     server that writes in bursts (Ogg pages) makes the lag jump up
//     between writes without being behind. Never two in a row: at most
//     every other frame, so a new backlog (a reconnect's burst) is cut at
//     twice real time after one window, and a server that floods makes
//     joincast read at most twice as fast as it plays (the rest waits in
//     the socket: TCP pushes back, as for any source).
// A source that runs slow needs nothing here: its frames arrive late, the
// queue drains and the pacing waits for them (PacingClock re-anchors once
// one is later than its max_lateness). Nothing is ever repeated.
// The lag then stays within lead + slack. Pure: the caller passes the
// clock's reading, so tests drive it with a fake clock.
class LiveEdge {
 public:
  using Clock = std::chrono::steady_clock;

  LiveEdge(std::chrono::nanoseconds lead, std::chrono::nanoseconds slack,
           std::chrono::nanoseconds window = std::chrono::seconds(2),
           std::chrono::nanoseconds start = std::chrono::seconds(1),
           std::chrono::nanoseconds max_skip = std::chrono::seconds(20))
      : lead_(lead), slack_(slack), window_(window), start_(start), max_skip_(max_skip) {}

  // A frame of `bytes` input bytes and `duration` media time was demuxed:
  // the byte rate follows. Returns whether to drop it, given the input
  // bytes received after it (backlog_bytes) and how far ahead of now it
  // would be due (ahead, >= 0: what is queued before it).
  bool drop(std::size_t bytes, std::chrono::nanoseconds duration, std::uint64_t backlog_bytes,
            std::chrono::nanoseconds ahead, Clock::time_point now);

  // The lag of the frame last passed to drop() (before dropping it), and
  // whether one was sent yet.
  std::chrono::nanoseconds lag() const { return lag_; }
  bool started() const { return started_; }
  std::uint64_t dropped() const { return dropped_; }
  // Media time of backlog_bytes at the byte rate seen so far (0 before any).
  std::chrono::nanoseconds media_time(std::uint64_t backlog_bytes) const;

 private:
  std::chrono::nanoseconds lead_, slack_, window_, start_, max_skip_;
  std::chrono::nanoseconds skipped_{0};  // dropped by the start rule
  bool dropped_last_ = false;
  Clock::time_point started_at_{};
  std::uint64_t bytes_ = 0;
  std::chrono::nanoseconds media_{0};
  std::chrono::nanoseconds lag_{0};
  bool started_ = false;
  std::uint64_t dropped_ = 0;
  // (when, lag) of recent frames, lags increasing: the front is the
  // smallest lag within the window.
  std::deque<std::pair<Clock::time_point, std::chrono::nanoseconds>> recent_;
};

}  // namespace joincast::media
