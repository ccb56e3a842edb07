// demuxer.cpp — libavformat input with live-start probing.
#include "media/engine/demuxer.hpp"

#include "media/rtp/rtp_mapping.hpp"
#include "media/text.hpp"

extern "C" {
#include <libavcodec/vorbis_parser.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/format.h>

namespace joincast::media {

namespace {

// Small on purpose: libavformat reads in pieces of this size, and a live
// stream should not have to deliver more than a few kB before the first
// packet can leave.
constexpr int kAvioBufferSize = 2048;
// Undeclared input is probed on at most this much (FFmpeg's default is 5 MB).
constexpr int kProbeSize = 32 * 1024;

int read_packet(void* opaque, std::uint8_t* buf, int size) {
  auto* read = static_cast<Demuxer::ReadFn*>(opaque);
  return (*read)(buf, size);
}

std::string lower_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  return ascii_lower(trim_space(content_type.substr(0, semicolon)));
}

std::string averror_text(int err) { return av_error(err).message(); }

}  // namespace

std::string input_format_for(std::string_view content_type) {
  auto t = lower_type(content_type);
  if (t == "audio/mpeg" || t == "audio/mp3" || t == "audio/mpeg3" || t == "audio/x-mpeg" || t == "audio/x-mp3" ||
      t == "audio/mpa")
    return "mp3";
  if (t == "audio/aac" || t == "audio/aacp" || t == "audio/x-aac" || t == "audio/aac-adts" || t == "audio/x-hx-aac-adts")
    return "aac";
  if (t == "application/ogg" || t == "audio/ogg" || t == "audio/x-ogg" || t == "audio/opus" || t == "audio/vorbis" ||
      t == "application/x-ogg")
    return "ogg";
  return {};
}

bool is_mpegts_type(std::string_view content_type) {
  auto t = lower_type(content_type);
  return t == "video/mp2t" || t == "video/mpeg-ts" || t == "video/x-mpegts" || t == "audio/mp2t";
}

bool looks_like_mpegts(std::span<const std::byte> bytes) {
  constexpr std::size_t kPackets = 3;
  constexpr std::byte sync{0x47};
  for (std::size_t start = 0; start < 188 && start + (kPackets - 1) * 188 < bytes.size(); ++start) {
    bool ok = true;
    for (std::size_t k = 0; k < kPackets && ok; ++k) ok = bytes[start + k * 188] == sync;
    if (ok) return true;
  }
  return false;
}

Demuxer::~Demuxer() {
  av_vorbis_parse_free(&vorbis_parser_);
  // The format context refers to the AVIO context: close it first.
  fmt_.reset();
  avio_.reset();
}

Result<std::unique_ptr<Demuxer>> Demuxer::open(ReadFn read, std::string_view content_type) {
  std::unique_ptr<Demuxer> d(new Demuxer);
  d->read_ = std::move(read);
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  if (!buffer) return errno_error(ENOMEM);
  d->avio_.reset(avio_alloc_context(buffer, kAvioBufferSize, 0, &d->read_, &read_packet, nullptr, nullptr));
  if (!d->avio_) {
    av_free(buffer);
    return errno_error(ENOMEM);
  }
  d->avio_->seekable = 0;

  AVFormatContext* fmt = avformat_alloc_context();
  if (!fmt) return errno_error(ENOMEM);
  fmt->pb = d->avio_.get();
  fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  fmt->probesize = kProbeSize;
  fmt->max_analyze_duration = 0;
  // MP3, ADTS and Ogg are AVFMT_GENERIC_INDEX demuxers: they would index
  // every frame for seeking (up to 1 MB per stream by default), which an
  // endless live stream only pays for. No index.
  fmt->max_index_size = 0;

  const AVInputFormat* input = nullptr;
  auto wanted = input_format_for(content_type);
  if (!wanted.empty()) {
    input = av_find_input_format(wanted.c_str());
  } else {
    int r = av_probe_input_buffer2(d->avio_.get(), &input, "", fmt, 0, kProbeSize);
    if (r < 0 || !input) {
      avformat_free_context(fmt);
      return Error(av_error(r < 0 ? r : AVERROR_INVALIDDATA),
                   fmt::format("cannot recognise the stream format in its first {} kB{}", kProbeSize / 1024,
                               content_type.empty() ? "" : fmt::format(" (declared \"{}\")", content_type)));
    }
  }
  // On failure avformat_open_input frees fmt (but not our AVIO context).
  if (int r = avformat_open_input(&fmt, "", input, nullptr); r < 0) {
    return Error(av_error(r),
                 fmt::format("cannot open the stream as {}: {}", input ? input->name : "?", averror_text(r)));
  }
  d->fmt_.reset(fmt);

  // Not av_find_best_stream(): it skips audio whose sample rate is not yet
  // known, which without find_stream_info is every MP3 and ADTS stream.
  int index = -1;
  for (unsigned i = 0; i < fmt->nb_streams && index < 0; ++i)
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) index = static_cast<int>(i);
  if (index < 0) {
    return Error(av_error(AVERROR_STREAM_NOT_FOUND),
                 fmt::format("no audio stream in the {} input", fmt->iformat->name));
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i)
    fmt->streams[i]->discard = static_cast<int>(i) == index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  d->stream_index_ = index;
  AVStream* st = fmt->streams[index];
  d->time_base_ = st->time_base;
  d->par_.reset(avcodec_parameters_alloc());
  if (!d->par_ || avcodec_parameters_copy(d->par_.get(), st->codecpar) < 0) return errno_error(ENOMEM);

  if (d->par_->codec_id == AV_CODEC_ID_AAC && d->par_->extradata_size == 0) {
    // ADTS: turn headers into an AudioSpecificConfig (the first packet
    // carries it as side data) and strip them from every frame.
    const AVBitStreamFilter* filter = av_bsf_get_by_name("aac_adtstoasc");
    AVBSFContext* bsf = nullptr;
    if (!filter || av_bsf_alloc(filter, &bsf) < 0) return errno_error(ENOMEM);
    d->adts_to_asc_.reset(bsf);
    avcodec_parameters_copy(bsf->par_in, st->codecpar);
    bsf->time_base_in = st->time_base;
    if (int r = av_bsf_init(bsf); r < 0) {
      return Error(av_error(r), fmt::format("cannot set up aac_adtstoasc: {}", averror_text(r)));
    }
  }
  d->note_tags();

  bool incomplete = d->par_->codec_id == AV_CODEC_ID_AAC && d->par_->extradata_size == 0;
  if (incomplete) {
    // The first frame completes the parameters; keep it for read().
    d->pending_ = make_packet();
    if (!d->pending_) return errno_error(ENOMEM);
    if (auto r = d->read_raw(d->pending_.get()); !r) {
      return Error(r.error(), "no complete AAC frame at the start of the stream");
    }
    d->parameters_changed_ = false;
    if (d->par_->extradata_size == 0) {
      return Error(errno_error(EBADMSG), "the AAC stream has no ADTS header to take its configuration from");
    }
  }
  return d;
}

