// media_hls_test.cpp — HLS playback without a network: how a stream from
// libavformat's HLS demuxer is chosen, remuxed (the test tone's encoder
// makes the elementary streams; the bytes must come out as they went in)
// and given continuous timestamps; and that HlsSource's libavformat may
// open nothing but network URLs, segments included, and stops promptly.
// Real HLS over HTTP is tests/netns/media/test_hls.py.
#include "media/source/hls/hls_remuxer.hpp"
#include "media/source/hls/hls_source.hpp"
#include "media/source/tone_encoder.hpp"

extern "C" {
#include <libavutil/base64.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
}

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {

const int quiet_ffmpeg = (av_log_set_level(AV_LOG_ERROR), 0);

std::vector<std::byte> encode(ToneCodec codec, std::chrono::milliseconds duration) {
  ToneOptions o;
  o.codec = codec;
  auto enc = ToneEncoder::create(o);
  REQUIRE_MESSAGE(enc, (enc ? std::string() : enc.error().message()));
  std::vector<std::byte> bytes;
  REQUIRE(enc.value()->produce(duration, bytes));
  return bytes;
}

// Bytes opened with libavformat, as the HLS demuxer's segment demuxers see them.
struct Opened {
  std::vector<std::byte> bytes;
  std::size_t pos = 0;
  AvioPtr avio;
  InputContextPtr input;

  static int read(void* opaque, std::uint8_t* buf, int size) {
    auto* self = static_cast<Opened*>(opaque);
    if (self->pos >= self->bytes.size()) return AVERROR_EOF;
    std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(size), self->bytes.size() - self->pos);
    std::memcpy(buf, self->bytes.data() + self->pos, n);
    self->pos += n;
    return static_cast<int>(n);
  }

  Opened(std::vector<std::byte> b, const char* format) : bytes(std::move(b)) {
    auto* buffer = static_cast<unsigned char*>(av_malloc(4096));
    avio.reset(avio_alloc_context(buffer, 4096, 0, this, &read, nullptr, nullptr));
    AVFormatContext* fmt = avformat_alloc_context();
    fmt->pb = avio.get();
    REQUIRE(avformat_open_input(&fmt, "", av_find_input_format(format), nullptr) == 0);
    input.reset(fmt);
    REQUIRE(avformat_find_stream_info(fmt, nullptr) >= 0);
  }
  ~Opened() { input.reset(); }
};

// Remuxes the audio stream of in. forget: drop the sample rate and
// channels from the stream's parameters first, as the HLS demuxer leaves
// them for MPEG-TS and packed-audio segments.
std::vector<std::byte> remux_all(Opened& in, bool forget = false, std::string* codec = nullptr) {
  std::vector<std::byte> out;
  auto packet = make_packet();
  int audio = choose_hls_audio_stream(*in.input);
  REQUIRE(audio >= 0);
  AVStream* st = in.input->streams[audio];
  if (forget) {
    st->codecpar->sample_rate = 0;
    av_channel_layout_uninit(&st->codecpar->ch_layout);
  }
  auto r = HlsRemuxer::create(*st, [&](std::span<const std::byte> b) { out.insert(out.end(), b.begin(), b.end()); });
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message()));
  auto& remuxer = *r.value();
  while (av_read_frame(in.input.get(), packet.get()) >= 0) {
    if (packet->stream_index != audio) {
      av_packet_unref(packet.get());
      continue;
    }
    auto w = remuxer.write(*packet);
    REQUIRE_MESSAGE(w, (w ? std::string() : w.error().message()));
  }
  auto f = remuxer.finish();
  REQUIRE_MESSAGE(f, (f ? std::string() : f.error().message()));
  CHECK(remuxer.started());
  if (codec) *codec = remuxer.codec();
  return out;
}

AVPacket at(std::int64_t dts, std::int64_t duration) {
  AVPacket p{};
  p.pts = p.dts = dts;
  p.duration = duration;
  return p;
}

struct RecordingSink final : ByteSink {
  std::size_t bytes = 0;
  int ends = 0;
  std::error_code why;
  Flow on_data(std::span<const std::byte> b) override {
    bytes += b.size();
    return Flow::more;
  }
  void on_metadata(const StreamMetadata&) override {}
  void on_end(std::error_code e) override {
    ++ends;
    why = e;
  }
};

