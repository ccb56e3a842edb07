// ts_framer.hpp — MPEG-TS passthrough: cuts a transport stream byte
// stream into runs of whole 188-byte packets for RTP (RFC 2250: PT 33, a
// whole number of TS packets per RTP packet) and times them by the PCR.
//
// Packets are held until the next PCR of the PCR PID arrives, then each
// gets the time interpolated between the two PCRs by its position in the
// byte stream (ISO 13818-1 §2.4.2.2: bytes arrive at a constant rate
// between PCRs). The timeline is 90 kHz ticks from the first PCR; a PCR
// jump (discontinuity, wrap, a different program) continues the timeline at
// the last known rate instead of jumping. Bytes before sync are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

namespace joincast::media {

inline constexpr std::size_t kTsPacketSize = 188;

struct TsChunk {
  std::vector<std::byte> bytes;  // whole TS packets
  std::int64_t pts = 0;          // 90 kHz, of the first packet
};

class TsFramer {
 public:
  // packets_per_chunk: how many TS packets one RTP packet carries (7 fit
  // a 1500-byte MTU).
  explicit TsFramer(std::size_t packets_per_chunk = 7) : per_chunk_(packets_per_chunk) {}

  void push(std::span<const std::byte> bytes);
  // End of input: what is held is timed at the last known rate.
  void finish();
  // The next timed chunk, if any.
  std::optional<TsChunk> pop();

  bool has_pcr() const { return last_pcr_.has_value(); }
  std::uint64_t resyncs() const { return resyncs_; }
  std::uint64_t discontinuities() const { return discontinuities_; }
  std::uint64_t bytes_held() const { return held_.size(); }

 private:
  void take_packet(const std::byte* p);
  void release(std::int64_t end27);
  void emit(std::int64_t pts90, std::span<const std::byte> packet);

  std::size_t per_chunk_;
  std::vector<std::byte> partial_;  // bytes not yet a whole aligned packet
  bool synced_ = false;
  std::optional<std::uint16_t> pcr_pid_;
  std::optional<std::int64_t> last_pcr_;  // 27 MHz, unwrapped
  std::int64_t timeline27_ = 0;           // output time of last_pcr_, 27 MHz
  double ticks27_per_packet_ = 0;         // rate between the last two PCRs
  std::vector<std::byte> held_;  // whole packets since last_pcr_ (from the PCR packet on)
  std::vector<std::byte> chunk_;
  std::int64_t chunk_pts_ = 0;
  std::deque<TsChunk> ready_;
  std::uint64_t resyncs_ = 0;
  std::uint64_t discontinuities_ = 0;
};

// The 27 MHz PCR of a TS packet, if its adaptation field carries one.
std::optional<std::int64_t> ts_packet_pcr(std::span<const std::byte, kTsPacketSize> packet);

}  // namespace joincast::media
