// pacing.cpp — timeline normalisation, RTP timestamp unwrapping, pacing.
#include "media/rtp/pacing.hpp"

#include <algorithm>

namespace joincast::media {

std::int64_t MediaTimeline::place(std::optional<std::int64_t> pts, std::int64_t duration) {
  std::int64_t out = next_;
  if (pts) {
    if (!started_) offset_ = -*pts;  // the first packet defines time 0
    std::int64_t candidate = *pts + offset_;
    // Forward, gaps up to the tolerance are real (a lost frame); backward,
    // anything beyond a twentieth of it is a restart, not jitter.
    if (started_ && (candidate > next_ + tolerance_ || candidate < next_ - tolerance_ / 20)) {
      // A jump (new chain link, restarted encoder, corrupt stream): keep
      // the output continuous and follow the new timestamps from here.
      ++discontinuities_;
      offset_ = next_ - *pts;
      candidate = next_;
    }
    out = candidate;
  }
  started_ = true;
  out = std::max(out, last_);
  last_ = out;
  next_ = out + std::max<std::int64_t>(duration, 0);
  return out;
}

void MediaTimeline::skip(std::optional<std::int64_t> pts, std::int64_t duration) {
  // Before the first placed packet there is nothing to keep continuous:
  // that one defines time 0 whatever came before it.
  if (!started_ || !pts) return;
  // The packet after this one (at pts + duration) lands on next_.
  offset_ = next_ - (*pts + std::max<std::int64_t>(duration, 0));
}

std::chrono::nanoseconds LiveEdge::media_time(std::uint64_t backlog_bytes) const {
  if (bytes_ == 0) return std::chrono::nanoseconds(0);
  // backlog * media / bytes, in long double: 2^64 ns overflows a product.
  long double ns = static_cast<long double>(backlog_bytes) * static_cast<long double>(media_.count()) /
                   static_cast<long double>(bytes_);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

bool LiveEdge::drop(std::size_t bytes, std::chrono::nanoseconds duration, std::uint64_t backlog_bytes,
                    std::chrono::nanoseconds ahead, Clock::time_point now) {
  // Without a duration a frame cannot be measured (nor its drop counted
  // in time): it is always sent.
  if (duration <= std::chrono::nanoseconds(0) || bytes == 0) return false;
  bytes_ += bytes;
  media_ += duration;
  lag_ = media_time(backlog_bytes) + std::max(ahead, std::chrono::nanoseconds(0));
  while (!recent_.empty() && recent_.back().second >= lag_) recent_.pop_back();
  recent_.emplace_back(now, lag_);
  while (recent_.front().first + window_ < now) recent_.pop_front();
  bool out;
  if (!started_ || now - started_at_ < start_) {
    out = lag_ > lead_ && skipped_ + duration <= max_skip_;
    if (out) skipped_ += duration;
  } else {
    out = recent_.front().second > lead_ + slack_ / 2 && !dropped_last_;
  }
  dropped_last_ = out;
  if (out) {
    ++dropped_;
  } else if (!started_) {
    started_ = true;
    started_at_ = now;
  }
  return out;
}

std::int64_t RtpTimestampUnwrap::operator()(std::uint32_t timestamp) {
  if (!started_) {
    started_ = true;
    first_ = last_ = timestamp;
    last_ticks_ = 0;
    return 0;
  }
  // The signed 32-bit difference is the shorter way round the circle.
  auto step = static_cast<std::int32_t>(timestamp - last_);
  last_ = timestamp;
  last_ticks_ += step;
  return last_ticks_;
}

PacingClock::Clock::duration PacingClock::to_duration(std::int64_t ticks) const {
  // ticks / rate seconds, exact to the nanosecond without overflow for
  // any realistic stream length (2^63 ns is 292 years).
  std::int64_t whole = ticks / rate_;
  std::int64_t rest = ticks % rate_;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(whole) +
                                                     std::chrono::nanoseconds(rest * 1000000000 / rate_));
}

PacingClock::Clock::time_point PacingClock::due(std::int64_t ticks, Clock::time_point now) {
  if (!anchored_) {
    anchored_ = true;
    anchor_time_ = now;
    anchor_ticks_ = ticks;
    return now;
  }
  auto when = anchor_time_ + to_duration(ticks - anchor_ticks_);
  if (when + max_lateness_ < now) {
    ++rebases_;
    anchor_time_ = now;
    anchor_ticks_ = ticks;
    return now;
  }
  return when;
}

std::int64_t PacingClock::ticks_at(Clock::time_point t) const {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - anchor_time_).count();
  // ns * rate / 1e9 without overflow: split into seconds and remainder.
  std::int64_t secs = ns / 1000000000;
  std::int64_t rest = ns % 1000000000;
  return anchor_ticks_ + secs * rate_ + rest * rate_ / 1000000000;
}

}  // namespace joincast::media
