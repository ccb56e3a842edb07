// rtp_mapping.cpp — codec parameters to RTP payload descriptions.
#include "media/rtp/rtp_mapping.hpp"

extern "C" {
#include <libavcodec/codec_par.h>
#include <libavutil/base64.h>
}

#include <array>
#include <fmt/format.h>

namespace joincast::media {

namespace {

// ISO 14496-3 Table 1.18 samplingFrequencyIndex.
constexpr std::array<unsigned, 13> kAacRates = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                                22050, 16000, 12000, 11025, 8000,  7350};

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> data) : data_(data) {}
  bool read(unsigned bits, unsigned& out) {
    out = 0;
    for (unsigned i = 0; i < bits; ++i) {
      if (pos_ >= data_.size() * 8) return false;
      unsigned bit = (data_[pos_ / 8] >> (7 - pos_ % 8)) & 1u;
      out = (out << 1) | bit;
      ++pos_;
    }
    return true;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::span<const std::uint8_t> extradata(const AVCodecParameters& par) {
  if (!par.extradata || par.extradata_size <= 0) return {};
  return {par.extradata, static_cast<std::size_t>(par.extradata_size)};
}

// RFC 3640 §4.1 profile-level-id: ISO 14496-3 audioProfileLevelIndication.
unsigned aac_profile_level(const AudioSpecificConfig& asc) {
  switch (asc.object_type) {
    case 2: return 0x29;   // AAC Profile, level 2
    case 5: return 0x2c;   // High Efficiency AAC Profile, level 2
    case 29: return 0x30;  // High Efficiency AAC v2 Profile, level 2
    default: return 0xfe;  // no audio profile capability required
  }
}

Result<RtpMapping> describe_aac(const AVCodecParameters& par) {
  auto asc_bytes = extradata(par);
  if (asc_bytes.empty()) return errno_error(EINVAL);  // needs aac_adtstoasc first
  auto asc = parse_audio_specific_config(asc_bytes);
  if (!asc) return asc.error();
  unsigned channels = par.ch_layout.nb_channels > 0 ? static_cast<unsigned>(par.ch_layout.nb_channels)
                                                    : asc.value().channel_config;
  RtpMapping m;
  m.payload_type = kDynamicPayloadType;
  m.media = "audio";
  m.encoding = "mpeg4-generic";
  m.clock_rate = asc.value().sample_rate;
  m.channels = channels ? channels : 2;
  m.codec_name = "aac";
  // RFC 3640 §3.3.6 AAC-hbr: 13-bit AU size, 3-bit index/delta, as
  // libavformat's packetizer writes them.
  m.fmtp = fmt::format("streamtype=5; profile-level-id={}; mode=AAC-hbr; config={}; sizeLength=13; "
                       "indexLength=3; indexDeltaLength=3",
                       aac_profile_level(asc.value()), hex(asc_bytes));
  return m;
}

Result<RtpMapping> describe_opus(const AVCodecParameters& par) {
  auto head = extradata(par);
  unsigned channels = par.ch_layout.nb_channels > 0 ? static_cast<unsigned>(par.ch_layout.nb_channels) : 2;
  unsigned capture_rate = 0;
  // OpusHead (RFC 7845 §5.1): magic, version, channels, pre-skip, input
  // sample rate (LE32 at 12), gain, mapping family (18).
  if (head.size() >= 19 && std::equal(head.begin(), head.begin() + 8, "OpusHead")) {
    channels = head[9];
    capture_rate = static_cast<unsigned>(head[12]) | static_cast<unsigned>(head[13]) << 8 |
                   static_cast<unsigned>(head[14]) << 16 | static_cast<unsigned>(head[15]) << 24;
    if (head[18] != 0) return errno_error(ENOTSUP);  // multistream: RFC 7587 has no mapping for it
  }
  if (channels == 0 || channels > 2) return errno_error(ENOTSUP);
  RtpMapping m;
  m.payload_type = kDynamicPayloadType;
  m.media = "audio";
  m.encoding = "opus";
  // RFC 7587 §7: always opus/48000/2, whatever the stream carries; the
  // stream's own channel count goes into sprop-stereo.
  m.clock_rate = 48000;
  m.channels = 2;
  m.codec_name = "opus";
  m.fmtp = fmt::format("sprop-stereo={}", channels == 2 ? 1 : 0);
  if (capture_rate > 0 && capture_rate <= 48000) m.fmtp += fmt::format("; sprop-maxcapturerate={}", capture_rate);
  return m;
}

Result<RtpMapping> describe_vorbis(const AVCodecParameters& par) {
  auto packed = vorbis_packed_configuration(extradata(par), kXiphIdent);
  if (!packed) return packed.error();
  const auto& bytes = packed.value();
  std::string b64(static_cast<std::size_t>(AV_BASE64_SIZE(bytes.size())), '\0');
  if (!av_base64_encode(b64.data(), static_cast<int>(b64.size()), bytes.data(), static_cast<int>(bytes.size())))
    return errno_error(EOVERFLOW);
  b64.resize(b64.find('\0'));
  RtpMapping m;
  m.payload_type = kDynamicPayloadType;
  m.media = "audio";
  m.encoding = "vorbis";
  m.clock_rate = static_cast<unsigned>(par.sample_rate);
  m.channels = par.ch_layout.nb_channels > 0 ? static_cast<unsigned>(par.ch_layout.nb_channels) : 2;
  m.codec_name = "vorbis";
  m.fmtp = "configuration=" + b64;  // RFC 5215 §6.1
  if (m.clock_rate == 0) return errno_error(EINVAL);
  return m;
}

// Reads one Xiph lacing value (a run of 255s plus a final byte < 255).
bool read_xiph_lace(std::span<const std::uint8_t>& in, std::size_t& out) {
  out = 0;
  while (!in.empty()) {
    std::uint8_t b = in.front();
    in = in.subspan(1);
    out += b;
    if (b != 255) return true;
  }
  return false;
}

void put_base128(std::vector<std::uint8_t>& out, std::size_t v) {
  std::array<std::uint8_t, 10> tmp{};
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<std::uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v);
  while (n-- > 0) out.push_back(static_cast<std::uint8_t>(tmp[n] | (n ? 0x80 : 0)));
}

}  // namespace