std::string Demuxer::format_name() const { return fmt_ && fmt_->iformat ? fmt_->iformat->name : ""; }

bool Demuxer::take_parameters_changed() { return std::exchange(parameters_changed_, false); }

std::optional<std::string> Demuxer::take_title() { return std::exchange(title_, std::nullopt); }

void Demuxer::note_tags() {
  AVStream* st = fmt_->streams[stream_index_];
  auto tag = [&](const char* key) -> std::string {
    if (auto* e = av_dict_get(st->metadata, key, nullptr, 0); e && e->value) return e->value;
    if (auto* e = av_dict_get(fmt_->metadata, key, nullptr, 0); e && e->value) return e->value;
    return {};
  };
  std::string title = tag("title");
  std::string artist = tag("artist");
  std::string text = artist.empty() ? title : title.empty() ? artist : artist + " - " + title;
  if (!text.empty()) title_ = std::move(text);
}

Result<void> Demuxer::read_raw(AVPacket* packet) {
  for (;;) {
    int r = av_read_frame(fmt_.get(), packet);
    if (r < 0) return av_error(r);
    if (packet->stream_index != stream_index_) {
      av_packet_unref(packet);
      continue;
    }
    AVStream* st = fmt_->streams[stream_index_];
    if ((fmt_->event_flags & AVFMT_EVENT_FLAG_METADATA_UPDATED) ||
        (st->event_flags & AVSTREAM_EVENT_FLAG_METADATA_UPDATED)) {
      fmt_->event_flags &= ~AVFMT_EVENT_FLAG_METADATA_UPDATED;
      st->event_flags &= ~AVSTREAM_EVENT_FLAG_METADATA_UPDATED;
      note_tags();
    }
    if (adts_to_asc_) {
      if (int s = av_bsf_send_packet(adts_to_asc_.get(), packet); s < 0) {
        av_packet_unref(packet);
        return av_error(s);
      }
      int g = av_bsf_receive_packet(adts_to_asc_.get(), packet);
      if (g == AVERROR(EAGAIN)) continue;
      if (g < 0) return av_error(g);
    }
    // New global headers: the AudioSpecificConfig from aac_adtstoasc, or
    // the headers of a new link in a chained Ogg stream.
    std::size_t size = 0;
    if (const std::uint8_t* extra = av_packet_get_side_data(packet, AV_PKT_DATA_NEW_EXTRADATA, &size); extra && size) {
      bool differs = static_cast<std::size_t>(par_->extradata_size) != size ||
                     !std::equal(extra, extra + size, par_->extradata);
      if (differs) {
        av_freep(&par_->extradata);
        par_->extradata_size = 0;
        par_->extradata = static_cast<std::uint8_t*>(av_mallocz(size + AV_INPUT_BUFFER_PADDING_SIZE));
        if (!par_->extradata) return errno_error(ENOMEM);
        std::copy(extra, extra + size, par_->extradata);
        par_->extradata_size = static_cast<int>(size);
        parameters_changed_ = true;
        if (par_->codec_id == AV_CODEC_ID_AAC) {
          if (auto asc = parse_audio_specific_config({extra, size})) {
            aac_frame_samples_ = asc.value().frame_length;
            par_->sample_rate = static_cast<int>(asc.value().sample_rate);
            if (asc.value().channel_config > 0 && asc.value().channel_config <= 7) {
              av_channel_layout_uninit(&par_->ch_layout);
              av_channel_layout_default(&par_->ch_layout, static_cast<int>(asc.value().channel_config));
            }
          }
        }
      }
    }
    if (take_inline_header(packet)) {
      av_packet_unref(packet);
      continue;
    }
    if (st->codecpar->codec_id != par_->codec_id && st->codecpar->codec_id != AV_CODEC_ID_NONE) {
      // A chained stream switched codec: take over its parameters.
      avcodec_parameters_copy(par_.get(), st->codecpar);
      time_base_ = st->time_base;
      parameters_changed_ = true;
    }
    // ADTS through a parser without find_stream_info has no durations;
    // every AAC frame is frame_length samples of the ASC rate.
    if (packet->duration <= 0 && par_->codec_id == AV_CODEC_ID_AAC && par_->sample_rate > 0)
      packet->duration = av_rescale_q(aac_frame_samples_, AVRational{1, par_->sample_rate}, time_base_);
    time_as_decoded(packet);
    return success();
  }
}

