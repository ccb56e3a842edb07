// media_engine.cpp — session bookkeeping, address resolution, FFmpeg log.
#include "media/engine/media_engine.hpp"

#include "media/engine/multicast_socket.hpp"
#include "media/announce/sdp.hpp"
#include "media/engine/session.hpp"
#include "media/engine/worker.hpp"

extern "C" {
#include <libavutil/log.h>
}

#include <algorithm>
#include <cstdarg>
#include <fmt/format.h>
#include <thread>

namespace joincast::media {

namespace {

// FFmpeg logs through one process-wide callback; the engine routes it.
std::mutex g_log_mutex;
std::function<void(int, std::string_view)> g_log_handler;
const void* g_log_owner = nullptr;

void ffmpeg_log(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_WARNING) return;
  char line[1024];
  int print_prefix = 1;
  va_list copy;
  va_copy(copy, args);
  av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  if (Session* s = Session::active()) s->note_ffmpeg_message(std::string(text));
  std::lock_guard lock(g_log_mutex);
  if (g_log_handler) g_log_handler(level, text);
}

}  // namespace

Result<std::unique_ptr<MediaEngine>> MediaEngine::create(EngineOptions options) {
  std::unique_ptr<MediaEngine> e(new MediaEngine);
  e->options_ = std::move(options);
  e->sap_bandwidth_ = std::make_shared<SapBandwidth>(e->options_.sap_well_known_bandwidth);
  unsigned threads = e->options_.threads;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
  {
    std::lock_guard lock(g_log_mutex);
    g_log_handler = e->options_.ffmpeg_log;
    g_log_owner = e.get();
  }
  av_log_set_callback(&ffmpeg_log);
  auto handler = [engine = e.get()](const SessionEvent& event) {
    if (engine->options_.on_event) engine->options_.on_event(event);
  };
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>(i, e->options_.ring_entries, e->options_.send_window, handler, e->well_known_ads_);
    if (auto r = w->start(); !r) return r.error();
    e->workers_.push_back(std::move(w));
  }
  return e;
}

MediaEngine::~MediaEngine() {
  for (auto& w : workers_) w->shutdown();
  {
    std::lock_guard lock(mutex_);
    sessions_.clear();
  }
  workers_.clear();
  std::lock_guard lock(g_log_mutex);
  if (g_log_owner == this) {
    g_log_handler = nullptr;
    g_log_owner = nullptr;
  }
}