std::string data_url(const std::string& mime, const std::string& text) {
  std::vector<char> b64(AV_BASE64_SIZE(text.size()));
  av_base64_encode(b64.data(), static_cast<int>(b64.size()), reinterpret_cast<const std::uint8_t*>(text.data()),
                   static_cast<int>(text.size()));
  return "data:" + mime + ";base64," + b64.data();
}

}  // namespace

TEST_CASE("HLS codecs are delivered as ADTS, MPEG audio or MPEG-TS") {
  CHECK(std::string(remux_target(AV_CODEC_ID_AAC).muxer) == "adts");
  CHECK(std::string(remux_target(AV_CODEC_ID_AAC).content_type) == "audio/aac");
  CHECK(std::string(remux_target(AV_CODEC_ID_MP3).muxer) == "mp3");
  CHECK(std::string(remux_target(AV_CODEC_ID_MP3).content_type) == "audio/mpeg");
  CHECK(std::string(remux_target(AV_CODEC_ID_MP2).muxer) == "mp2");
  CHECK(std::string(remux_target(AV_CODEC_ID_MP2).content_type) == "audio/mpeg");
  for (AVCodecID other : {AV_CODEC_ID_AC3, AV_CODEC_ID_EAC3, AV_CODEC_ID_OPUS, AV_CODEC_ID_AAC_LATM}) {
    CHECK(std::string(remux_target(other).muxer) == "mpegts");
    CHECK(std::string(remux_target(other).content_type) == "video/mp2t");
  }
}

TEST_CASE("the audio of the variant with the highest BANDWIDTH is chosen") {
  AVFormatContext* raw = avformat_alloc_context();
  InputContextPtr ic(raw);
  auto add = [&](AVMediaType type, AVCodecID codec, const char* rate) {
    AVStream* st = avformat_new_stream(raw, nullptr);
    st->codecpar->codec_type = type;
    st->codecpar->codec_id = codec;
    if (rate) av_dict_set(&st->metadata, "variant_bitrate", rate, 0);
  };
  add(AVMEDIA_TYPE_VIDEO, AV_CODEC_ID_H264, "2000000");
  add(AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC, "64000");
  add(AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_NONE, "900000");  // not yet known: not playable
  add(AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_AAC, "128000");
  add(AVMEDIA_TYPE_AUDIO, AV_CODEC_ID_MP3, "128000");   // equal: the first wins
  CHECK(choose_hls_audio_stream(*ic) == 3);

  AVFormatContext* video_only = avformat_alloc_context();
  InputContextPtr v(video_only);
  AVStream* st = avformat_new_stream(video_only, nullptr);
  st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
  st->codecpar->codec_id = AV_CODEC_ID_H264;
  CHECK(choose_hls_audio_stream(*v) == -1);
}

TEST_CASE("HLS stream metadata: ID3 title and artist, station, BANDWIDTH") {
  AVDictionary* d = nullptr;
  av_dict_set(&d, "title", "Song", 0);
  av_dict_set(&d, "artist", "Band", 0);
  av_dict_set(&d, "TRSN", "Radio HLS", 0);
  av_dict_set(&d, "genre", "Jazz", 0);
  av_dict_set(&d, "variant_bitrate", "96000", 0);
  StreamMetadata m = hls_stream_metadata(d);
  CHECK(m.now_playing == "Band - Song");
  CHECK(m.station_name == "Radio HLS");
  CHECK(m.genre == "Jazz");
  REQUIRE(m.bitrate_kbps);
  CHECK(*m.bitrate_kbps == 96);
  av_dict_free(&d);

  av_dict_set(&d, "title", "Only a title", 0);
  av_dict_set(&d, "variant_bitrate", "0", 0);  // a media playlist without a master says 0
  m = hls_stream_metadata(d);
  CHECK(m.now_playing == "Only a title");
  CHECK_FALSE(m.bitrate_kbps);
  av_dict_free(&d);
  CHECK(hls_stream_metadata(nullptr) == StreamMetadata{});
}

