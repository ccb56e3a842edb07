// rtp_mapping.hpp — how one codec travels in RTP: payload type, the
// rtpmap encoding name and clock rate, and the fmtp parameters, derived from
// libavformat's codec parameters. The SDP writer prints it; the RTP
// packetizer follows it (payload type, clock).
#pragma once

#include "media/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

struct AVCodecParameters;

namespace joincast::media {

struct RtpMapping {
  int payload_type = 0;      // RFC 3551 static (14 MPA, 33 MP2T) or 96
  std::string media;         // SDP m= media: "audio" or "video"
  std::string encoding;      // rtpmap encoding name: "MPA", "mpeg4-generic", ...
  unsigned clock_rate = 0;   // rtpmap clock rate (RTP timestamp units per second)
  unsigned channels = 0;     // rtpmap encoding parameters; 0 = omitted
  std::string fmtp;          // a=fmtp: parameters after "<pt> "; empty = no line
  std::string codec_name;    // for people: "mp3", "aac", "opus", "vorbis", "mpegts"
  bool operator==(const RtpMapping&) const = default;
};

// MPEG-TS as RFC 2250 carries it: PT 33, MP2T/90000 (what dvblast sends).
RtpMapping mpegts_mapping();

// The payload type joincast uses for codecs without a static one.
inline constexpr int kDynamicPayloadType = 96;

// Describes codec parameters as RTP. Supported: MP1/MP2/MP3 (PT 14, RFC
// 2250), AAC with an AudioSpecificConfig in extradata (mpeg4-generic,
// RFC 3640 AAC-hbr), Opus with at most two channels (RFC 7587), Vorbis with
// Xiph-laced headers in extradata (RFC 5215), MPEG-TS (PT 33, RFC 2250).
// Anything else is errc::not_supported.
Result<RtpMapping> describe_codec(const AVCodecParameters& par);

// The parts of an MPEG-4 AudioSpecificConfig (ISO 14496-3 §1.6.2.1) that
// the SDP needs.
struct AudioSpecificConfig {
  unsigned object_type = 0;   // 2 = AAC LC, 5 = SBR, 29 = PS
  unsigned sample_rate = 0;
  unsigned channel_config = 0;
  unsigned frame_length = 1024;  // samples per frame: 960 if GASpecificConfig's frameLengthFlag is set
};
Result<AudioSpecificConfig> parse_audio_specific_config(std::span<const std::uint8_t> asc);

// RFC 5215 §3.2.1 packed configuration for Vorbis from libavformat's
// Xiph-laced extradata (identification, comment, setup headers). The
// comment header is replaced by an empty one: it may carry megabytes of
// cover art and no decoder needs it. ident is the 24-bit configuration
// ident the RTP packets carry.
Result<std::vector<std::uint8_t>> vorbis_packed_configuration(std::span<const std::uint8_t> xiph_extradata,
                                                               std::uint32_t ident);

// libavformat's RTP muxer stamps every Vorbis packet with this ident
// (RTP_XIPH_IDENT in libavformat/rtp.h); the SDP must announce the same.
inline constexpr std::uint32_t kXiphIdent = 0xfecdba;

}  // namespace joincast::media
