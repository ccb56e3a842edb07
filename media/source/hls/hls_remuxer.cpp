// hls_remuxer.cpp — see hls_remuxer.hpp.
#include "media/source/hls/hls_remuxer.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <charconv>
#include <iterator>
#include <cstring>
#include <fmt/format.h>

namespace joincast::media {

namespace {

constexpr int kAvioBuffer = 4096;

std::string av_text(int averror) { return av_error(averror).message(); }

std::string dict_value(const AVDictionary* d, const char* key) {
  const AVDictionaryEntry* e = av_dict_get(d, key, nullptr, 0);
  return e && e->value ? std::string(e->value) : std::string();
}

std::int64_t variant_bitrate(const AVDictionary* d) {
  std::string v = dict_value(d, "variant_bitrate");
  std::int64_t rate = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), rate);
  return ec == std::errc() && p == v.data() + v.size() ? rate : 0;
}

// ISO/IEC 13818-7 §6.2: an ADTS frame starts with the 12-bit syncword 0xFFF.
bool starts_with_adts(const AVPacket& p) {
  return p.size >= 7 && p.data[0] == 0xff && (p.data[1] & 0xf0) == 0xf0;
}

}  // namespace

RemuxTarget remux_target(AVCodecID codec) {
  switch (codec) {
    case AV_CODEC_ID_AAC: return {"adts", "audio/aac"};
    case AV_CODEC_ID_MP3: return {"mp3", "audio/mpeg"};
    // MPEG-1/2 layer I and II: the raw MPEG audio muxer, the same bytes.
    case AV_CODEC_ID_MP2:
    case AV_CODEC_ID_MP1: return {"mp2", "audio/mpeg"};
    default: return {"mpegts", "video/mp2t"};
  }
}

int choose_hls_audio_stream(const AVFormatContext& input) {
  int best = -1;
  std::int64_t best_rate = -1;
  for (unsigned i = 0; i < input.nb_streams; ++i) {
    const AVStream* st = input.streams[i];
    if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO || st->codecpar->codec_id == AV_CODEC_ID_NONE) continue;
    std::int64_t rate = variant_bitrate(st->metadata);
    if (rate > best_rate) {
      best = static_cast<int>(i);
      best_rate = rate;
    }
  }
  return best;
}

StreamMetadata hls_stream_metadata(const AVDictionary* metadata) {
  StreamMetadata m;
  std::string title = dict_value(metadata, "title");
  std::string artist = dict_value(metadata, "artist");
  if (!artist.empty() && !title.empty()) m.now_playing = artist + " - " + title;
  else m.now_playing = title.empty() ? artist : title;
  m.genre = dict_value(metadata, "genre");
  m.station_name = dict_value(metadata, "TRSN");  // ID3v2 "Internet radio station name"
  if (std::int64_t rate = variant_bitrate(metadata); rate > 0)
    m.bitrate_kbps = static_cast<unsigned>(std::min<std::int64_t>(rate / 1000, 1'000'000));
  return m;
}

// ---------------------------------------------------------------- timing

TimestampContinuity::TimestampContinuity(AVRational time_base)
    : max_jump_(std::max<std::int64_t>(1, av_rescale_q(1, AVRational{1, 1}, time_base))) {}

void TimestampContinuity::apply(AVPacket& packet) {
  std::int64_t dts = packet.dts != AV_NOPTS_VALUE ? packet.dts : packet.pts;
  // Presentation may lead decoding (B-frames in a video-less stream are
  // rare, but keep the relation when it is there).
  std::int64_t lead = packet.pts != AV_NOPTS_VALUE && packet.dts != AV_NOPTS_VALUE && packet.pts > packet.dts
                          ? packet.pts - packet.dts
                          : 0;
  if (dts == AV_NOPTS_VALUE) {
    dts = next_dts_ == AV_NOPTS_VALUE ? 0 : next_dts_;
  } else {
    dts += offset_;
    // A step back (a discontinuity, overlapping segments, a restarted
    // encoder) or a leap forward (segments lost): continue where the
    // stream should have continued.
    if (last_dts_ != AV_NOPTS_VALUE && (dts <= last_dts_ || dts > next_dts_ + max_jump_)) {
      std::int64_t target = std::max(next_dts_, last_dts_ + 1);
      offset_ += target - dts;
      dts = target;
      ++jumps_;
    }
  }
  if (last_dts_ != AV_NOPTS_VALUE && dts <= last_dts_) dts = last_dts_ + 1;
  std::int64_t step = packet.duration > 0 ? packet.duration
                      : last_dts_ != AV_NOPTS_VALUE ? dts - last_dts_
                                                    : last_duration_;
  if (step <= 0) step = last_duration_;
  last_duration_ = step;
  last_dts_ = dts;
  next_dts_ = dts + step;
  packet.dts = dts;
  packet.pts = dts + lead;
}