Result<SessionId> MediaEngine::start(SessionConfig config, SourceFactory make_source) {
  const auto& group = config.group;
  const std::string group_text = sdp_address(group);
  if (!group.is_multicast()) {
    return Error(errno_error(EINVAL), fmt::format("{} is not a multicast group", group_text));
  }
  auto ifindex = interface_index(config.interface);
  if (!ifindex) {
    return Error(ifindex.error(), fmt::format("no network interface named \"{}\"", config.interface));
  }
  boost::asio::ip::address source;
  if (config.source_address) {
    source = *config.source_address;
  } else {
    auto a = interface_address(config.interface, group.is_v6());
    if (!a) {
      return Error(a.error(), fmt::format("interface {} has no global {} address to send {} from; set a source address",
                                          config.interface, group.is_v6() ? "IPv6" : "IPv4", group_text));
    }
    source = a.value();
  }
  if (source.is_v6() != group.is_v6()) {
    return Error(errno_error(EINVAL), fmt::format("source address {} and group {} are of different families",
                                                  sdp_address(source), group_text));
  }
  if (config.hop_limit == 0 || config.hop_limit > 255) {
    return Error(errno_error(EINVAL), fmt::format("hop limit {} is outside 1..255", config.hop_limit));
  }
  // 1500 at most: receivers do not expect jumbo RTP packets.
  auto if_mtu = interface_mtu(config.interface);
  unsigned mtu = std::min(if_mtu ? if_mtu.value() : 1500u, 1500u);
  unsigned packet_size = mtu - (group.is_v6() ? 48u : 28u);  // IP + UDP headers

  Worker* worker = nullptr;
  for (auto& w : workers_)
    if (!worker || w->session_count() < worker->session_count()) worker = w.get();

  SessionSetup setup;
  setup.config = std::move(config);
  setup.config.sap.well_known_bandwidth = sap_bandwidth_;
  setup.ifindex = ifindex.value();
  setup.source_address = source;
  setup.packet_size = packet_size;
  setup.lead = options_.lead;
  setup.max_lateness = options_.max_lateness;
  setup.live_slack = options_.live_slack;
  auto sock = worker->sender_socket(
      {source, setup.ifindex, setup.config.hop_limit, setup.config.multicast_loop, setup.config.rtp_port});
  if (!sock) {
    return Error(sock.error(), fmt::format("cannot send from {} on {}: {}", sdp_address(source), setup.config.interface,
                                           sock.error().message()));
  }
  setup.send_socket = sock.value();
  ReceiverSocketOptions rtcp;
  rtcp.group = group;
  rtcp.port = static_cast<std::uint16_t>(setup.config.rtp_port + 1);
  rtcp.ifindex = setup.ifindex;
  auto rtcp_fd = open_receiver_socket(rtcp);
  if (!rtcp_fd) {
    return Error(rtcp_fd.error(), fmt::format("cannot listen for RTCP on [{}]:{} ({}): {}", group_text, rtcp.port,
                                              setup.config.interface, rtcp_fd.error().message()));
  }
  setup.rtcp_socket = std::move(rtcp_fd.value());

  std::unique_ptr<ByteSource> byte_source;  // none when another program sends (announce())
  if (!setup.config.announce_only) {
    auto source_object = make_source(worker->executor());
    if (!source_object) {
      const Error& e = source_object.error();
      if (e.has_message()) return e;
      return Error(e, fmt::format("cannot create the source: {}", e.message()));
    }
    if (!source_object.value()) return Error(errno_error(EINVAL), "the source factory returned no source");
    byte_source = std::move(source_object.value());
  }

  std::lock_guard lock(mutex_);
  SessionId id = next_id_++;
  setup.id = id;
  auto session = std::make_shared<Session>(*worker, std::move(setup), std::move(byte_source));
  sessions_[id] = Entry{worker, session};
  worker->post([worker, session] { worker->add(session); });
  return id;
}

Result<SessionId> MediaEngine::announce(SessionConfig config, RtpMapping mapping) {
  config.announce_only = std::move(mapping);
  return start(std::move(config), {});
}

Result<MediaEngine::Entry> MediaEngine::find(SessionId id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return errno_error(ENOENT);
  return it->second;
}

Result<void> MediaEngine::listener_appeared(SessionId id) {
  auto e = find(id);
  if (!e) return e.error();
  e.value().worker->post([s = e.value().session] { s->listener_appeared(); });
  return success();
}

std::size_t MediaEngine::well_known_joined(const boost::asio::ip::address& sap_group) {
  std::vector<Entry> matching;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : sessions_)
      if (e.session->well_known_group() == sap_group) matching.push_back(e);
  }
  for (const auto& e : matching) e.worker->post([s = e.session] { s->well_known_joined(); });
  return matching.size();
}

Result<void> MediaEngine::update_metadata(SessionId id, StreamMetadata metadata) {
  auto e = find(id);
  if (!e) return e.error();
  e.value().worker->post([s = e.value().session, m = std::move(metadata)] { s->update_metadata(m); });
  return success();
}

Result<SessionStats> MediaEngine::stats(SessionId id) const {
  auto e = find(id);
  if (!e) return e.error();
  return e.value().session->stats();
}

std::vector<SessionStats> MediaEngine::stats() const {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : sessions_) all.push_back(e.session);
  }
  std::vector<SessionStats> out;
  out.reserve(all.size());
  for (const auto& s : all) out.push_back(s->stats());
  return out;
}

Result<void> MediaEngine::stop(SessionId id, StopMode mode) {
  Entry e;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return errno_error(ENOENT);
    e = it->second;
    sessions_.erase(it);
  }
  e.worker->post([w = e.worker, id, mode] { w->remove(id, mode); });
  return success();
}

std::size_t MediaEngine::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::string MediaEngine::sender_note() const { return workers_.empty() ? std::string() : workers_.front()->sender_note(); }

}  // namespace joincast::media
