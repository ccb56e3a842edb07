// rtp_packetizer.cpp — libavformat's RTP muxer on a packetized output.
#include "media/rtp/rtp_packetizer.hpp"

extern "C" {
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
}

#include <fmt/format.h>

namespace joincast::media {

int RtpPacketizer::write_packet(void* opaque, std::uint8_t* buf, int size) {
  auto* self = static_cast<RtpPacketizer*>(opaque);
  // max_packet_size makes the muxer flush once per datagram, and the
  // buffer is larger than a datagram, so this is exactly one packet.
  if (size > 0) self->sink_(std::span<std::byte>(reinterpret_cast<std::byte*>(buf), static_cast<std::size_t>(size)));
  return size;
}

Result<std::unique_ptr<RtpPacketizer>> RtpPacketizer::open(const AVCodecParameters& par, AVRational input_time_base,
                                                           const RtpMapping& mapping, Options options, Sink sink) {
  std::unique_ptr<RtpPacketizer> p(new RtpPacketizer);
  p->options_ = std::move(options);
  p->sink_ = std::move(sink);
  p->input_time_base_ = input_time_base;
  p->packet_ = make_packet();
  if (!p->packet_) return errno_error(ENOMEM);

  int buffer_size = static_cast<int>(p->options_.packet_size) + 256;
  auto* buffer = static_cast<unsigned char*>(av_malloc(static_cast<std::size_t>(buffer_size)));
  if (!buffer) return errno_error(ENOMEM);
  p->avio_.reset(avio_alloc_context(buffer, buffer_size, 1, p.get(), nullptr, &write_packet, nullptr));
  if (!p->avio_) {
    av_free(buffer);
    return errno_error(ENOMEM);
  }
  p->avio_->max_packet_size = static_cast<int>(p->options_.packet_size);

  AVFormatContext* oc = nullptr;
  if (int r = avformat_alloc_output_context2(&oc, av_guess_format("rtp", nullptr, nullptr), nullptr, nullptr); r < 0) {
    return Error(av_error(r), "libavformat has no RTP muxer");
  }
  p->fmt_.reset(oc);
  oc->pb = p->avio_.get();
  oc->max_delay = static_cast<int>(p->options_.max_delay.count());

  AVStream* st = avformat_new_stream(oc, nullptr);
  if (!st || avcodec_parameters_copy(st->codecpar, &par) < 0) return errno_error(ENOMEM);
  st->codecpar->codec_tag = 0;
  if (par.codec_id == AV_CODEC_ID_MPEG2TS) st->codecpar->codec_type = AVMEDIA_TYPE_DATA;
  // The muxer takes its clock from the sample rate; ADTS input only learns
  // it from the first frame, so the mapping fills the gap.
  if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO && st->codecpar->sample_rate <= 0)
    st->codecpar->sample_rate = static_cast<int>(mapping.clock_rate);
  st->time_base = input_time_base;

  AVDictionary* opts = nullptr;
  av_dict_set_int(&opts, "payload_type", mapping.payload_type, 0);
  // The option is a signed int; the SSRC is any 32-bit pattern.
  av_dict_set_int(&opts, "ssrc", static_cast<std::int32_t>(p->options_.ssrc), 0);
  if (!p->options_.cname.empty()) av_dict_set(&opts, "cname", p->options_.cname.c_str(), 0);
  int r = avformat_write_header(oc, &opts);
  av_dict_free(&opts);
  if (r < 0) {
    return Error(av_error(r), fmt::format("the RTP muxer refused {}: {}", mapping.codec_name, av_error(r).message()));
  }
  p->header_written_ = true;
  return p;
}

RtpPacketizer::~RtpPacketizer() {
  // The trailer frees the muxer's private buffer; without it, it leaks.
  if (header_written_ && !flushed_) {
    sink_ = [](std::span<std::byte>) {};
    av_write_trailer(fmt_.get());
  }
  fmt_.reset();
  avio_.reset();
}

AVRational RtpPacketizer::rtp_time_base() const { return fmt_->streams[0]->time_base; }

Result<void> RtpPacketizer::write(std::span<const std::uint8_t> data, std::int64_t pts) {
  if (flushed_) return errno_error(EPIPE);
  AVPacket* pkt = packet_.get();
  av_packet_unref(pkt);
  // Not reference counted: av_write_frame does not take ownership.
  pkt->data = const_cast<std::uint8_t*>(data.data());
  pkt->size = static_cast<int>(data.size());
  std::int64_t ts = av_rescale_q(pts, input_time_base_, fmt_->streams[0]->time_base);
  if (ts < last_dts_) ts = last_dts_;
  last_dts_ = ts;
  pkt->pts = pkt->dts = ts;
  pkt->stream_index = 0;
  int r = av_write_frame(fmt_.get(), pkt);
  pkt->data = nullptr;
  pkt->size = 0;
  if (r < 0) return av_error(r);
  return success();
}

Result<void> RtpPacketizer::flush() {
  if (!header_written_ || flushed_) return success();
  flushed_ = true;
  int r = av_write_trailer(fmt_.get());
  if (r < 0) return av_error(r);
  return success();
}

}  // namespace joincast::media
