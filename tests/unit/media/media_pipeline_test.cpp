// media_pipeline_test.cpp — the pipeline without a network: the test
// tone's encoder produces each container, the demuxer opens it from short
// reads, the codec is described for SDP, and libavformat's RTP muxer
// writes packets whose headers, payload types, sequence numbers and
// sender reports are checked here byte by byte.
#include "media/engine/demuxer.hpp"
#include "media/rtp/pacing.hpp"
#include "media/rtcp/rtcp.hpp"
#include "media/rtp/rtp_mapping.hpp"
#include "media/rtp/rtp_packetizer.hpp"
#include "media/source/tone_encoder.hpp"
#include "media/rtp/ts_framer.hpp"

extern "C" {
#include <libavutil/base64.h>
#include <libavutil/log.h>
}

#include <doctest/doctest.h>

#include <cstring>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {

// Encoders say "frames left in the queue" at the end of each test; quiet.
const int quiet_ffmpeg = (av_log_set_level(AV_LOG_ERROR), 0);

struct Captured {
  std::vector<std::vector<std::byte>> rtp;
  std::vector<std::vector<std::byte>> rtcp;
};

unsigned u8(const std::vector<std::byte>& p, std::size_t i) { return std::to_integer<unsigned>(p[i]); }
std::uint32_t be32(const std::vector<std::byte>& p, std::size_t i) {
  return u8(p, i) << 24 | u8(p, i + 1) << 16 | u8(p, i + 2) << 8 | u8(p, i + 3);
}

std::vector<std::byte> encode(ToneCodec codec, std::chrono::milliseconds duration) {
  ToneOptions o;
  o.codec = codec;
  auto enc = ToneEncoder::create(o);
  REQUIRE_MESSAGE(enc, (enc ? std::string() : enc.error().message()));
  std::vector<std::byte> bytes;
  REQUIRE(enc.value()->produce(duration, bytes));
  return bytes;
}

// Runs bytes through demuxer and packetizer; reads are at most 333 bytes
// so every demuxer sees short reads.
RtpMapping run(ToneCodec codec, Captured& out, std::uint32_t ssrc) {
  auto bytes = encode(codec, 2000ms);
  std::size_t pos = 0;
  auto content_type = ToneEncoder::create(ToneOptions{codec}).value()->content_type();
  auto d = Demuxer::open(
      [&](std::uint8_t* buf, int size) -> int {
        if (pos >= bytes.size()) return AVERROR_EOF;
        std::size_t n = std::min<std::size_t>({static_cast<std::size_t>(size), bytes.size() - pos, 333});
        std::memcpy(buf, bytes.data() + pos, n);
        pos += n;
        return static_cast<int>(n);
      },
      content_type);
  REQUIRE_MESSAGE(d, (d ? std::string() : d.error().message()));
  auto& demuxer = *d.value();
  auto mapping = describe_codec(demuxer.codec_parameters());
  REQUIRE(mapping);
  RtpPacketizer::Options options;
  options.ssrc = ssrc;
  options.cname = "test@joincast";
  auto p = RtpPacketizer::open(
      demuxer.codec_parameters(), demuxer.time_base(), mapping.value(), options,
      [&](std::span<std::byte> datagram) {
        std::vector<std::byte> copy(datagram.begin(), datagram.end());
        (is_rtcp(datagram) ? out.rtcp : out.rtp).push_back(std::move(copy));
      });
  REQUIRE_MESSAGE(p, (p ? std::string() : p.error().message()));
  auto packet = make_packet();
  MediaTimeline timeline(av_rescale_q(1, AVRational{1, 1}, demuxer.time_base()));
  for (;;) {
    auto r = demuxer.read(packet.get());
    if (!r) {
      CHECK(r.error() == av_error(AVERROR_EOF));
      break;
    }
    CHECK(packet->size > 0);
    std::optional<std::int64_t> pts;
    if (packet->pts != AV_NOPTS_VALUE) pts = packet->pts;
    auto at = timeline.place(pts, packet->duration);
    REQUIRE(p.value()->write({packet->data, static_cast<std::size_t>(packet->size)}, at));
    av_packet_unref(packet.get());
  }
  REQUIRE(p.value()->flush());
  return mapping.value();
}