TEST_CASE("timestamps continue across discontinuities and lost segments") {
  TimestampContinuity c(AVRational{1, 90000});
  std::vector<std::int64_t> out;
  auto feed = [&](std::int64_t dts, std::int64_t duration) {
    AVPacket p = at(dts, duration);
    c.apply(p);
    CHECK(p.pts == p.dts);
    out.push_back(p.dts);
  };
  feed(1000, 1920);
  feed(2920, 1920);
  feed(4840, 1920);
  CHECK(out == std::vector<std::int64_t>{1000, 2920, 4840});
  CHECK(c.jumps() == 0);

  // Small irregularities (segment boundaries) stay as they are.
  feed(6800, 1920);
  CHECK(out.back() == 6800);
  CHECK(c.jumps() == 0);

  // A discontinuity: the encoder restarted at 0. The stream goes on.
  feed(0, 1920);
  CHECK(out.back() == 6800 + 1920);
  feed(1920, 1920);
  CHECK(out.back() == 6800 + 2 * 1920);
  CHECK(c.jumps() == 1);

  // Segments lost: a leap of 10 s is closed up as well.
  feed(1920 + 10 * 90000, 1920);
  CHECK(out.back() == 6800 + 3 * 1920);
  CHECK(c.jumps() == 2);

  // No time at all: where the stream should be.
  AVPacket p = at(AV_NOPTS_VALUE, 1920);
  c.apply(p);
  CHECK(p.dts == 6800 + 4 * 1920);

  // A repeated timestamp is moved on: the muxer needs strictly increasing ones.
  feed(1920 + 10 * 90000 + 2 * 1920, 0);
  std::int64_t before = out.back();
  feed(1920 + 10 * 90000 + 2 * 1920, 0);
  CHECK(out.back() > before);
}

TEST_CASE("AAC from HLS segments comes out as the same ADTS bytes") {
  auto adts = encode(ToneCodec::aac, 2000ms);
  Opened in(adts, "aac");
  auto out = remux_all(in);
  CHECK(out.size() == adts.size());
  CHECK(out == adts);
}

TEST_CASE("AAC without ADTS headers (fMP4 segments) gets them from its AudioSpecificConfig") {
  auto adts = encode(ToneCodec::aac, 2000ms);
  Opened in(adts, "aac");
  // What the mov demuxer of fMP4 segments gives: raw frames and an
  // AudioSpecificConfig. Strip the 7-byte headers (no CRC in the tone) and
  // make the config with the standard bitstream filter.
  const AVBitStreamFilter* f = av_bsf_get_by_name("aac_adtstoasc");
  REQUIRE(f);
  AVBSFContext* bsf_raw = nullptr;
  REQUIRE(av_bsf_alloc(f, &bsf_raw) == 0);
  BsfPtr bsf(bsf_raw);
  int audio = choose_hls_audio_stream(*in.input);
  AVStream* st = in.input->streams[audio];
  avcodec_parameters_copy(bsf->par_in, st->codecpar);
  bsf->time_base_in = st->time_base;
  REQUIRE(av_bsf_init(bsf.get()) == 0);
  std::vector<PacketPtr> raw;
  auto packet = make_packet();
  while (av_read_frame(in.input.get(), packet.get()) >= 0) {
    REQUIRE(av_bsf_send_packet(bsf.get(), packet.get()) == 0);
    auto filtered = make_packet();
    while (av_bsf_receive_packet(bsf.get(), filtered.get()) == 0) {
      raw.push_back(std::move(filtered));
      filtered = make_packet();
    }
  }
  REQUIRE(!raw.empty());
  // The filter hands the AudioSpecificConfig over with its first packet.
  std::size_t asc_size = 0;
  const std::uint8_t* asc = av_packet_get_side_data(raw.front().get(), AV_PKT_DATA_NEW_EXTRADATA, &asc_size);
  REQUIRE(asc);
  REQUIRE(asc_size >= 2);
  AVFormatContext* holder_raw = avformat_alloc_context();
  InputContextPtr holder(holder_raw);
  AVStream* fmp4 = avformat_new_stream(holder_raw, nullptr);
  avcodec_parameters_copy(fmp4->codecpar, bsf->par_out);
  fmp4->codecpar->extradata = static_cast<std::uint8_t*>(av_mallocz(asc_size + AV_INPUT_BUFFER_PADDING_SIZE));
  std::memcpy(fmp4->codecpar->extradata, asc, asc_size);
  fmp4->codecpar->extradata_size = static_cast<int>(asc_size);
  av_packet_free_side_data(raw.front().get());
  fmp4->time_base = st->time_base;

  std::vector<std::byte> out;
  fmp4->codecpar->sample_rate = 0;  // learnt from the AudioSpecificConfig
  auto r = HlsRemuxer::create(*fmp4, [&](std::span<const std::byte> b) { out.insert(out.end(), b.begin(), b.end()); });
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error().message()));
  for (auto& p : raw) {
    auto w = r.value()->write(*p);
    REQUIRE_MESSAGE(w, (w ? std::string() : w.error().message()));
  }
  // Every frame has its ADTS header back, with the tone's parameters
  // (the buffer fullness field aside, the bytes are the encoder's own).
  REQUIRE(out.size() == adts.size());
  for (std::size_t i = 0; i + 7 <= out.size();) {
    REQUIRE(std::to_integer<unsigned>(out[i]) == 0xff);
    REQUIRE((std::to_integer<unsigned>(out[i + 1]) & 0xf0) == 0xf0);
    CHECK(std::memcmp(out.data() + i, adts.data() + i, 3) == 0);  // profile, rate, channels
    std::size_t len = (std::to_integer<std::size_t>(out[i + 3]) & 3) << 11 |
                      std::to_integer<std::size_t>(out[i + 4]) << 3 | std::to_integer<std::size_t>(out[i + 5]) >> 5;
    REQUIRE(len >= 7);
    CHECK(std::memcmp(out.data() + i + 7, adts.data() + i + 7, len - 7) == 0);
    i += len;
  }
}