Result<AudioSpecificConfig> parse_audio_specific_config(std::span<const std::uint8_t> asc) {
  BitReader br(asc);
  AudioSpecificConfig out;
  unsigned v = 0;
  if (!br.read(5, v)) return errno_error(EINVAL);
  if (v == 31) {
    unsigned ext = 0;
    if (!br.read(6, ext)) return errno_error(EINVAL);
    v = 32 + ext;
  }
  out.object_type = v;
  unsigned index = 0;
  if (!br.read(4, index)) return errno_error(EINVAL);
  if (index == 15) {
    if (!br.read(24, out.sample_rate)) return errno_error(EINVAL);
  } else if (index < kAacRates.size()) {
    out.sample_rate = kAacRates[index];
  } else {
    return errno_error(EINVAL);
  }
  if (!br.read(4, out.channel_config)) return errno_error(EINVAL);
  if (out.sample_rate == 0 || out.object_type == 0) return errno_error(EINVAL);
  // GASpecificConfig (ISO 14496-3 §4.4.1) follows for the AAC object
  // types; its first bit (frameLengthFlag) selects 960-sample frames.
  unsigned flag = 0;
  bool ga = out.object_type <= 7 || (out.object_type >= 17 && out.object_type <= 23);
  if (ga && out.object_type != 5 && br.read(1, flag) && flag) out.frame_length = 960;
  return out;
}

