// session_pipeline.cpp — a session's input and pipeline: source bytes are
// buffered with flow control, demuxed (or framed, for MPEG-TS) on the
// session's fiber and packetized into RTP queued for paced sending.
#include "media/engine/session.hpp"

#include "media/rtcp/rtcp.hpp"
#include "media/engine/worker.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace joincast::media {

namespace {

// Input buffering: a source is paused above the high-water mark and
// resumed below the low one. MPEG-TS runs at several Mbit/s and gets more.
constexpr std::size_t kHighWater = 4 * 1024;
constexpr std::size_t kHighWaterTs = 128 * 1024;
// A live source is read as it arrives, so that its backlog (a connect
// burst, a clock faster than ours) is in input_ where LiveEdge sees it and
// drops it, rather than in the socket's buffer as hidden delay. Dropping
// keeps input_ near lead + slack of audio; this only caps a pathological
// server (a 1 MB burst-size).
constexpr std::size_t kHighWaterLive = 1024 * 1024;

std::uint32_t rtp_timestamp(std::span<const std::byte> p) {
  auto u = [&](std::size_t i) { return std::to_integer<std::uint32_t>(p[i]); };
  return u(4) << 24 | u(5) << 16 | u(6) << 8 | u(7);
}

}  // namespace

// ---------------------------------------------------------------- input

Flow Session::on_data(std::span<const std::byte> bytes) {
  if (state_ != SessionState::starting && state_ != SessionState::running) return Flow::pause;
  if (input_head_ > 0 && input_head_ * 2 >= input_.size()) {
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(input_head_));
    input_head_ = 0;
  }
  input_.insert(input_.end(), bytes.begin(), bytes.end());
  input_total_ += bytes.size();
  {
    std::lock_guard lock(mutex_);
    stats_.bytes_in += bytes.size();
  }
  if (waiting_ == Waiting::input && !pump_posted_) {
    pump_posted_ = true;
    boost::asio::post(worker_.executor(), [self = shared_from_this()] {
      self->pump_posted_ = false;
      self->pump();
    });
  }
  std::size_t high = high_water();
  if (input_.size() - input_head_ >= high) {
    source_paused_ = true;
    return Flow::pause;
  }
  return Flow::more;
}

void Session::on_metadata(const StreamMetadata& metadata) {
  source_metadata_ = metadata;
  sdp_inputs_changed();
  worker_.reschedule(*this);
}

void Session::on_end(std::error_code why) {
  source_ended_ = true;
  source_error_ = why;
  // Posted, like every pump: finishing may stop the source, which must not
  // happen inside its own callback.
  if (waiting_ == Waiting::input && !pump_posted_) {
    pump_posted_ = true;
    boost::asio::post(worker_.executor(), [self = shared_from_this()] {
      self->pump_posted_ = false;
      self->pump();
    });
  }
}

void Session::pump() {
  if (waiting_ == Waiting::input && (input_.size() > input_head_ || source_ended_ || cancel_)) resume_fiber();
  worker_.reschedule(*this);
  worker_.flush();
}

int Session::read_input(std::uint8_t* buf, int size) {
  while (input_.size() == input_head_) {
    if (cancel_) return AVERROR_EXIT;
    if (source_ended_) return AVERROR_EOF;
    waiting_ = Waiting::input;
    Fiber::yield();
    waiting_ = Waiting::nothing;
  }
  std::size_t n = std::min(static_cast<std::size_t>(size), input_.size() - input_head_);
  std::memcpy(buf, input_.data() + input_head_, n);
  input_head_ += n;
  if (input_head_ == input_.size()) {
    input_.clear();
    input_head_ = 0;
  }
  // Below half the high-water mark: let the source continue (not from
  // here, on the fiber: the source may deliver synchronously).
  std::size_t high = high_water();
  if (source_paused_ && input_.size() - input_head_ < high / 2) {
    source_paused_ = false;
    boost::asio::post(worker_.executor(), [self = shared_from_this()] {
      if (self->state_ == SessionState::starting || self->state_ == SessionState::running) self->source_->resume();
    });
  }
  return static_cast<int>(n);
}

std::size_t Session::high_water() const {
  if (is_mpegts_type(content_type_)) return kHighWaterTs;
  return source_ && source_->live() ? kHighWaterLive : kHighWater;
}