TEST_CASE("a sample rate the container did not give is learnt from the first frames") {
  // What the HLS demuxer hands over for MPEG-TS and packed-audio segments:
  // no sample rate, no channels (nobody ran avformat_find_stream_info).
  auto adts = encode(ToneCodec::aac, 1000ms);
  Opened aac(adts, "aac");
  CHECK(remux_all(aac, true) == adts);

  auto mp3 = encode(ToneCodec::mp3, 1000ms);
  Opened m(mp3, "mp3");
  CHECK(remux_all(m, true) == mp3);

  // MPEG-TS says "MPEG audio"; the frame headers say layer II.
  auto ts = encode(ToneCodec::mpegts, 1000ms);
  Opened t(ts, "mpegts");
  t.input->streams[0]->codecpar->codec_id = AV_CODEC_ID_MP3;
  std::string codec;
  auto out = remux_all(t, true, &codec);
  CHECK(codec == "mp2");
  CHECK(out.size() > 1000);
}

TEST_CASE("MP3 from HLS segments comes out as the same MPEG audio frames") {
  auto mp3 = encode(ToneCodec::mp3, 2000ms);
  Opened in(mp3, "mp3");
  auto out = remux_all(in);
  CHECK(out == mp3);
}

TEST_CASE("MP2 inside MPEG-TS segments comes out as plain MPEG audio") {
  auto ts = encode(ToneCodec::mpegts, 2000ms);
  Opened in(ts, "mpegts");
  auto out = remux_all(in);
  REQUIRE(out.size() > 1000);
  // MPEG audio frame header (ISO/IEC 11172-3 §2.4.1.3): sync, layer II.
  CHECK(std::to_integer<unsigned>(out[0]) == 0xff);
  CHECK((std::to_integer<unsigned>(out[1]) & 0xe6) == 0xe4);
  Opened back(out, "mp3");
  CHECK(back.input->streams[0]->codecpar->codec_id == AV_CODEC_ID_MP2);
}

TEST_CASE("other codecs (Opus) are delivered as MPEG-TS with a PCR to pace by") {
  auto ogg = encode(ToneCodec::opus, 2000ms);
  Opened in(ogg, "ogg");
  auto out = remux_all(in);
  REQUIRE(out.size() >= 188 * 4);
  CHECK(out.size() % 188 == 0);
  for (std::size_t i = 0; i < out.size(); i += 188) REQUIRE(std::to_integer<unsigned>(out[i]) == 0x47);
  bool pcr = false;
  for (std::size_t i = 0; i < out.size() && !pcr; i += 188) {
    unsigned afc = (std::to_integer<unsigned>(out[i + 3]) >> 4) & 3;
    pcr = (afc & 2) && std::to_integer<unsigned>(out[i + 4]) > 0 && (std::to_integer<unsigned>(out[i + 5]) & 0x10);
  }
  CHECK(pcr);
  Opened back(out, "mpegts");
  REQUIRE(back.input->nb_streams == 1);
  CHECK(back.input->streams[0]->codecpar->codec_id == AV_CODEC_ID_OPUS);
}