namespace {

// RFC 6716 §3.1: the samples (at 48 kHz) an Opus packet decodes to, from
// its TOC byte and frame count; 0 if the packet is malformed.
int opus_packet_samples(std::span<const std::uint8_t> p) {
  if (p.empty()) return 0;
  unsigned config = p[0] >> 3;
  int frame;  // samples per frame at 48 kHz
  if (config < 12) frame = std::array{480, 960, 1920, 2880}[config % 4];       // SILK 10/20/40/60 ms
  else if (config < 16) frame = config % 2 ? 960 : 480;                        // hybrid 10/20 ms
  else frame = std::array{120, 240, 480, 960}[config % 4];                     // CELT 2.5/5/10/20 ms
  int frames = 0;
  switch (p[0] & 3) {
    case 0: frames = 1; break;
    case 1:
    case 2: frames = 2; break;
    default: frames = p.size() >= 2 ? (p[1] & 0x3f) : 0; break;
  }
  int samples = frames * frame;
  return samples <= 5760 ? samples : 0;  // 120 ms at most
}

}  // namespace

void Demuxer::time_as_decoded(AVPacket* packet) {
  // For Ogg the container's timestamps describe each chain link on its
  // own: the first packet of a link decodes to nothing and the last is
  // trimmed to the link's end. A receiver's decoder runs straight across
  // links and decodes every packet in full, so RTP time must follow what
  // the decoder produces: durations from the packets themselves, no
  // container timestamps (the timeline sums the durations).
  std::span<const std::uint8_t> data(packet->data, static_cast<std::size_t>(std::max(packet->size, 0)));
  int samples = -1;
  int rate = par_->sample_rate;
  if (par_->codec_id == AV_CODEC_ID_OPUS) {
    samples = opus_packet_samples(data);
    rate = 48000;
  } else if (par_->codec_id == AV_CODEC_ID_VORBIS && par_->extradata_size > 0) {
    if (!vorbis_parser_ || vorbis_parser_extradata_ != std::vector<std::uint8_t>(par_->extradata, par_->extradata + par_->extradata_size)) {
      av_vorbis_parse_free(&vorbis_parser_);
      vorbis_parser_ = av_vorbis_parse_init(par_->extradata, par_->extradata_size);
      vorbis_parser_extradata_.assign(par_->extradata, par_->extradata + par_->extradata_size);
    }
    // Vorbis I §4.3.8: (previous blocksize + this blocksize) / 4 samples.
    if (vorbis_parser_) samples = av_vorbis_parse_frame(vorbis_parser_, data.data(), static_cast<int>(data.size()));
  } else {
    return;
  }
  if (samples < 0 || rate <= 0) return;
  packet->duration = av_rescale_q(samples, AVRational{1, rate}, time_base_);
  packet->pts = packet->dts = AV_NOPTS_VALUE;
}