bool Session::drop_for_live_edge(const AVPacket& packet, AVRational time_base, std::int64_t position) {
  if (!source_->live()) return false;
  if (!live_edge_) live_edge_.emplace(setup_.lead, setup_.live_slack);
  auto duration = std::chrono::nanoseconds(av_rescale_q(packet.duration, time_base, AVRational{1, 1000000000}));
  // The bytes received after this frame: from its position in the byte
  // stream where the demuxer knows it (the demuxer and its parser hold
  // some input of their own), else what input_ still holds.
  std::uint64_t backlog = input_.size() - input_head_;
  if (packet.pos >= 0) {
    auto end = static_cast<std::uint64_t>(packet.pos) + static_cast<std::uint64_t>(packet.size);
    if (end <= input_total_) backlog = input_total_ - end;
  }
  auto now = Clock::now();
  // When this frame would leave: the last RTP packet queued plus the media
  // time between it and this frame (which, with the ones before it, may
  // still sit in the packetizer, aggregated into the next packet).
  Clock::duration ahead(0);
  if (last_rtp_due_ && first_written_ && mapping_ && mapping_->clock_rate) {
    auto at = std::chrono::nanoseconds(av_rescale_q(position - *first_written_, time_base, AVRational{1, 1000000000}));
    auto last = std::chrono::nanoseconds(last_rtp_ticks_ * 1000000000 / mapping_->clock_rate);
    ahead = std::max(Clock::duration(0), *last_rtp_due_ + (at - last) - now);
  }
  bool drop = live_edge_->drop(static_cast<std::size_t>(packet.size), duration, backlog,
                               std::chrono::duration_cast<std::chrono::nanoseconds>(ahead), now);
  std::lock_guard lock(mutex_);
  stats_.frames_dropped = live_edge_->dropped();
  stats_.live_lag_ms = std::chrono::duration<double, std::milli>(live_edge_->lag()).count();
  return drop;
}

bool Session::wait_for_input(std::size_t at_least) {
  while (input_.size() - input_head_ < at_least && !source_ended_ && !cancel_) {
    waiting_ = Waiting::input;
    Fiber::yield();
    waiting_ = Waiting::nothing;
  }
  return input_.size() > input_head_;
}

void Session::wait_for_room() {
  // Stay at most `lead` ahead of the clock: enough to ride out a slow
  // wakeup, little enough to keep memory small and stops prompt.
  while (!cancel_ && !queue_.empty() && queue_.back()->due > Clock::now() + setup_.lead) {
    waiting_ = Waiting::room;
    Fiber::yield();
    waiting_ = Waiting::nothing;
  }
}

// ------------------------------------------------------------- pipeline

void Session::pipeline() {
  if (!wait_for_input(1)) {
    if (cancel_) return;
    if (source_error_)
      pipeline_failed(source_error_, "the source failed before sending any data: " + source_failure_text());
    else
      pipeline_failed(errno_error(ENODATA), "the source ended without sending any data");
    return;
  }
  content_type_ = setup_.config.content_type.empty() ? source_->content_type() : setup_.config.content_type;
  bool ts = is_mpegts_type(content_type_);
  if (!ts && input_format_for(content_type_).empty()) {
    // Undeclared: MPEG-TS is recognised here (it is passed through, not
    // demuxed); everything else is left to libavformat's probe.
    wait_for_input(4 * kTsPacketSize);
    ts = looks_like_mpegts(std::span<const std::byte>(input_).subspan(input_head_));
    if (ts) content_type_ = "video/mp2t";
  }
  if (ts)
    ts_pipeline();
  else
    demux_pipeline(content_type_);
}