// ----------------------------------------------------------------- remux

namespace {

constexpr std::size_t kMaxBacklog = 200;  // packets held back while learning the parameters

// ISO/IEC 14496-3 §1.6.3.4 samplingFrequencyIndex.
constexpr int kAacRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};

bool set_aac(AVCodecParameters& par, unsigned rate_index, unsigned channel_config) {
  if (rate_index >= std::size(kAacRates)) return false;
  par.sample_rate = kAacRates[rate_index];
  // §1.6.3.5 channelConfiguration: 1..6 are that many channels, 7 is 7.1;
  // 0 (a program_config_element decides) is taken as stereo.
  int channels = channel_config == 7 ? 8 : channel_config == 0 ? 2 : static_cast<int>(channel_config);
  av_channel_layout_uninit(&par.ch_layout);
  av_channel_layout_default(&par.ch_layout, channels);
  return true;
}

}  // namespace

HlsRemuxer::HlsRemuxer(AVRational in_time_base, Output output)
    : in_time_base_(in_time_base), output_(std::move(output)) {}

HlsRemuxer::~HlsRemuxer() {
  // The muxer's context goes before the AVIO context it writes to.
  muxer_.reset();
}

int HlsRemuxer::write_bytes(void* opaque, std::uint8_t* buf, int size) {
  auto* self = static_cast<HlsRemuxer*>(opaque);
  if (size > 0)
    self->output_(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), static_cast<std::size_t>(size)));
  return size;
}

std::string HlsRemuxer::codec() const { return avcodec_get_name(par_->codec_id); }

Result<std::unique_ptr<HlsRemuxer>> HlsRemuxer::create(const AVStream& in, Output output) {
  std::unique_ptr<HlsRemuxer> r(new HlsRemuxer(in.time_base, std::move(output)));
  r->par_.reset(avcodec_parameters_alloc());
  if (!r->par_) return errno_error(ENOMEM);
  if (int e = avcodec_parameters_copy(r->par_.get(), in.codecpar); e < 0) {
    return Error(av_error(e), "cannot copy the stream's codec parameters: " + av_text(e));
  }
  return r;
}

// True once the sample rate and channels are known.
bool HlsRemuxer::learn(const AVPacket& packet) {
  AVCodecParameters& par = *par_;
  if (par.sample_rate > 0 && par.ch_layout.nb_channels > 0) return true;
  if (par.codec_id == AV_CODEC_ID_AAC) {
    // ISO/IEC 13818-7 §6.2.1 adts_fixed_header: profile(2) sampling_frequency_index(4)
    // private_bit(1) channel_configuration(3) after the syncword, ID, layer
    // and protection_absent.
    if (starts_with_adts(packet))
      return set_aac(par, (packet.data[2] >> 2) & 0x0fu, (packet.data[2] & 1u) << 2 | packet.data[3] >> 6);
    // ISO/IEC 14496-3 §1.6.2.1 AudioSpecificConfig: audioObjectType(5)
    // samplingFrequencyIndex(4) channelConfiguration(4), no escapes here.
    if (par.extradata_size >= 2 && (par.extradata[0] >> 3) != 31) {
      unsigned index = (par.extradata[0] & 7u) << 1 | par.extradata[1] >> 7;
      return index != 15 && set_aac(par, index, (par.extradata[1] >> 3) & 0x0fu);
    }
    return false;
  }
  // Everything else through libavcodec's parser, which reads frame headers
  // (AAC's it deliberately leaves alone, hence the above).
  if (!parser_) {
    parser_.reset(av_parser_init(par.codec_id));
    if (!parser_) return false;
    parser_context_.reset(avcodec_alloc_context3(nullptr));
    if (!parser_context_ || avcodec_parameters_to_context(parser_context_.get(), &par) < 0) return false;
  }
  AVCodecContext* ctx = parser_context_.get();
  const std::uint8_t* data = packet.data;
  int size = packet.size;
  while (size > 0) {
    std::uint8_t* out = nullptr;
    int out_size = 0;
    int used = av_parser_parse2(parser_.get(), ctx, &out, &out_size, data, size, packet.pts, packet.dts, packet.pos);
    if (used <= 0) break;
    data += used;
    size -= used;
  }
  if (ctx->sample_rate <= 0 || ctx->ch_layout.nb_channels <= 0) return false;
  par.sample_rate = ctx->sample_rate;
  if (av_channel_layout_copy(&par.ch_layout, &ctx->ch_layout) < 0) return false;
  // MPEG-TS says "MPEG audio"; the frame header says which layer.
  if (ctx->codec_id != AV_CODEC_ID_NONE) par.codec_id = ctx->codec_id;
  return true;
}

