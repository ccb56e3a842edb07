// rtp_packetizer.hpp — libavformat's RTP muxer writing through a
// packetized custom AVIOContext: every RTP packet and every RTCP compound
// the muxer produces reaches the sink as one call with one datagram. The
// muxer does the payload formats (RFC 2250 MPA and MP2T, RFC 3640 AAC,
// RFC 7587 Opus, RFC 5215 Vorbis) and writes RTCP sender reports into the
// same output; the sink tells them apart with is_rtcp().
#pragma once

#include "media/error.hpp"
#include "media/ffmpeg_ptr.hpp"
#include "media/rtp/rtp_mapping.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace joincast::media {

class RtpPacketizer {
 public:
  // One datagram; the span is valid during the call only and may be
  // modified (the session stamps sender reports in place).
  using Sink = std::function<void(std::span<std::byte> datagram)>;

  struct Options {
    std::uint32_t ssrc = 0;        // RFC 3550 §8: random, chosen by the caller
    std::string cname;             // SDES CNAME in the muxer's sender reports
    unsigned packet_size = 1452;   // whole RTP packet; 1500 MTU - IPv6 - UDP
    std::chrono::microseconds max_delay{100000};  // how long frames may wait to share a packet
  };

  static Result<std::unique_ptr<RtpPacketizer>> open(const AVCodecParameters& par, AVRational input_time_base,
                                                     const RtpMapping& mapping, Options options, Sink sink);
  ~RtpPacketizer();
  RtpPacketizer(const RtpPacketizer&) = delete;
  RtpPacketizer& operator=(const RtpPacketizer&) = delete;

  // Writes one packet's payload at pts (input time base units); the sink
  // is called for every datagram this completes (frames may be held back
  // to share a packet with the next ones).
  Result<void> write(std::span<const std::uint8_t> data, std::int64_t pts);
  // Sends what is held back (av_write_trailer). No BYE: the session sends
  // its own when it stops.
  Result<void> flush();

  std::uint32_t ssrc() const { return options_.ssrc; }
  AVRational rtp_time_base() const;

 private:
  RtpPacketizer() = default;
  static int write_packet(void* opaque, std::uint8_t* buf, int size);

  Options options_;
  Sink sink_;
  AvioPtr avio_;
  OutputContextPtr fmt_;
  PacketPtr packet_;
  AVRational input_time_base_{1, 1};
  bool header_written_ = false;
  bool flushed_ = false;
  std::int64_t last_dts_ = INT64_MIN;
};

}  // namespace joincast::media