void Session::demux_pipeline(const std::string& content_type) {
  auto opened = Demuxer::open([this](std::uint8_t* buf, int size) { return read_input(buf, size); }, content_type);
  if (!opened) {
    if (cancel_) return;
    pipeline_failed(opened.error());
    return;
  }
  demuxer_ = std::move(opened.value());
  opened_ = true;
  if (auto title = demuxer_->take_title()) {
    container_title_ = std::move(title);
    sdp_inputs_changed();
  }
  if (!open_packetizer(demuxer_->codec_parameters(), demuxer_->time_base())) return;

  // A timestamp more than a second off the running total is a jump.
  AVRational tb = demuxer_->time_base();
  MediaTimeline timeline(av_rescale_q(1, AVRational{1, 1}, tb));
  auto packet = make_packet();
  if (!packet) {
    pipeline_failed(errno_error(ENOMEM), "out of memory");
    return;
  }
  int stalled = 0;
  for (;;) {
    auto r = demuxer_->read(packet.get());
    if (!r) {
      if (cancel_) return;
      if (r.error() == av_error(AVERROR_EOF)) break;
      pipeline_failed(r.error(), fmt::format("demuxing {} failed: {}", demuxer_->format_name(), r.error().message()));
      return;
    }
    if (demuxer_->take_parameters_changed()) {
      auto m = describe_codec(demuxer_->codec_parameters());
      if (!m || !mapping_ || !(m.value() == *mapping_)) {
        // A new link of a chained stream with other codec parameters: a new
        // RTP stream and a new SDP (the old one is deleted).
        (void)packetizer_->flush();
        packetizer_.reset();
        if (!open_packetizer(demuxer_->codec_parameters(), demuxer_->time_base())) return;
        tb = demuxer_->time_base();
      }
    }
    if (auto title = demuxer_->take_title()) {
      container_title_ = std::move(title);
      sdp_inputs_changed();
    }
    std::optional<std::int64_t> pts;
    if (packet->pts != AV_NOPTS_VALUE) pts = packet->pts;
    else if (packet->dts != AV_NOPTS_VALUE) pts = packet->dts;
    if (drop_for_live_edge(*packet, tb, timeline.next())) {
      // Not sent: the next frame takes its RTP timestamp, so timestamps
      // and sequence numbers run on without a gap (docs/media.md).
      timeline.skip(pts, packet->duration);
      av_packet_unref(packet.get());
      continue;
    }
    std::int64_t before = timeline.next();
    std::int64_t at = timeline.place(pts, packet->duration);
    // Packets that never move the clock would all leave at once: garbage
    // that happens to contain frame syncs looks like this.
    stalled = timeline.next() == before ? stalled + 1 : 0;
    if (stalled > 100) {
      av_packet_unref(packet.get());
      pipeline_failed(errno_error(EBADMSG), fmt::format("the {} stream's packets carry no time: not playable audio",
                                                        demuxer_->format_name()));
      return;
    }
    if (!first_written_) first_written_ = at;
    auto w = packetizer_->write({packet->data, static_cast<std::size_t>(packet->size)}, at);
    av_packet_unref(packet.get());
    if (!w) {
      pipeline_failed(w.error(), "RTP packetizing failed: " + w.error().message());
      return;
    }
    {
      std::lock_guard lock(mutex_);
      stats_.discontinuities = timeline.discontinuities();
    }
    wait_for_room();
    if (cancel_) return;
  }
  (void)packetizer_->flush();
}

void Session::ts_pipeline() {
  AVCodecParameters* par = avcodec_parameters_alloc();
  if (!par) {
    pipeline_failed(errno_error(ENOMEM), "out of memory");
    return;
  }
  CodecParametersPtr owned(par);
  par->codec_type = AVMEDIA_TYPE_DATA;
  par->codec_id = AV_CODEC_ID_MPEG2TS;
  if (!open_packetizer(*par, AVRational{1, 90000})) return;
  opened_ = true;
  TsFramer framer(std::max<std::size_t>(1, (setup_.packet_size - 12) / kTsPacketSize));
  std::vector<std::uint8_t> buffer(16 * 1024);
  std::uint64_t total = 0;
  bool more = true;
  while (more) {
    int n = read_input(buffer.data(), static_cast<int>(buffer.size()));
    if (n == AVERROR_EXIT || cancel_) return;
    if (n < 0) {
      framer.finish();
      more = false;
    } else {
      total += static_cast<std::uint64_t>(n);
      framer.push(std::as_bytes(std::span(buffer.data(), static_cast<std::size_t>(n))));
      // ISO 13818-1 §2.4.2.2: a PCR at least every 100 ms. A stream with
      // none in its first 4 MB cannot be paced.
      if (!framer.has_pcr() && total > 4 * 1024 * 1024) {
        pipeline_failed(errno_error(EBADMSG), "MPEG-TS without a PCR in its first 4 MB cannot be paced");
        return;
      }
    }
    while (auto chunk = framer.pop()) {
      auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(chunk->bytes.data()), chunk->bytes.size());
      if (auto w = packetizer_->write(bytes, chunk->pts); !w) {
        pipeline_failed(w.error(), "RTP packetizing failed: " + w.error().message());
        return;
      }
      wait_for_room();
      if (cancel_) return;
    }
    std::lock_guard lock(mutex_);
    stats_.discontinuities = framer.discontinuities();
  }
  (void)packetizer_->flush();
}