bool Demuxer::take_inline_header(const AVPacket* packet) {
  // A chained Ogg stream (a new link on a non-seekable input: every track
  // change of some Icecast stations, every turn of a looped file) repeats
  // its codec headers as packets. They are configuration, not audio: sent
  // as audio they break decoders (RFC 7587 has no in-band OpusHead; RFC
  // 5215 configuration belongs in the SDP). If they differ from the
  // current ones the stream is re-described.
  std::span<const std::uint8_t> data(packet->data, static_cast<std::size_t>(std::max(packet->size, 0)));
  auto set_extradata = [&](std::span<const std::uint8_t> bytes) {
    if (static_cast<std::size_t>(par_->extradata_size) == bytes.size() &&
        std::equal(bytes.begin(), bytes.end(), par_->extradata))
      return;
    av_freep(&par_->extradata);
    par_->extradata = static_cast<std::uint8_t*>(av_mallocz(bytes.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    par_->extradata_size = par_->extradata ? static_cast<int>(bytes.size()) : 0;
    if (par_->extradata) std::copy(bytes.begin(), bytes.end(), par_->extradata);
    parameters_changed_ = true;
  };
  if (par_->codec_id == AV_CODEC_ID_OPUS) {
    constexpr std::string_view head = "OpusHead", tags = "OpusTags";
    auto starts = [&](std::string_view magic) {
      return data.size() >= magic.size() && std::equal(magic.begin(), magic.end(), data.begin());
    };
    if (starts(head)) {
      set_extradata(data);
      return true;
    }
    return starts(tags);
  }
  if (par_->codec_id == AV_CODEC_ID_VORBIS) {
    // Vorbis I §4.2.1: header packets have an odd type byte (1, 3, 5) and
    // "vorbis"; audio packets start with a 0 bit.
    if (data.size() < 7 || !(data[0] & 1) || !std::equal(data.begin() + 1, data.begin() + 7, "vorbis")) return false;
    if (data[0] == 1) vorbis_headers_.clear();
    vorbis_headers_.emplace_back(data.begin(), data.end());
    if (data[0] == 5 && vorbis_headers_.size() == 3) {
      // libavformat's layout: count-1, Xiph-laced sizes of the first two.
      std::vector<std::uint8_t> extra{2};
      for (int h = 0; h < 2; ++h) {
        std::size_t n = vorbis_headers_[static_cast<std::size_t>(h)].size();
        for (; n >= 255; n -= 255) extra.push_back(255);
        extra.push_back(static_cast<std::uint8_t>(n));
      }
      for (const auto& h : vorbis_headers_) extra.insert(extra.end(), h.begin(), h.end());
      set_extradata(extra);
      vorbis_headers_.clear();
    }
    return true;
  }
  return false;
}

Result<void> Demuxer::read(AVPacket* packet) {
  if (pending_) {
    av_packet_move_ref(packet, pending_.get());
    pending_.reset();
    return success();
  }
  return read_raw(packet);
}

}  // namespace joincast::media