void check_rtp(const Captured& c, int payload_type, std::uint32_t ssrc, std::size_t max_size) {
  REQUIRE(c.rtp.size() > 10);
  std::uint16_t seq = static_cast<std::uint16_t>(u8(c.rtp[0], 2) << 8 | u8(c.rtp[0], 3));
  std::uint32_t first_ts = be32(c.rtp[0], 4);
  std::int64_t last = -1;
  for (const auto& p : c.rtp) {
    REQUIRE(p.size() > 12);
    CHECK(p.size() <= max_size);
    CHECK((u8(p, 0) >> 6) == 2);                            // version
    CHECK((u8(p, 1) & 0x7f) == static_cast<unsigned>(payload_type));
    CHECK(be32(p, 8) == ssrc);
    CHECK((u8(p, 2) << 8 | u8(p, 3)) == seq);               // consecutive
    seq = static_cast<std::uint16_t>(seq + 1);
    std::int64_t ts = static_cast<std::uint32_t>(be32(p, 4) - first_ts);
    CHECK(ts >= last);                                      // never backwards
    last = ts;
  }
  // The muxer's sender report carries our SSRC and CNAME.
  REQUIRE(!c.rtcp.empty());
  auto parsed = parse_rtcp(c.rtcp[0]);
  REQUIRE(parsed);
  REQUIRE(parsed.value().reports.size() == 1);
  CHECK(parsed.value().reports[0].ssrc == ssrc);
  CHECK(parsed.value().reports[0].sender.has_value());
  REQUIRE(parsed.value().sdes.size() == 1);
  CHECK(parsed.value().sdes[0].cname == "test@joincast");
}

}  // namespace

TEST_CASE("MP3 goes out as MPA, PT 14, with the RFC 2250 header") {
  Captured c;
  auto m = run(ToneCodec::mp3, c, 0x11223344);
  CHECK(m.payload_type == 14);
  CHECK(m.encoding == "MPA");
  CHECK(m.clock_rate == 90000);
  check_rtp(c, 14, 0x11223344, 1452);
  for (const auto& p : c.rtp) {
    CHECK(be32(p, 12) == 0);          // MBZ + fragment offset 0: whole frames
    CHECK(u8(p, 16) == 0xff);         // an MPEG audio frame sync follows
    CHECK((u8(p, 17) & 0xe0) == 0xe0);
  }
  // Nearly 2 s at 90 kHz (the encoder and the muxer's last aggregate hold
  // back a few frames).
  auto span_ticks = static_cast<std::uint32_t>(be32(c.rtp.back(), 4) - be32(c.rtp.front(), 4));
  CHECK(span_ticks > 150000);
  CHECK(span_ticks < 181000);
}

TEST_CASE("AAC from ADTS becomes mpeg4-generic AAC-hbr with its AudioSpecificConfig") {
  Captured c;
  auto m = run(ToneCodec::aac, c, 0x55667788);
  CHECK(m.payload_type == 96);
  CHECK(m.encoding == "mpeg4-generic");
  CHECK(m.clock_rate == 44100);
  CHECK(m.channels == 2);
  // AAC LC (2), 44.1 kHz (index 4), stereo: 00010 0100 0010 000 = 0x1210
  CHECK(m.fmtp.find("config=1210") != std::string::npos);
  CHECK(m.fmtp.find("mode=AAC-hbr") != std::string::npos);
  CHECK(m.fmtp.find("sizeLength=13; indexLength=3; indexDeltaLength=3") != std::string::npos);
  check_rtp(c, 96, 0x55667788, 1452);
  for (const auto& p : c.rtp) {
    // RFC 3640 §3.2.1: AU-headers-length in bits, 16 per AU header; the
    // first AU's size matches what follows the headers.
    unsigned header_bits = u8(p, 12) << 8 | u8(p, 13);
    CHECK(header_bits % 16 == 0);
    unsigned aus = header_bits / 16;
    REQUIRE(aus >= 1);
    std::size_t total = 0;
    for (unsigned i = 0; i < aus; ++i) total += (u8(p, 14 + 2 * i) << 8 | u8(p, 15 + 2 * i)) >> 3;
    CHECK(14 + 2 * aus + total == p.size());
    CHECK(u8(p, 14 + 2 * aus) != 0xff);  // no ADTS header left in the payload
  }
}

TEST_CASE("Opus from Ogg is opus/48000/2") {
  Captured c;
  auto m = run(ToneCodec::opus, c, 0x01020304);
  CHECK(m.encoding == "opus");
  CHECK(m.clock_rate == 48000);
  CHECK(m.channels == 2);
  CHECK(m.fmtp.find("sprop-stereo=1") != std::string::npos);
  check_rtp(c, 96, 0x01020304, 1452);
  // One 20 ms Opus packet per RTP packet: 960 ticks apart.
  CHECK(be32(c.rtp[2], 4) - be32(c.rtp[1], 4) == 960);
}

