// session.cpp — one stream: lifecycle, paced sending, RTCP, and the SDP its
// SapAnnouncer announces. The pipeline is in session_pipeline.cpp.
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
  // RFC 8866 §5.2: session id and version are numeric. The id is derived
  // from the stream (the same after a restart); an NTP-based version keeps
  // versions growing across restarts when the SDP changed.
  std::uint64_t sdp_session_id = stream_sdp_session_id(c.group, c.rtp_port, setup_.source_address);
  SapAnnouncer::Hooks hooks;
  hooks.describe = [this](std::uint64_t version) { return build_sdp(version); };
  hooks.send = [this](SapAnnouncer::Packet p) { send_sap(std::move(p)); };
  hooks.published = [this](const std::string& sdp, std::uint16_t hash) {
    {
      std::lock_guard lock(mutex_);
      stats_.sdp = sdp;
      stats_.sap_msg_id_hash = hash;
    }
    // Before the first packet there is no reservation yet: the number the
    // stream starts from is the one to keep.
    save_continuity(seq_reserved_valid_ ? seq_reserved_ : next_seq_);
  };
  sap_.emplace(c.sap, setup_.source_address, sdp_session_id, ntp_timestamp_now() >> 32, worker_.well_known_counter(),
               random(), std::move(hooks));
  sap_->set_well_known_group(sap_well_known_group(c.group));
  if (setup_.config.cname.empty()) setup_.config.cname = "joincast@" + sdp_address(setup_.source_address);
  // Restart continuity: numbers go on from the reservation an earlier run
  // left (stream_continuity.hpp), else from a random start (RFC 3550 §5.1).
  next_seq_ = static_cast<std::uint16_t>(random() & 0x0fff);
  std::string continuity_error;
  if (!c.continuity_file.empty()) {
    if (auto r = load_continuity(c.continuity_file)) {
      next_seq_ = r.value().next_seq;
      if (r.value().sdp_version != 0) sap_->resume(r.value().sdp_version, r.value().sdp);
    } else if (r.error() != std::errc::no_such_file_or_directory) {
      continuity_error = r.error().message();
    }
  }
  std::lock_guard lock(mutex_);
  stats_.continuity_error = continuity_error;
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
  if (mapping_ || !sap_->sdp().empty()) consider(sap_->next_event());
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
  if (mapping_) sap_->on_timer(now);
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
  s.session_id = sap_->session_id();
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
  sap_->description_changed();
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
  if (sap_->listener_appeared(Clock::now())) worker_.flush();
  worker_.reschedule(*this);
}

void Session::well_known_joined() {
  if (state_ != SessionState::starting && state_ != SessionState::running) return;
  sap_->well_known_joined(Clock::now());
  worker_.reschedule(*this);
}

void Session::send_sap(SapAnnouncer::Packet p) {
  bool own = p.to == SapAnnouncer::Destination::own_group;
  bool deletion = p.deletion;
  queue_control(PacketKind::sap, std::move(p.bytes), own ? sap_to_ : sap_well_known_to_, deletion);
  std::lock_guard lock(mutex_);
  if (deletion) ++stats_.sap_deletions;
  else ++stats_.sap_announcements;
}

// ------------------------------------------------------------ lifecycle

void Session::finish(SessionState final_state) {
  if (state_ != SessionState::starting && state_ != SessionState::running) return;
  // The next number a packet would have had: the first one not sent.
  std::uint16_t next_seq = next_seq_;
  for (const auto& p : queue_)
    if (p->kind == PacketKind::rtp && p->data.size() >= 12) {
      next_seq = static_cast<std::uint16_t>((std::to_integer<unsigned>(p->data[2]) << 8) | std::to_integer<unsigned>(p->data[3]));
      break;
    }
  queue_.clear();  // no RTP after this point
  if (packetizer_ || !sap_->sdp().empty()) save_continuity(next_seq);
  bool restart = stop_mode_ == StopMode::restart && final_state == SessionState::stopped;
  if (packetizer_ && sent_rtp_packets_ > 0 && !restart) {
    // RFC 3550 §6.6: BYE in a compound that starts with an SR.
    queue_control(PacketKind::rtcp, sender_report_compound(true), rtcp_to_, true);
    std::lock_guard lock(mutex_);
    ++stats_.rtcp_sent;
  }
  sap_->stop(restart);  // SAP deletion, unless the sender carries on after a restart
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

void Session::stop(StopMode mode) {
  if (state_ == SessionState::stopped) return;
  stop_mode_ = mode;
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

namespace joincast::media {

// ------------------------------------------------------------ continuity

void Session::restamp(std::span<std::byte> d, Clock::time_point due) {
  // RFC 3550 §5.1: sequence numbers count packets, timestamps the media
  // clock. Ours continue across restarts (stream_continuity.hpp).
  std::uint32_t in = (std::to_integer<std::uint32_t>(d[4]) << 24) | (std::to_integer<std::uint32_t>(d[5]) << 16) |
                     (std::to_integer<std::uint32_t>(d[6]) << 8) | std::to_integer<std::uint32_t>(d[7]);
  if (!ts_offset_) {
    auto wall = std::chrono::system_clock::now() +
                std::chrono::duration_cast<std::chrono::system_clock::duration>(due - Clock::now());
    ts_offset_ = rtp_timestamp_base(mapping_->clock_rate, wall) - in;
  }
  std::uint32_t ts = in + *ts_offset_;
  std::uint16_t seq = next_seq_++;
  d[2] = std::byte(seq >> 8);
  d[3] = std::byte(seq & 0xff);
  for (unsigned i = 0; i < 4; ++i) d[4 + i] = std::byte((ts >> (24 - 8 * i)) & 0xff);
  // Renew the reservation halfway, before any packet could reach it (the
  // first packet finds none: the distance is then out of range).
  auto left = static_cast<std::uint16_t>(seq_reserved_ - next_seq_);
  if (!seq_reserved_valid_ || left < kSeqReservation / 2 || left > kSeqReservation)
    save_continuity(static_cast<std::uint16_t>(next_seq_ + kSeqReservation));
}

void Session::save_continuity(std::uint16_t next_seq) {
  if (setup_.config.continuity_file.empty()) return;
  ContinuityRecord r;
  r.next_seq = next_seq;
  if (!sap_->sdp().empty()) {
    r.sdp_version = sap_->version();
    r.sdp = sap_->sdp();
  }
  auto saved = media::save_continuity(setup_.config.continuity_file, r);
  // Also on failure: the next attempt is half a reservation later, not at
  // every packet (the error shows in the stats).
  seq_reserved_ = next_seq;
  seq_reserved_valid_ = true;
  std::lock_guard lock(mutex_);
  stats_.continuity_error = saved ? std::string() : saved.error().message();
}

}  // namespace joincast::media
