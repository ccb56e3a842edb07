// ts_framer.cpp — TS packet alignment and PCR timing for passthrough.
#include "media/rtp/ts_framer.hpp"

#include <algorithm>

namespace joincast::media {

namespace {
constexpr std::byte kSync{0x47};
constexpr std::int64_t kPcrPeriod = (std::int64_t{1} << 33) * 300;  // 33-bit base at 90 kHz, times 300
constexpr std::int64_t kMaxPcrGap = 27'000'000;                     // 1 s: beyond is a discontinuity
constexpr std::size_t kMaxHeld = 4096;  // ~770 kB without a usable PCR: time what we have
}  // namespace

std::optional<std::int64_t> ts_packet_pcr(std::span<const std::byte, kTsPacketSize> p) {
  auto u = [&](std::size_t i) { return std::to_integer<std::int64_t>(p[i]); };
  unsigned afc = (std::to_integer<unsigned>(p[3]) >> 4) & 3;
  if (afc != 2 && afc != 3) return std::nullopt;  // no adaptation field
  if (u(4) < 7 || !(u(5) & 0x10)) return std::nullopt;  // too short, or PCR_flag clear
  std::int64_t base = u(6) << 25 | u(7) << 17 | u(8) << 9 | u(9) << 1 | u(10) >> 7;
  std::int64_t ext = (u(10) & 1) << 8 | u(11);
  return base * 300 + ext;
}

void TsFramer::push(std::span<const std::byte> bytes) {
  partial_.insert(partial_.end(), bytes.begin(), bytes.end());
  std::size_t pos = 0;
  for (;;) {
    if (!synced_) {
      // Sync = three sync bytes a packet apart (or as many as we have at
      // the end of a finished stream; push() only looks at full triples).
      std::size_t found = partial_.size();
      for (std::size_t i = pos; i + 2 * kTsPacketSize < partial_.size(); ++i) {
        if (partial_[i] == kSync && partial_[i + kTsPacketSize] == kSync && partial_[i + 2 * kTsPacketSize] == kSync) {
          found = i;
          break;
        }
      }
      if (found == partial_.size()) {
        // Keep the tail that may still start a packet.
        pos = partial_.size() > 2 * kTsPacketSize ? partial_.size() - 2 * kTsPacketSize : pos;
        break;
      }
      if (found != pos) ++resyncs_;
      pos = found;
      synced_ = true;
    }
    if (partial_.size() - pos < kTsPacketSize) break;
    if (partial_[pos] != kSync) {
      synced_ = false;
      continue;
    }
    take_packet(partial_.data() + pos);
    pos += kTsPacketSize;
  }
  partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(pos));
}

void TsFramer::take_packet(const std::byte* p) {
  auto hold = [&] { held_.insert(held_.end(), p, p + kTsPacketSize); };
  std::span<const std::byte, kTsPacketSize> view(p, kTsPacketSize);
  auto pid = static_cast<std::uint16_t>((std::to_integer<unsigned>(p[1]) & 0x1f) << 8 | std::to_integer<unsigned>(p[2]));
  auto pcr = ts_packet_pcr(view);
  if (pcr && (!pcr_pid_ || *pcr_pid_ == pid)) {
    pcr_pid_ = pid;
    if (!last_pcr_) {
      // Whatever came before the first PCR goes out at time 0.
      release(0);
      last_pcr_ = *pcr;
      timeline27_ = 0;
      hold();
      return;
    }
    if (held_.empty()) {  // right after a backlog was timed: nothing to interpolate
      last_pcr_ = *pcr;
      hold();
      return;
    }
    std::int64_t delta = *pcr - *last_pcr_;
    if (delta < -kPcrPeriod / 2) delta += kPcrPeriod;  // wrapped
    if (delta > kPcrPeriod / 2) delta -= kPcrPeriod;
    auto n = static_cast<double>(held_.size() / kTsPacketSize);
    if (delta <= 0 || delta > kMaxPcrGap) {
      ++discontinuities_;
      release(timeline27_ + static_cast<std::int64_t>(ticks27_per_packet_ * n));
    } else {
      ticks27_per_packet_ = static_cast<double>(delta) / n;
      release(timeline27_ + delta);
    }
    last_pcr_ = *pcr;
    hold();
    return;
  }
  hold();
  if (held_.size() / kTsPacketSize >= kMaxHeld) {
    // The PCR PID went quiet (or never spoke): time the backlog at the last
    // rate and adopt whichever PID carries a PCR next.
    ++discontinuities_;
    release(timeline27_ + static_cast<std::int64_t>(ticks27_per_packet_ * static_cast<double>(held_.size() / kTsPacketSize)));
    pcr_pid_.reset();
  }
}

void TsFramer::release(std::int64_t end27) {
  std::size_t n = held_.size() / kTsPacketSize;
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t t27 = timeline27_ + (end27 - timeline27_) * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(n);
    emit(t27 / 300, std::span<const std::byte>(held_.data() + i * kTsPacketSize, kTsPacketSize));
  }
  held_.clear();
  timeline27_ = end27;
}

void TsFramer::emit(std::int64_t pts90, std::span<const std::byte> packet) {
  if (chunk_.empty()) chunk_pts_ = pts90;
  chunk_.insert(chunk_.end(), packet.begin(), packet.end());
  if (chunk_.size() >= per_chunk_ * kTsPacketSize) {
    ready_.push_back(TsChunk{std::move(chunk_), chunk_pts_});
    chunk_.clear();
  }
}

void TsFramer::finish() {
  release(timeline27_ + static_cast<std::int64_t>(ticks27_per_packet_ * static_cast<double>(held_.size() / kTsPacketSize)));
  if (!chunk_.empty()) {
    ready_.push_back(TsChunk{std::move(chunk_), chunk_pts_});
    chunk_.clear();
  }
}

std::optional<TsChunk> TsFramer::pop() {
  if (ready_.empty()) return std::nullopt;
  TsChunk c = std::move(ready_.front());
  ready_.pop_front();
  return c;
}

}  // namespace joincast::media