TEST_CASE("Vorbis from Ogg carries an RFC 5215 configuration") {
  Captured c;
  auto m = run(ToneCodec::vorbis, c, 0x0a0b0c0d);
  CHECK(m.encoding == "vorbis");
  CHECK(m.clock_rate == 44100);
  REQUIRE(m.fmtp.rfind("configuration=", 0) == 0);
  auto b64 = m.fmtp.substr(14);
  std::vector<std::uint8_t> packed(b64.size());
  int n = av_base64_decode(packed.data(), b64.c_str(), static_cast<int>(packed.size()));
  REQUIRE(n > 20);
  packed.resize(static_cast<std::size_t>(n));
  // §3.2.1: count 1, ident, 16-bit length of what follows the lengths.
  CHECK(packed[0] == 0);
  CHECK(packed[3] == 1);
  std::uint32_t ident = static_cast<std::uint32_t>(packed[4] << 16 | packed[5] << 8 | packed[6]);
  CHECK(ident == kXiphIdent);
  std::size_t length = static_cast<std::size_t>(packed[7] << 8 | packed[8]);
  CHECK(packed[9] == 2);  // headers - 1
  std::size_t pos = 10;
  auto varint = [&] {
    std::size_t v = 0;
    while (packed[pos] & 0x80) v = (v << 7) | (packed[pos++] & 0x7f);
    return (v << 7) | packed[pos++];
  };
  std::size_t id_len = varint();
  std::size_t comment_len = varint();
  CHECK(packed.size() - pos == length);
  CHECK(id_len == 30);                                      // Vorbis I identification header
  CHECK(std::memcmp(packed.data() + pos, "\x01vorbis", 7) == 0);
  CHECK(std::memcmp(packed.data() + pos + id_len, "\x03vorbis", 7) == 0);
  CHECK(std::memcmp(packed.data() + pos + id_len + comment_len, "\x05vorbis", 7) == 0);
  check_rtp(c, 96, 0x0a0b0c0d, 1452);
  for (const auto& p : c.rtp) CHECK(((u8(p, 12) << 16) | (u8(p, 13) << 8) | u8(p, 14)) == kXiphIdent);
}

TEST_CASE("MPEG-TS passes through as MP2T, PT 33, whole TS packets") {
  auto bytes = encode(ToneCodec::mpegts, 2000ms);
  TsFramer framer(7);
  framer.push(bytes);
  framer.finish();
  REQUIRE(framer.has_pcr());
  AVCodecParameters* par = avcodec_parameters_alloc();
  CodecParametersPtr owned(par);
  par->codec_type = AVMEDIA_TYPE_DATA;
  par->codec_id = AV_CODEC_ID_MPEG2TS;
  auto m = describe_codec(*par);
  REQUIRE(m);
  CHECK(m.value().payload_type == 33);
  CHECK(m.value().media == "video");
  Captured c;
  RtpPacketizer::Options o;
  o.ssrc = 0x33333333;
  o.cname = "test@joincast";
  auto p = RtpPacketizer::open(*par, AVRational{1, 90000}, m.value(), o,
                               [&](std::span<std::byte> d) {
                                 (is_rtcp(d) ? c.rtcp : c.rtp).emplace_back(d.begin(), d.end());
                               });
  REQUIRE_MESSAGE(p, (p ? std::string() : p.error().message()));
  std::size_t ts_bytes = 0;
  while (auto chunk = framer.pop()) {
    ts_bytes += chunk->bytes.size();
    REQUIRE(p.value()->write({reinterpret_cast<const std::uint8_t*>(chunk->bytes.data()), chunk->bytes.size()}, chunk->pts));
  }
  REQUIRE(p.value()->flush());
  CHECK(ts_bytes == bytes.size() / 188 * 188);
  check_rtp(c, 33, 0x33333333, 12 + 7 * 188);
  for (const auto& pkt : c.rtp) {
    CHECK((pkt.size() - 12) % 188 == 0);
    CHECK(u8(pkt, 12) == 0x47);
  }
}

TEST_CASE("codecs RTP cannot carry are refused clearly") {
  AVCodecParameters* par = avcodec_parameters_alloc();
  CodecParametersPtr owned(par);
  par->codec_type = AVMEDIA_TYPE_AUDIO;
  par->codec_id = AV_CODEC_ID_FLAC;
  CHECK(describe_codec(*par).error() == std::errc::not_supported);
  par->codec_id = AV_CODEC_ID_AAC;  // without an AudioSpecificConfig
  CHECK_FALSE(describe_codec(*par));
}

TEST_CASE("AudioSpecificConfig parsing") {
  std::uint8_t lc[] = {0x12, 0x10};
  auto a = parse_audio_specific_config(lc);
  REQUIRE(a);
  CHECK(a.value().object_type == 2);
  CHECK(a.value().sample_rate == 44100);
  CHECK(a.value().channel_config == 2);
  CHECK(a.value().frame_length == 1024);
  std::uint8_t short960[] = {0x11, 0x94};  // LC, 48 kHz, stereo, frameLengthFlag
  CHECK(parse_audio_specific_config(short960).value().frame_length == 960);
  std::uint8_t bad[] = {0x12};
  CHECK_FALSE(parse_audio_specific_config(bad));
}

TEST_CASE("content types choose the input format") {
  CHECK(input_format_for("audio/mpeg") == "mp3");
  CHECK(input_format_for("Audio/AACP; charset=x") == "aac");
  CHECK(input_format_for("application/ogg") == "ogg");
  CHECK(input_format_for("text/html").empty());
  CHECK(is_mpegts_type("video/MP2T"));
  std::vector<std::byte> ts(188 * 3, std::byte{0});
  for (int i = 0; i < 3; ++i) ts[static_cast<std::size_t>(i) * 188] = std::byte{0x47};
  CHECK(looks_like_mpegts(ts));
  ts[188] = std::byte{0};
  CHECK_FALSE(looks_like_mpegts(ts));
}