bool Session::open_packetizer(const AVCodecParameters& par, AVRational time_base) {
  auto m = describe_codec(par);
  if (!m) {
    const char* name = avcodec_get_name(par.codec_id);
    pipeline_failed(m.error(), m.error() == std::errc::not_supported
                                   ? fmt::format("{} cannot be sent over RTP by joincast", name)
                                   : fmt::format("the {} stream lacks the parameters RTP needs", name));
    return false;
  }
  // RFC 3550 §8.1 wants a random SSRC; ours is derived from the stream
  // (group, port, sending address) so that it survives a restart
  // (stream_continuity.hpp). A codec change is a new RTP stream with an
  // SSRC of its own.
  ssrc_ = stream_ssrc(setup_.config.group, setup_.config.rtp_port, setup_.source_address) ^
          (rtp_streams_++ * 0x9e3779b9u);
  if (ssrc_ == 0) ssrc_ = 1;
  ts_offset_.reset();
  RtpPacketizer::Options options;
  options.ssrc = ssrc_;
  options.cname = setup_.config.cname;
  options.packet_size = setup_.packet_size;
  auto p = RtpPacketizer::open(par, time_base, m.value(), options, [this](std::span<std::byte> d) { on_muxed(d); });
  if (!p) {
    pipeline_failed(p.error());
    return false;
  }
  if (packetizer_ || pacing_) {
    // The new stream starts where the old one's queue ends.
    anchor_hint_ = queue_.empty() ? Clock::now() : queue_.back()->due;
  }
  packetizer_ = std::move(p.value());
  mapping_ = m.value();
  pacing_.reset();
  first_written_.reset();
  last_rtp_due_.reset();
  unwrap_ = RtpTimestampUnwrap{};
  {
    std::lock_guard lock(mutex_);
    stats_.codec = mapping_->codec_name;
    stats_.payload_type = mapping_->payload_type;
    stats_.clock_rate = mapping_->clock_rate;
    stats_.ssrc = ssrc_;
    receivers_.set_sender(ssrc_, mapping_->clock_rate);
  }
  sdp_inputs_changed();
  return true;
}

void Session::on_muxed(std::span<std::byte> datagram) {
  auto p = worker_.sender().acquire();
  p->data.assign(datagram.begin(), datagram.end());
  p->session = setup_.id;
  p->socket = setup_.send_socket;
  auto now = Clock::now();
  if (is_rtcp(datagram)) {
    // A sender report follows the packets queued before it; its clock
    // fields are stamped when it leaves.
    p->kind = PacketKind::rtcp;
    p->destination = rtcp_to_;
    p->due = queue_.empty() ? now : queue_.back()->due;
  } else {
    if (datagram.size() < 12) return;
    p->kind = PacketKind::rtp;
    p->destination = rtp_to_;
    restamp(p->data, pacing_ && pacing_->anchored() ? now : std::max(now, anchor_hint_));
    std::int64_t ticks = unwrap_(rtp_timestamp(p->data));
    p->ticks = ticks;
    if (!pacing_) pacing_.emplace(mapping_->clock_rate, setup_.max_lateness);
    auto before = pacing_->rebases();
    // The first packet anchors the clock: now, or (after a codec change)
    // where the previous stream's queue ends.
    p->due = pacing_->due(ticks, pacing_->anchored() ? now : std::max(now, anchor_hint_));
    last_rtp_due_ = p->due;
    last_rtp_ticks_ = ticks;
    if (pacing_->rebases() != before) {
      std::lock_guard lock(mutex_);
      ++stats_.late_rebases;
    }
  }
  queue_.push_back(std::move(p));
}

void Session::pipeline_failed(std::error_code ec, std::string message) {
  pipeline_error_ = ec ? ec : errno_error(EIO);
  pipeline_message_ = std::move(message);
}

}  // namespace joincast::media
