// tone_encoder.cpp — a live-encoded test signal in a station's container.
#include "media/source/tone_encoder.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
}

#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace joincast::media {

namespace {

struct CodecChoice {
  const char* encoders[2];
  const char* muxer;
  const char* content_type;
  const char* label;
};

const CodecChoice& choice(ToneCodec c) {
  static const CodecChoice mp3{{"libmp3lame", "libshine"}, "mp3", "audio/mpeg", "MP3"};
  static const CodecChoice aac{{"aac", nullptr}, "adts", "audio/aac", "AAC"};
  static const CodecChoice opus{{"libopus", "opus"}, "ogg", "application/ogg", "Opus"};
  static const CodecChoice vorbis{{"libvorbis", "vorbis"}, "ogg", "application/ogg", "Vorbis"};
  static const CodecChoice ts{{"mp2", "mp2fixed"}, "mpegts", "video/mp2t", "MPEG-TS/MP2"};
  switch (c) {
    case ToneCodec::mp3: return mp3;
    case ToneCodec::aac: return aac;
    case ToneCodec::opus: return opus;
    case ToneCodec::vorbis: return vorbis;
    case ToneCodec::mpegts: return ts;
  }
  return mp3;
}

}  // namespace

std::optional<ToneCodec> parse_tone_codec(std::string_view name) {
  if (name == "mp3") return ToneCodec::mp3;
  if (name == "aac") return ToneCodec::aac;
  if (name == "opus") return ToneCodec::opus;
  if (name == "vorbis") return ToneCodec::vorbis;
  if (name == "mpegts" || name == "ts") return ToneCodec::mpegts;
  return std::nullopt;
}

std::string_view tone_codec_name(ToneCodec codec) {
  switch (codec) {
    case ToneCodec::mp3: return "mp3";
    case ToneCodec::aac: return "aac";
    case ToneCodec::opus: return "opus";
    case ToneCodec::vorbis: return "vorbis";
    case ToneCodec::mpegts: return "mpegts";
  }
  return "mp3";
}

int ToneEncoder::write_packet(void* opaque, std::uint8_t* buf, int size) {
  auto* self = static_cast<ToneEncoder*>(opaque);
  if (size > 0) {
    auto* b = reinterpret_cast<const std::byte*>(buf);
    self->produced_.insert(self->produced_.end(), b, b + size);
  }
  return size;
}

Result<std::unique_ptr<ToneEncoder>> ToneEncoder::create(const ToneOptions& options) {
  std::unique_ptr<ToneEncoder> t(new ToneEncoder);
  t->options_ = options;
  const auto& c = choice(options.codec);
  const AVCodec* codec = nullptr;
  for (const char* name : c.encoders)
    if (name && (codec = avcodec_find_encoder_by_name(name))) break;
  if (!codec) {
    return Error(errno_error(ENOTSUP), fmt::format("no {} encoder in this FFmpeg build", c.label));
  }
  t->encoder_.reset(avcodec_alloc_context3(codec));
  if (!t->encoder_) return errno_error(ENOMEM);
  auto* enc = t->encoder_.get();
  unsigned rate = options.sample_rate ? options.sample_rate : options.codec == ToneCodec::opus ? 48000 : 44100;
  enc->sample_rate = static_cast<int>(rate);
  av_channel_layout_default(&enc->ch_layout, static_cast<int>(options.channels == 1 ? 1 : 2));
  enc->bit_rate = options.bitrate;
  enc->time_base = AVRational{1, enc->sample_rate};
  enc->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
  // Prefer a format fill() writes directly.
  if (codec->sample_fmts) {
    for (const auto* f = codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
      if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT || *f == AV_SAMPLE_FMT_S16 || *f == AV_SAMPLE_FMT_S16P) {
        enc->sample_fmt = *f;
        break;
      }
    }
  }
  const AVOutputFormat* oformat = av_guess_format(c.muxer, nullptr, nullptr);
  if (!oformat) {
    return Error(errno_error(ENOTSUP), fmt::format("no {} muxer in this FFmpeg build", c.muxer));
  }
  if (oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (int r = avcodec_open2(enc, codec, nullptr); r < 0) {
    return Error(av_error(r), fmt::format("cannot open the {} encoder: {}", codec->name, av_error(r).message()));
  }

  constexpr int kBuffer = 4096;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBuffer));
  if (!buffer) return errno_error(ENOMEM);
  t->avio_.reset(avio_alloc_context(buffer, kBuffer, 1, t.get(), nullptr, &write_packet, nullptr));
  if (!t->avio_) {
    av_free(buffer);
    return errno_error(ENOMEM);
  }
  AVFormatContext* oc = nullptr;
  if (int r = avformat_alloc_output_context2(&oc, oformat, nullptr, nullptr); r < 0) return av_error(r);
  t->muxer_.reset(oc);
  oc->pb = t->avio_.get();
  oc->flags |= AVFMT_FLAG_BITEXACT;  // no encoder/version tags: the same bytes every run
  AVStream* st = avformat_new_stream(oc, nullptr);
  if (!st) return errno_error(ENOMEM);
  avcodec_parameters_from_context(st->codecpar, enc);
  st->time_base = enc->time_base;
  AVDictionary* opts = nullptr;
  if (options.codec == ToneCodec::mp3) {
    av_dict_set(&opts, "id3v2_version", "0", 0);  // a live stream has no tag and no Xing frame
    av_dict_set(&opts, "write_xing", "0", 0);
  }
  if (options.codec == ToneCodec::opus || options.codec == ToneCodec::vorbis)
    av_dict_set(&opts, "page_duration", "100000", 0);  // 100 ms pages, as streaming servers send
  int r = avformat_write_header(oc, &opts);
  av_dict_free(&opts);
  if (r < 0) {
    return Error(av_error(r), fmt::format("cannot start the {} muxer: {}", c.muxer, av_error(r).message()));
  }
  t->frame_.reset(av_frame_alloc());
  t->packet_ = make_packet();
  if (!t->frame_ || !t->packet_) return errno_error(ENOMEM);
  t->frame_->format = enc->sample_fmt;
  t->frame_->nb_samples = enc->frame_size > 0 ? enc->frame_size : 1024;
  t->frame_->sample_rate = enc->sample_rate;
  av_channel_layout_copy(&t->frame_->ch_layout, &enc->ch_layout);
  if (int e = av_frame_get_buffer(t->frame_.get(), 0); e < 0) return av_error(e);
  return t;
}

