// session.cpp — one stream: pipeline on a fiber, paced sending, SAP, RTCP.
#include "media/engine/session.hpp"

#include "media/rtcp/rtcp.hpp"
#include "media/announce/sap.hpp"
#include "media/announce/sdp.hpp"
#include "media/engine/worker.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>

namespace joincast::media {

namespace {

using namespace std::chrono_literals;

thread_local Session* t_active = nullptr;

// Input buffering: a source is paused above the high-water mark and
// resumed below the low one. MPEG-TS runs at several Mbit/s and gets more.
constexpr std::size_t kHighWater = 4 * 1024;
constexpr std::size_t kHighWaterTs = 128 * 1024;
// An SDP changes at most this often (RFC 2974 §3: every change is an
// announcement and a deletion); metadata thus reaches it within a second.
constexpr auto kSdpChangeInterval = 1s;
// A burst of new listeners gets announcements at most this often.
constexpr auto kListenerAnnounceInterval = 100ms;
// The announcement made for a new listener (and a session's first one,
// which a join caused) is repeated 250 ms, 500 ms and 1 s after it. A
// player is often started with its join rather than before it: another
// socket or daemon on the host joins, or the player opens its SAP socket
// after its RTP one. The host then reports the group before the player
// listens on 9875, the announcement arrives to nobody, and the player
// would wait for the periodic one (interval ± a third, 5 s by default).
// Doubling delays bound that wait by how late the player was, for three
// small packets per join.
constexpr auto kFollowUpFirst = 250ms;
constexpr unsigned kFollowUps = 3;

std::uint32_t rtp_timestamp(std::span<const std::byte> p) {
  auto u = [&](std::size_t i) { return std::to_integer<std::uint32_t>(p[i]); };
  return u(4) << 24 | u(5) << 16 | u(6) << 8 | u(7);
}

}  // namespace

const char* to_string(SessionState state) {
  switch (state) {
    case SessionState::starting: return "starting";
    case SessionState::running: return "running";
    case SessionState::ended: return "ended";
    case SessionState::failed: return "failed";
    case SessionState::stopped: return "stopped";
  }
  return "?";
}

const char* to_string(SessionEvent::Kind kind) {
  switch (kind) {
    case SessionEvent::Kind::started: return "started";
    case SessionEvent::Kind::ended: return "ended";
    case SessionEvent::Kind::failed: return "failed";
    case SessionEvent::Kind::stopped: return "stopped";
  }
  return "?";
}

Session* Session::active() { return t_active; }

std::uint64_t Session::random() {
  std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Session::Session(Worker& worker, SessionSetup setup, std::unique_ptr<ByteSource> source)
    : worker_(worker),
      setup_(std::move(setup)),
      source_(std::move(source)),
      created_(Clock::now()),
      rng_state_((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()),
      receivers_(setup_.config.receiver_timeout, setup_.config.receiver_limits) {
  const auto& c = setup_.config;
  rtp_to_ = SocketAddress::from(c.group, c.rtp_port, setup_.ifindex);
  rtcp_to_ = SocketAddress::from(c.group, static_cast<std::uint16_t>(c.rtp_port + 1), setup_.ifindex);
  sap_to_ = SocketAddress::from(c.group, c.sap_port, setup_.ifindex);
  sap_well_known_to_ = SocketAddress::from(sap_well_known_group(c.group), c.sap_port, setup_.ifindex);
  api_metadata_ = c.metadata;
  // RFC 8866 §5.2: session id and version are numeric; an NTP-based start
  // keeps versions growing across daemon restarts.
  sdp_session_id_ = random() & 0x7fffffffffffull;
  sdp_version_ = ntp_timestamp_now() >> 32;
  if (setup_.config.cname.empty()) setup_.config.cname = "joincast@" + sdp_address(setup_.source_address);
  std::lock_guard lock(mutex_);
  stats_.id = setup_.id;
  stats_.group = c.group;
  stats_.interface = c.interface;
  stats_.source_address = setup_.source_address;
  stats_.source = source_ ? source_->describe() : std::string();
  stats_.metadata = effective_metadata();
}

Session::~Session() { stop_source(); }

std::string Session::source_failure_text() const {
  std::string reason = source_ ? source_->failure_reason() : std::string();
  return reason.empty() ? source_error_.message() : reason;
}

void Session::stop_source() {
  if (source_ && !source_stopped_) {
    source_stopped_ = true;
    source_->stop();
  }
}

void Session::start() {
  if (setup_.rtcp_socket) {
    rtcp_socket_ = std::make_unique<boost::asio::ip::udp::socket>(worker_.executor());
    boost::system::error_code ec;
    rtcp_socket_->assign(setup_.config.group.is_v6() ? boost::asio::ip::udp::v6() : boost::asio::ip::udp::v4(),
                         setup_.rtcp_socket.release(), ec);
    if (!ec) rtcp_socket_->non_blocking(true, ec);
    if (!ec) receive_rtcp();
  }
  if (setup_.config.announce_only) {
    // Another program sends the stream: describe it, collect its
    // listeners' RTCP, send nothing else.
    mapping_ = *setup_.config.announce_only;
    {
      std::lock_guard lock(mutex_);
      stats_.codec = mapping_->codec_name;
      stats_.payload_type = mapping_->payload_type;
      stats_.clock_rate = mapping_->clock_rate;
      state_ = SessionState::running;
      stats_.state = state_;
    }
    sdp_inputs_changed();
    worker_.reschedule(*this);
    emit(SessionEvent::Kind::started);
    return;
  }
  auto fiber = Fiber::create([this] { pipeline(); });
  if (!fiber) {
    pipeline_failed(fiber.error(), "cannot allocate the pipeline's stack");
    pipeline_done_ = true;
    after_pipeline();
    return;
  }
  fiber_ = std::move(fiber.value());
  source_->start(*this);
  resume_fiber();
}

// ---------------------------------------------------------------- input

Flow Session::on_data(std::span<const std::byte> bytes) {
  if (state_ != SessionState::starting && state_ != SessionState::running) return Flow::pause;
  if (input_head_ > 0 && input_head_ * 2 >= input_.size()) {
    input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(input_head_));
    input_head_ = 0;
  }
  input_.insert(input_.end(), bytes.begin(), bytes.end());
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
  std::size_t high = is_mpegts_type(content_type_) ? kHighWaterTs : kHighWater;
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
  std::size_t high = is_mpegts_type(content_type_) ? kHighWaterTs : kHighWater;
  if (source_paused_ && input_.size() - input_head_ < high / 2) {
    source_paused_ = false;
    boost::asio::post(worker_.executor(), [self = shared_from_this()] {
      if (self->state_ == SessionState::starting || self->state_ == SessionState::running) self->source_->resume();
    });
  }
  return static_cast<int>(n);
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
  std::string why;
  auto opened = Demuxer::open([this](std::uint8_t* buf, int size) { return read_input(buf, size); }, content_type, why);
  if (!opened) {
    if (cancel_) return;
    pipeline_failed(opened.error(), why);
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
  // RFC 3550 §8.1: the SSRC should be random; draw it from the system.
  ssrc_ = static_cast<std::uint32_t>(std::random_device{}());
  if (ssrc_ == 0) ssrc_ = 1;
  std::string why;
  RtpPacketizer::Options options;
  options.ssrc = ssrc_;
  options.cname = setup_.config.cname;
  options.packet_size = setup_.packet_size;
  auto p = RtpPacketizer::open(par, time_base, m.value(), options, [this](std::span<std::byte> d) { on_muxed(d); }, why);
  if (!p) {
    pipeline_failed(p.error(), why);
    return false;
  }
  if (packetizer_ || pacing_) {
    // The new stream starts where the old one's queue ends.
    anchor_hint_ = queue_.empty() ? Clock::now() : queue_.back()->due;
  }
  packetizer_ = std::move(p.value());
  mapping_ = m.value();
  pacing_.reset();
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
    std::int64_t ticks = unwrap_(rtp_timestamp(datagram));
    p->ticks = ticks;
    if (!pacing_) pacing_.emplace(mapping_->clock_rate, setup_.max_lateness);
    auto before = pacing_->rebases();
    // The first packet anchors the clock: now, or (after a codec change)
    // where the previous stream's queue ends.
    p->due = pacing_->due(ticks, pacing_->anchored() ? now : std::max(now, anchor_hint_));
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

// ---------------------------------------------------------- worker side

void Session::resume_fiber() {
  if (!fiber_ || fiber_->finished() || fiber_->running()) return;
  Session* previous = t_active;
  t_active = this;
  fiber_->resume();
  t_active = previous;
  if (opened_ && !trimmed_ && !fiber_->finished()) {
    // Opening went deep (probing, header parsing); steady demuxing does not.
    trimmed_ = true;
    fiber_->trim();
  }
  if (fiber_->finished() && !pipeline_done_) {
    pipeline_done_ = true;
    after_pipeline();
  }
}

void Session::after_pipeline() {
  if (cancel_) return;
  // A clean end lets the queue drain first (on_timer finishes then); a
  // failure before anything was queued finishes now.
  if (queue_.empty()) finish(pipeline_error_ || source_error_ ? SessionState::failed : SessionState::ended);
}

std::optional<Session::Clock::time_point> Session::next_event() const {
  if (state_ != SessionState::starting && state_ != SessionState::running) return std::nullopt;
  std::optional<Clock::time_point> next;
  auto consider = [&](std::optional<Clock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (!queue_.empty()) {
    consider(queue_.front()->due);
    if (waiting_ == Waiting::room) consider(refill_time());
  } else if (waiting_ == Waiting::room) {
    consider(Clock::now());
  }
  if (!sdp_.empty() || mapping_) {
    consider(next_own_announce_);
    consider(next_well_known_announce_);
    consider(listener_announce_);
    consider(follow_up_announce_);
    if (sdp_dirty_ || (mapping_ && sdp_.empty())) consider(last_sdp_change_ + kSdpChangeInterval);
  }
  if (receivers_.size() > 0) consider(next_expiry_);
  return next;
}

void Session::on_timer(Clock::time_point now, Clock::duration window) {
  if (state_ != SessionState::starting && state_ != SessionState::running) return;
  send_due(now, window);
  if (waiting_ == Waiting::room && (queue_.empty() || refill_time() <= now)) {
    resume_fiber();
    send_due(Clock::now(), window);
  }
  if (pipeline_done_ && queue_.empty() && (state_ == SessionState::starting || state_ == SessionState::running)) {
    finish(pipeline_error_ || source_error_ ? SessionState::failed : SessionState::ended);
    return;
  }
  sap_timers(now);
  if (receivers_.size() > 0 && now >= next_expiry_) {
    std::lock_guard lock(mutex_);
    receivers_.expire(now);
    next_expiry_ = now + 1s;
  }
}

Session::Clock::time_point Session::refill_time() const {
  // Refill when a quarter of the lead is left: each refill then demuxes
  // three quarters of it in one go (fewer fiber switches), and the quarter
  // left rides out a slow wakeup.
  return queue_.back()->due - setup_.lead / 4;
}

void Session::send_due(Clock::time_point now, Clock::duration window) {
  while (!queue_.empty() && queue_.front()->due <= now + window) {
    auto p = std::move(queue_.front());
    queue_.pop_front();
    send_packet(std::move(p));
  }
}

void Session::send_packet(std::unique_ptr<OutgoingPacket> p) {
  auto now = Clock::now();
  if (p->kind == PacketKind::rtcp) {
    // The muxer wrote this report ahead of time; its NTP and RTP clock
    // fields and counts must say when it actually leaves (RFC 3550 §6.4.1).
    if (!pacing_ || !pacing_->anchored()) return;  // before the first RTP packet: nothing to report
    SenderInfo info;
    info.ntp = ntp_timestamp_now();
    info.rtp_timestamp = unwrap_.first() + static_cast<std::uint32_t>(pacing_->ticks_at(now));
    info.packet_count = static_cast<std::uint32_t>(sent_rtp_packets_);
    info.octet_count = static_cast<std::uint32_t>(sent_rtp_octets_);
    stamp_sender_report(p->data, info);
    std::lock_guard lock(mutex_);
    ++stats_.rtcp_sent;
  } else {
    // Per-packet counters are atomics: no lock on the hot path.
    sent_rtp_packets_.store(sent_rtp_packets_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sent_rtp_octets_.store(sent_rtp_octets_.load(std::memory_order_relaxed) + p->data.size() - 12,
                           std::memory_order_relaxed);
    last_sent_ticks_.store(p->ticks, std::memory_order_relaxed);
    if (state_ == SessionState::starting) {
      std::lock_guard lock(mutex_);
      stats_.first_packet_ms = std::chrono::duration<double, std::milli>(now - created_).count();
      state_ = SessionState::running;
      stats_.state = state_;
    }
  }
  bool first = p->kind == PacketKind::rtp && sent_rtp_packets_ == 1;
  worker_.sender().enqueue(std::move(p));
  if (first) emit(SessionEvent::Kind::started);
}

void Session::on_send_complete(const OutgoingPacket& packet, int result) {
  if (result >= 0) return;
  std::lock_guard lock(mutex_);
  ++stats_.send_errors;
  stats_.last_send_error = fmt::format("{} to {}: {}", packet.kind == PacketKind::rtp ? "RTP" : packet.kind == PacketKind::rtcp ? "RTCP" : "SAP",
                                       sdp_address(setup_.config.group), errno_error(-result).message());
}

void Session::queue_control(PacketKind kind, std::vector<std::byte> data, const SocketAddress& to, bool drain) {
  auto p = worker_.sender().acquire();
  p->data = std::move(data);
  p->destination = to;
  p->session = setup_.id;
  p->socket = setup_.send_socket;
  p->kind = kind;
  p->due = Clock::now();
  p->drain = drain;
  worker_.sender().enqueue(std::move(p));
}

std::vector<std::byte> Session::sender_report_compound(bool bye) const {
  SenderInfo info;
  info.ntp = ntp_timestamp_now();
  info.rtp_timestamp = unwrap_.first() + static_cast<std::uint32_t>(pacing_ && pacing_->anchored() ? pacing_->ticks_at(Clock::now()) : 0);
  info.packet_count = static_cast<std::uint32_t>(sent_rtp_packets_);
  info.octet_count = static_cast<std::uint32_t>(sent_rtp_octets_);
  auto out = build_sender_report(ssrc_, info);
  auto sdes = build_sdes(ssrc_, setup_.config.cname, "joincast");
  out.insert(out.end(), sdes.begin(), sdes.end());
  if (bye) {
    std::uint32_t ssrcs[] = {ssrc_};
    auto b = build_bye(ssrcs, "stream stopped");
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

void Session::receive_rtcp() {
  // Wait for readiness and read into the thread's buffer: a thousand
  // sessions need no thousand receive buffers.
  rtcp_socket_->async_wait(boost::asio::ip::udp::socket::wait_read, [weak = weak_from_this()](
                                                                        const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || !self->rtcp_socket_) return;
    thread_local std::array<std::byte, 2048> buffer;
    auto now = Clock::now();
    for (int i = 0; i < 16; ++i) {
      boost::asio::ip::udp::endpoint from;
      boost::system::error_code rec;
      std::size_t n = self->rtcp_socket_->receive_from(boost::asio::buffer(buffer), from, 0, rec);
      if (rec) break;  // would block: all read
      std::lock_guard lock(self->mutex_);
      self->receivers_.on_packet(std::span(buffer.data(), n), from.address().to_string(), now, ntp_timestamp_now());
      if (self->next_expiry_ < now) self->next_expiry_ = now + 1s;
    }
    self->receive_rtcp();
    self->worker_.reschedule(*self);
  });
}

// ------------------------------------------------------------- SAP, SDP

StreamMetadata Session::effective_metadata() const {
  StreamMetadata m = source_metadata_;
  if (!api_metadata_.station_name.empty()) m.station_name = api_metadata_.station_name;
  if (!api_metadata_.now_playing.empty()) m.now_playing = api_metadata_.now_playing;
  else if (m.now_playing.empty() && container_title_) m.now_playing = *container_title_;
  if (!api_metadata_.url.empty()) m.url = api_metadata_.url;
  if (!api_metadata_.genre.empty()) m.genre = api_metadata_.genre;
  if (api_metadata_.bitrate_kbps) m.bitrate_kbps = api_metadata_.bitrate_kbps;
  const StreamMetadata& fallback = setup_.config.fallback_metadata;
  if (m.station_name.empty()) m.station_name = fallback.station_name;
  if (m.now_playing.empty()) m.now_playing = fallback.now_playing;
  if (m.url.empty()) m.url = fallback.url;
  if (m.genre.empty()) m.genre = fallback.genre;
  if (!m.bitrate_kbps) m.bitrate_kbps = fallback.bitrate_kbps;
  return m;
}

std::string Session::build_sdp(std::uint64_t version) const {
  auto meta = effective_metadata();
  SdpSession s;
  s.origin = setup_.source_address;
  s.session_id = sdp_session_id_;
  s.version = version;
  // Announce-only sessions have no source: their name comes with them.
  s.station_name = !meta.station_name.empty() ? meta.station_name
                   : source_                  ? source_->describe()
                                              : "joincast stream";
  s.now_playing = meta.now_playing;
  s.url = meta.url;
  s.group = setup_.config.group;
  s.ttl = setup_.config.hop_limit;
  s.port = setup_.config.rtp_port;
  s.media = *mapping_;
  return write_sdp(s);
}

void Session::sdp_inputs_changed() {
  sdp_dirty_ = true;
  std::lock_guard lock(mutex_);
  stats_.metadata = effective_metadata();
}

void Session::update_metadata(const StreamMetadata& metadata) {
  api_metadata_ = metadata;
  sdp_inputs_changed();
  worker_.reschedule(*this);
}

void Session::listener_appeared() {
  if (state_ != SessionState::starting && state_ != SessionState::running) return;
  if (sdp_.empty()) return;  // the first announcement goes out as soon as the codec is known
  auto now = Clock::now();
  auto when = std::max(now, last_own_announce_ + kListenerAnnounceInterval);
  if (!listener_announce_ || when < *listener_announce_) listener_announce_ = when;
  if (when <= now) {
    listener_announce_.reset();
    announce_for_listener(now);
    worker_.flush();
  }
  worker_.reschedule(*this);
}

void Session::sap_timers(Clock::time_point now) {
  if (!mapping_) return;
  bool well_known = setup_.config.sap.well_known_group;
  if (sdp_.empty()) {
    sdp_ = build_sdp(sdp_version_);
    sap_hash_ = sap_msg_id_hash(sdp_, sdp_session_id_, 0);
    sdp_dirty_ = false;
    last_sdp_change_ = now;
    if (well_known) ++worker_.well_known_counter();
    {
      std::lock_guard lock(mutex_);
      stats_.sdp = sdp_;
      stats_.sap_msg_id_hash = sap_hash_;
    }
    // The first announcement is the one the listener whose join started
    // the session waits for.
    announce_for_listener(now);
    if (well_known) announce(false, true, now);
  } else if (sdp_dirty_ && now >= last_sdp_change_ + kSdpChangeInterval) {
    sdp_dirty_ = false;
    if (build_sdp(sdp_version_) != sdp_) {
      // RFC 2974 §5: a modified description is a new announcement with a
      // new message id hash; the old one is deleted so caches drop it.
      delete_announcement();
      ++sdp_version_;
      sdp_ = build_sdp(sdp_version_);
      sap_hash_ = sap_msg_id_hash(sdp_, sdp_session_id_, sap_hash_);
      last_sdp_change_ = now;
      {
        std::lock_guard lock(mutex_);
        stats_.sdp = sdp_;
        stats_.sap_msg_id_hash = sap_hash_;
      }
      announce(true, well_known, now);
    }
  }
  if (listener_announce_ && now >= *listener_announce_) {
    listener_announce_.reset();
    announce_for_listener(now);
  }
  if (follow_up_announce_ && now >= *follow_up_announce_) {
    announce(true, false, now);
    if (++follow_ups_sent_ < kFollowUps)
      follow_up_announce_ = now + kFollowUpFirst * (1u << (follow_ups_sent_ - 1));
    else
      follow_up_announce_.reset();
  }
  if (next_own_announce_ && now >= *next_own_announce_) announce(true, false, now);
  if (next_well_known_announce_ && now >= *next_well_known_announce_) announce(false, true, now);
}

void Session::announce(bool own_group, bool well_known, Clock::time_point now) {
  SapMessage m;
  m.msg_id_hash = sap_hash_;
  m.origin = setup_.source_address;
  m.payload_type = std::string(kSdpMimeType);
  m.payload = sdp_;
  auto packet = encode_sap(m);
  std::size_t size = packet.size();
  std::uint64_t sent = 0;
  if (own_group) {
    queue_control(PacketKind::sap, packet, sap_to_);
    ++sent;
    last_own_announce_ = now;
    next_own_announce_ = now + sap_jittered(setup_.config.sap.interval, random());
  }
  if (well_known) {
    queue_control(PacketKind::sap, std::move(packet), sap_well_known_to_);
    ++sent;
    auto base = sap_base_interval(worker_.well_known_ads(), size, setup_.config.sap.well_known_min_interval);
    next_well_known_announce_ = now + sap_jittered(base, random());
  }
  announced_ = true;
  std::lock_guard lock(mutex_);
  stats_.sap_announcements += sent;
}

void Session::announce_for_listener(Clock::time_point now) {
  announce(true, false, now);
  follow_ups_sent_ = 0;
  follow_up_announce_ = now + kFollowUpFirst;
}

void Session::delete_announcement() {
  if (!announced_ || sdp_.empty()) return;
  SapMessage m;
  m.deletion = true;
  m.msg_id_hash = sap_hash_;
  m.origin = setup_.source_address;
  m.payload_type = std::string(kSdpMimeType);
  m.payload = sdp_origin_line(sdp_) + "\r\n";  // RFC 2974 §3: a deletion carries the o= line
  auto packet = encode_sap(m);
  std::uint64_t sent = 1;
  // Drain: the deletion leaves after every packet submitted before it.
  queue_control(PacketKind::sap, packet, sap_to_, true);
  if (setup_.config.sap.well_known_group) {
    queue_control(PacketKind::sap, std::move(packet), sap_well_known_to_, true);
    ++sent;
  }
  std::lock_guard lock(mutex_);
  stats_.sap_deletions += sent;
}

// ------------------------------------------------------------ lifecycle

void Session::finish(SessionState final_state) {
  if (state_ != SessionState::starting && state_ != SessionState::running) return;
  queue_.clear();  // no RTP after this point
  if (packetizer_ && sent_rtp_packets_ > 0) {
    // RFC 3550 §6.6: BYE in a compound that starts with an SR.
    queue_control(PacketKind::rtcp, sender_report_compound(true), rtcp_to_, true);
    std::lock_guard lock(mutex_);
    ++stats_.rtcp_sent;
  }
  delete_announcement();
  if (!sdp_.empty() && setup_.config.sap.well_known_group) --worker_.well_known_counter();
  announced_ = false;
  next_own_announce_.reset();
  next_well_known_announce_.reset();
  listener_announce_.reset();
  follow_up_announce_.reset();
  stop_source();
  if (rtcp_socket_) {
    // Closed and destroyed here, on the worker: the pending receive
    // completes as aborted and sees no socket.
    boost::system::error_code ignored;
    rtcp_socket_->close(ignored);
    rtcp_socket_.reset();
  }
  state_ = final_state;
  std::string message;
  {
    std::lock_guard lock(mutex_);
    stats_.state = state_;
    if (final_state == SessionState::failed) {
      // Name the input: the daemon logs this line as it is.
      message = (source_ ? source_->describe() + ": " : std::string()) +
                (!pipeline_message_.empty() ? pipeline_message_
                 : source_error_            ? "the source failed: " + source_failure_text()
                                            : "failed");
      stats_.error = message;
    }
  }
  worker_.flush();
  if (final_state == SessionState::ended) emit(SessionEvent::Kind::ended);
  else if (final_state == SessionState::failed)
    emit(SessionEvent::Kind::failed, pipeline_error_ ? pipeline_error_ : source_error_, message);
}

void Session::stop() {
  if (state_ == SessionState::stopped) return;
  cancel_ = true;
  // Unwind the pipeline: every wait in it returns once cancel_ is set.
  for (int i = 0; fiber_ && !fiber_->finished() && i < 1000; ++i) resume_fiber();
  if (state_ == SessionState::starting || state_ == SessionState::running) finish(SessionState::stopped);
  stop_source();
  state_ = SessionState::stopped;
  {
    std::lock_guard lock(mutex_);
    stats_.state = state_;
  }
  emit(SessionEvent::Kind::stopped);
}

void Session::emit(SessionEvent::Kind kind, std::error_code ec, std::string message) {
  SessionEvent e;
  e.id = setup_.id;
  e.kind = kind;
  e.error = ec;
  e.message = std::move(message);
  worker_.emit(e);
}

SessionStats Session::stats() const {
  std::lock_guard lock(mutex_);
  SessionStats s = stats_;
  s.rtp_packets = sent_rtp_packets_.load(std::memory_order_relaxed);
  s.rtp_octets = sent_rtp_octets_.load(std::memory_order_relaxed);
  if (s.clock_rate) s.media_seconds = static_cast<double>(last_sent_ticks_.load(std::memory_order_relaxed)) / s.clock_rate;
  s.receivers = receivers_.receivers();
  s.rtcp_in = receivers_.counters();
  s.uptime_seconds = std::chrono::duration<double>(Clock::now() - created_).count();
  return s;
}

void Session::note_ffmpeg_message(std::string message) {
  std::lock_guard lock(mutex_);
  stats_.last_ffmpeg_message = std::move(message);
}

}  // namespace joincast::media