Result<void> HlsRemuxer::write(AVPacket& packet) {
  if (muxer_) return mux(packet);
  bool known = learn(packet);
  auto held = make_packet();
  if (!held) return errno_error(ENOMEM);
  av_packet_move_ref(held.get(), &packet);
  backlog_.push_back(std::move(held));
  if (!known) {
    if (backlog_.size() < kMaxBacklog) return success();
    return Error(
        av_error(AVERROR_INVALIDDATA),
        fmt::format("the {} stream's sample rate and channels are not in its first {} packets", codec(), kMaxBacklog));
  }
  parser_.reset();
  parser_context_.reset();
  if (auto r = start(*backlog_.front()); !r) return r;
  auto backlog = std::move(backlog_);
  backlog_.clear();
  for (auto& p : backlog)
    if (auto r = mux(*p); !r) return r;
  return success();
}

Result<void> HlsRemuxer::start(const AVPacket& first) {
  AVCodecParameters& par = *par_;
  target_ = remux_target(par.codec_id);
  const char* codec_name = avcodec_get_name(par.codec_id);
  const AVOutputFormat* oformat = av_guess_format(target_.muxer, nullptr, nullptr);
  if (!oformat) {
    return Error(errno_error(ENOTSUP), fmt::format("no {} muxer in this FFmpeg build", target_.muxer));
  }
  if (par.codec_id == AV_CODEC_ID_AAC) {
    if (starts_with_adts(first)) {
      // MPEG-TS and packed-audio segments carry whole ADTS frames: written
      // as they are. An AudioSpecificConfig as well would add a second header.
      av_freep(&par.extradata);
      par.extradata_size = 0;
    } else if (par.extradata_size < 2) {
      return Error(av_error(AVERROR_INVALIDDATA),
                   "AAC frames without ADTS headers and without an AudioSpecificConfig cannot be framed");
    }
    // else: fMP4 segments: raw frames, headers made from the AudioSpecificConfig.
  }
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBuffer));
  if (!buffer) return errno_error(ENOMEM);
  avio_.reset(avio_alloc_context(buffer, kAvioBuffer, 1, this, nullptr, &write_bytes, nullptr));
  if (!avio_) {
    av_free(buffer);
    return errno_error(ENOMEM);
  }
  AVFormatContext* oc = nullptr;
  if (int e = avformat_alloc_output_context2(&oc, oformat, nullptr, nullptr); e < 0) return av_error(e);
  OutputContextPtr muxer(oc);
  oc->pb = avio_.get();
  oc->flags |= AVFMT_FLAG_BITEXACT;  // no encoder tags: the stream's own bytes
  AVStream* os = avformat_new_stream(oc, nullptr);
  if (!os) return errno_error(ENOMEM);
  if (int e = avcodec_parameters_copy(os->codecpar, &par); e < 0) return av_error(e);
  os->codecpar->codec_tag = 0;
  os->time_base = in_time_base_;
  AVDictionary* opts = nullptr;
  if (par.codec_id == AV_CODEC_ID_MP3) {
    av_dict_set(&opts, "id3v2_version", "0", 0);  // a live stream: no tag, no Xing frame
    av_dict_set(&opts, "write_xing", "0", 0);
  }
  int e = avformat_write_header(oc, &opts);
  av_dict_free(&opts);
  if (e < 0) {
    return Error(av_error(e), fmt::format("cannot repackage {} as {}: {}", codec_name, target_.muxer, av_text(e)));
  }
  continuity_.emplace(os->time_base);
  muxer_ = std::move(muxer);
  avio_flush(oc->pb);
  return success();
}

Result<void> HlsRemuxer::mux(AVPacket& packet) {
  AVFormatContext* oc = muxer_.get();
  packet.stream_index = 0;
  packet.pos = -1;
  av_packet_rescale_ts(&packet, in_time_base_, oc->streams[0]->time_base);
  continuity_->apply(packet);
  // av_write_frame() does not take the packet's reference: drop it here.
  int e = av_write_frame(oc, &packet);
  av_packet_unref(&packet);
  if (e < 0) {
    return Error(av_error(e), fmt::format("writing {} failed: {}", target_.muxer, av_text(e)));
  }
  avio_flush(oc->pb);
  return success();
}

Result<void> HlsRemuxer::finish() {
  if (!muxer_) {
    if (backlog_.empty()) return success();
    return Error(av_error(AVERROR_INVALIDDATA),
                 fmt::format("the {} stream ended before its sample rate and channels were known", codec()));
  }
  AVFormatContext* oc = muxer_.get();
  if (int e = av_write_trailer(oc); e < 0) {
    return Error(av_error(e), fmt::format("finishing {} failed: {}", target_.muxer, av_text(e)));
  }
  avio_flush(oc->pb);
  return success();
}

}  // namespace joincast::media