ToneEncoder::~ToneEncoder() {
  if (muxer_) av_write_trailer(muxer_.get());
  muxer_.reset();
  avio_.reset();
}

void ToneEncoder::fill(AVFrame* frame) {
  const double rate = encoder_->sample_rate;
  const int channels = encoder_->ch_layout.nb_channels;
  const auto fmt = static_cast<AVSampleFormat>(frame->format);
  for (int i = 0; i < frame->nb_samples; ++i) {
    std::int64_t n = samples_ + i;
    // A pip at twice the frequency for the first 100 ms of every second.
    bool pip = (n % static_cast<std::int64_t>(rate)) < static_cast<std::int64_t>(rate / 10);
    double f = pip ? 2 * options_.frequency_hz : options_.frequency_hz;
    phase_ += 2 * std::numbers::pi * f / rate;
    if (phase_ > 2 * std::numbers::pi) phase_ -= 2 * std::numbers::pi;
    double v = 0.3 * std::sin(phase_);
    auto s16 = static_cast<std::int16_t>(v * 32767);
    auto flt = static_cast<float>(v);
    for (int ch = 0; ch < channels; ++ch) {
      switch (fmt) {
        case AV_SAMPLE_FMT_FLTP: reinterpret_cast<float*>(frame->data[ch])[i] = flt; break;
        case AV_SAMPLE_FMT_FLT: reinterpret_cast<float*>(frame->data[0])[i * channels + ch] = flt; break;
        case AV_SAMPLE_FMT_S16P: reinterpret_cast<std::int16_t*>(frame->data[ch])[i] = s16; break;
        default: reinterpret_cast<std::int16_t*>(frame->data[0])[i * channels + ch] = s16; break;
      }
    }
  }
}

Result<void> ToneEncoder::encode_frame(AVFrame* frame) {
  if (int r = avcodec_send_frame(encoder_.get(), frame); r < 0) return av_error(r);
  AVStream* st = muxer_->streams[0];
  for (;;) {
    int r = avcodec_receive_packet(encoder_.get(), packet_.get());
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0) return av_error(r);
    av_packet_rescale_ts(packet_.get(), encoder_->time_base, st->time_base);
    packet_->stream_index = 0;
    if (int w = av_write_frame(muxer_.get(), packet_.get()); w < 0) return av_error(w);
    av_packet_unref(packet_.get());
  }
  return success();
}

Result<void> ToneEncoder::produce(std::chrono::milliseconds duration, std::vector<std::byte>& out) {
  const std::int64_t target = samples_ + duration.count() * encoder_->sample_rate / 1000;
  while (samples_ < target) {
    if (int r = av_frame_make_writable(frame_.get()); r < 0) return av_error(r);
    fill(frame_.get());
    frame_->pts = samples_;
    samples_ += frame_->nb_samples;
    if (auto r = encode_frame(frame_.get()); !r) return r;
  }
  avio_flush(muxer_->pb);
  // Everything written since the last call, the container header included.
  out.insert(out.end(), produced_.begin(), produced_.end());
  produced_.clear();
  return success();
}

std::string ToneEncoder::content_type() const { return choice(options_.codec).content_type; }

std::string ToneEncoder::describe() const {
  return fmt::format("{:g} Hz tone, {} {} kbit/s", options_.frequency_hz, choice(options_.codec).label,
                     options_.bitrate / 1000);
}

double ToneEncoder::seconds() const { return static_cast<double>(samples_) / encoder_->sample_rate; }

}  // namespace joincast::media