TEST_CASE("HLS limits follow the HTTP client's") {
  HttpOptions http;
  http.user_agent = "test/1";
  http.response_timeout = 3s;
  http.stall_timeout = 4s;
  http.verify_tls = false;
  http.ca_file = "/etc/x.pem";
  HlsOptions h = hls_options(http);
  CHECK(h.user_agent == "test/1");
  CHECK(h.io_timeout == 3s);
  CHECK(h.stall_timeout == 10s);  // at least 10 s: a segment at a time
  CHECK_FALSE(h.verify_tls);
  CHECK(h.ca_file == "/etc/x.pem");
  http.stall_timeout = 15s;
  CHECK(hls_options(http).stall_timeout == 30s);
}

TEST_CASE("HLS may open only network URLs: a playlist's file: segment is refused") {
  // A real, readable AAC file behind a file: URL, listed by a playlist that
  // libavformat reads from a data: URL (allowed: no network needed).
  auto dir = std::filesystem::temp_directory_path() / ("jc-hls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto segment = dir / "seg0.aac";
  {
    auto adts = encode(ToneCodec::aac, 1000ms);
    std::ofstream(segment, std::ios::binary).write(reinterpret_cast<const char*>(adts.data()),
                                                    static_cast<std::streamsize>(adts.size()));
  }
  std::string playlist = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://" +
                         segment.string() + "\n#EXT-X-ENDLIST\n";
  boost::asio::io_context io;
  // The source's thread posts later: keep run_for() waiting for it.
  auto work = boost::asio::prefer(io.get_executor(), boost::asio::execution::outstanding_work.tracked);
  HlsOptions o;
  o.stall_timeout = 60s;
  std::string url = data_url("application/vnd.apple.mpegurl", playlist);
  HlsSource source(io.get_executor(), url, o);
  RecordingSink sink;
  source.start(sink);
  for (int i = 0; i < 600 && sink.ends == 0; ++i) io.run_for(100ms);
  REQUIRE(sink.ends == 1);
  CHECK(sink.bytes == 0);
  CHECK(sink.why);
  std::string reason = source.failure_reason();
  CHECK(reason.rfind(url + ": ", 0) == 0);
  CHECK_MESSAGE(reason.find("file://" + segment.string() + ": ") != std::string::npos, reason);

  // A playlist behind file: is refused at once.
  HlsSource direct(io.get_executor(), "file://" + segment.string(), o);
  RecordingSink sink2;
  direct.start(sink2);
  for (int i = 0; i < 600 && sink2.ends == 0; ++i) io.run_for(100ms);
  REQUIRE(sink2.ends == 1);
  CHECK(sink2.bytes == 0);
  CHECK(direct.failure_reason().rfind("file://" + segment.string() + ": ", 0) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("stopping an HLS source ends its thread, and the sink hears nothing more") {
  // A live playlist (no EXT-X-ENDLIST) whose only segment never opens:
  // libavformat waits a whole segment (60 s) before it reloads the
  // playlist, inside avformat_open_input; only the interrupt ends that
  // wait early, so a thread that ends within 30 s was interrupted.
  std::string playlist =
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:60\n#EXTINF:60.0,\nfile:///nonexistent/seg0.aac\n";
  boost::asio::io_context io;
  auto work = boost::asio::prefer(io.get_executor(), boost::asio::execution::outstanding_work.tracked);
  HlsOptions o;
  o.stall_timeout = 600s;
  HlsSource source(io.get_executor(), data_url("application/vnd.apple.mpegurl", playlist), o);
  RecordingSink sink;
  source.start(sink);
  io.run_for(300ms);
  CHECK(source.thread_running());
  source.stop();
  // No timing claim: only that it ends (bounded, so a bug cannot hang the suite).
  for (int i = 0; i < 3000 && source.thread_running(); ++i) std::this_thread::sleep_for(10ms);
  CHECK_FALSE(source.thread_running());
  io.restart();
  io.run_for(200ms);
  CHECK(sink.ends == 0);
  CHECK(sink.bytes == 0);
}
