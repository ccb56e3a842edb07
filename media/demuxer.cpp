// demuxer.cpp — libavformat input with live-start probing.
#include "media/demuxer.hpp"

#include "media/rtp_mapping.hpp"

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
}

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace joincast::media {

namespace {

// Small on purpose: libavformat reads in pieces of this size, and a live
// stream should not have to deliver more than a few kB before the first
// packet can leave.
constexpr int kAvioBufferSize = 4096;
// Undeclared input is probed on at most this much (FFmpeg's default is 5 MB).
constexpr int kProbeSize = 32 * 1024;

int read_packet(void* opaque, std::uint8_t* buf, int size) {
  auto* read = static_cast<Demuxer::ReadFn*>(opaque);
  return (*read)(buf, size);
}

std::string lower_type(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  auto t = content_type.substr(0, semicolon);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  std::string out(t);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
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
  // The format context refers to the AVIO context: close it first.
  fmt_.reset();
  avio_.reset();
}

Result<std::unique_ptr<Demuxer>> Demuxer::open(ReadFn read, std::string_view content_type, std::string& why) {
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

  const AVInputFormat* input = nullptr;
  auto wanted = input_format_for(content_type);
  if (!wanted.empty()) {
    input = av_find_input_format(wanted.c_str());
  } else {
    int r = av_probe_input_buffer2(d->avio_.get(), &input, "", fmt, 0, kProbeSize);
    if (r < 0 || !input) {
      avformat_free_context(fmt);
      why = fmt::format("cannot recognise the stream format in its first {} kB{}", kProbeSize / 1024,
                        content_type.empty() ? "" : fmt::format(" (declared \"{}\")", content_type));
      return av_error(r < 0 ? r : AVERROR_INVALIDDATA);
    }
  }
  // On failure avformat_open_input frees fmt (but not our AVIO context).
  if (int r = avformat_open_input(&fmt, "", input, nullptr); r < 0) {
    why = fmt::format("cannot open the stream as {}: {}", input ? input->name : "?", averror_text(r));
    return av_error(r);
  }
  d->fmt_.reset(fmt);

  // Not av_find_best_stream(): it skips audio whose sample rate is not yet
  // known, which without find_stream_info is every MP3 and ADTS stream.
  int index = -1;
  for (unsigned i = 0; i < fmt->nb_streams && index < 0; ++i)
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) index = static_cast<int>(i);
  if (index < 0) {
    why = fmt::format("no audio stream in the {} input", fmt->iformat->name);
    return av_error(AVERROR_STREAM_NOT_FOUND);
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
      why = fmt::format("cannot set up aac_adtstoasc: {}", averror_text(r));
      return av_error(r);
    }
  }
  d->note_tags();

  bool incomplete = d->par_->codec_id == AV_CODEC_ID_AAC && d->par_->extradata_size == 0;
  if (incomplete) {
    // The first frame completes the parameters; keep it for read().
    d->pending_ = make_packet();
    if (!d->pending_) return errno_error(ENOMEM);
    if (auto r = d->read_raw(d->pending_.get()); !r) {
      why = "no complete AAC frame at the start of the stream";
      return r.error();
    }
    d->parameters_changed_ = false;
    if (d->par_->extradata_size == 0) {
      why = "the AAC stream has no ADTS header to take its configuration from";
      return errno_error(EBADMSG);
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
    return success();
  }
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