Result<std::vector<std::uint8_t>> vorbis_packed_configuration(std::span<const std::uint8_t> x, std::uint32_t ident) {
  // libavformat stores the three Vorbis headers Xiph-laced: a count byte
  // (2), the laced sizes of the first two, then the three headers.
  std::span<const std::uint8_t> id_header, setup_header;
  if (x.size() >= 3 && x[0] == 2) {
    auto rest = x.subspan(1);
    std::size_t len0 = 0, len1 = 0;
    if (!read_xiph_lace(rest, len0) || !read_xiph_lace(rest, len1)) return errno_error(EINVAL);
    if (len0 + len1 > rest.size()) return errno_error(EINVAL);
    id_header = rest.subspan(0, len0);
    setup_header = rest.subspan(len0 + len1);
  } else if (x.size() >= 6 && x[0] == 0 && x[1] == 30) {
    // The other layout: each header prefixed by a 16-bit big-endian length.
    std::array<std::span<const std::uint8_t>, 3> h;
    auto rest = x;
    for (auto& part : h) {
      if (rest.size() < 2) return errno_error(EINVAL);
      std::size_t len = static_cast<std::size_t>(rest[0]) << 8 | rest[1];
      rest = rest.subspan(2);
      if (len > rest.size()) return errno_error(EINVAL);
      part = rest.subspan(0, len);
      rest = rest.subspan(len);
    }
    id_header = h[0];
    setup_header = h[2];
  } else {
    return errno_error(EINVAL);
  }
  auto is_header = [](std::span<const std::uint8_t> h, std::uint8_t type) {
    return h.size() > 7 && h[0] == type && std::equal(h.begin() + 1, h.begin() + 7, "vorbis");
  };
  if (!is_header(id_header, 1) || !is_header(setup_header, 5)) return errno_error(EINVAL);

  // An empty comment header (Vorbis I §5): type 3, "vorbis", vendor string,
  // zero user comments, framing bit.
  static constexpr std::string_view vendor = "joincast";
  std::vector<std::uint8_t> comment = {3, 'v', 'o', 'r', 'b', 'i', 's', static_cast<std::uint8_t>(vendor.size()), 0, 0, 0};
  comment.insert(comment.end(), vendor.begin(), vendor.end());
  comment.insert(comment.end(), {0, 0, 0, 0, 1});

  std::size_t length = id_header.size() + comment.size() + setup_header.size();
  if (length > 0xffff) return errno_error(EOVERFLOW);  // RFC 5215 §3.2.1: 16-bit length field
  std::vector<std::uint8_t> out;
  out.reserve(length + 16);
  out.insert(out.end(), {0, 0, 0, 1});  // number of packed headers
  out.push_back(static_cast<std::uint8_t>(ident >> 16));
  out.push_back(static_cast<std::uint8_t>(ident >> 8));
  out.push_back(static_cast<std::uint8_t>(ident));
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  put_base128(out, 2);  // number of headers minus one
  put_base128(out, id_header.size());
  put_base128(out, comment.size());
  out.insert(out.end(), id_header.begin(), id_header.end());
  out.insert(out.end(), comment.begin(), comment.end());
  out.insert(out.end(), setup_header.begin(), setup_header.end());
  return out;
}

Result<RtpMapping> describe_codec(const AVCodecParameters& par) {
  switch (par.codec_id) {
    case AV_CODEC_ID_MP1:
    case AV_CODEC_ID_MP2:
    case AV_CODEC_ID_MP3: {
      RtpMapping m;
      m.payload_type = 14;  // RFC 3551 §6 MPA
      m.media = "audio";
      m.encoding = "MPA";
      m.clock_rate = 90000;
      m.codec_name = par.codec_id == AV_CODEC_ID_MP3 ? "mp3" : par.codec_id == AV_CODEC_ID_MP2 ? "mp2" : "mp1";
      return m;
    }
    case AV_CODEC_ID_MPEG2TS: return mpegts_mapping();
    case AV_CODEC_ID_AAC: return describe_aac(par);
    case AV_CODEC_ID_OPUS: return describe_opus(par);
    case AV_CODEC_ID_VORBIS: return describe_vorbis(par);
    default: return errno_error(ENOTSUP);
  }
}

RtpMapping mpegts_mapping() {
  RtpMapping m;
  m.payload_type = 33;  // RFC 3551 §6 MP2T
  m.media = "video";
  m.encoding = "MP2T";
  m.clock_rate = 90000;
  m.codec_name = "mpegts";
  return m;
}

}  // namespace joincast::media
