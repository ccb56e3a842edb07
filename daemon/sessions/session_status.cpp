// session_status.cpp — what the sessions module shows: the "sessions" and
// "sdp" control commands, `joincast watch` events (topic "sessions"), the
// status summary and the Prometheus metrics.
#include "daemon/sessions/session_entry.hpp"

#include "daemon/membership/loader/membership_json.hpp"  // monotonic_to_iso
#include "daemon/membership/loader/membership_program.hpp"
#include "media/engine/stats_json.hpp"

#include <fmt/format.h>

namespace joincast::daemon::sessions {

using namespace std::chrono;

const char* SessionManager::state_name(State s) {
  switch (s) {
    case State::waiting: return "waiting";
    case State::starting: return "starting";
    case State::running: return "running";
    case State::grace: return "grace";
    case State::retrying: return "retrying";
    case State::failed: return "failed";
  }
  return "?";
}

nlohmann::json SessionManager::sessions_json() const {
  nlohmann::json list = nlohmann::json::array();
  index_ = listeners_.listeners();  // one walk for all entries
  for (const auto& [key, e] : entries_) list.push_back(entry_json(*e));
  index_.reset();
  return nlohmann::json{{"sessions", list}, {"interface", config_.interface}};
}

void SessionManager::register_commands() {
  control_.add("sessions", "streams: state, service, listeners, RTP and RTCP statistics",
               [this](const nlohmann::json&) { return sessions_json(); });
  control_.add("sdp", "the SDP a session announces: {\"group\": G}",
               core::ControlServer::Handler([this](const nlohmann::json& request) -> Result<nlohmann::json> {
                 auto g = catalogue::GroupAddress::parse(request.value("group", std::string()));
                 if (!g) return invalid("\"group\" must be a multicast group address");
                 const std::string name = g.value().to_string();
                 Entry* e = find(group_key(g.value()));
                 if (!e || !e->media) return Error(std::errc::no_such_process, "no stream is running for " + name);
                 auto stats = engine_->stats(*e->media);
                 if (!stats || stats.value().sdp.empty())
                   return Error(std::errc::resource_unavailable_try_again,
                                "the stream for " + name + " has no SDP yet (still starting)");
                 return nlohmann::json{{"group", name}, {"sdp", stats.value().sdp}};
               }));
}

void SessionManager::publish(const Entry& e, const char* event, const std::string& detail) {
  const std::uint64_t now = membership::loader::monotonic_ns();
  nlohmann::json j = {{"event", event},          {"time", membership::loader::monotonic_to_iso(now, now)}, {"group", e.group.to_string()},
                      {"service", e.service}, {"state", state_name(e.state)}};
  if (!detail.empty()) j["detail"] = detail;
  control_.publish("sessions", j);
}

nlohmann::json SessionManager::entry_json(const Entry& e) const {
  auto now = clock_.now();
  nlohmann::json j = {
      {"group", e.group.to_string()},
      {"state", state_name(e.state)},
      {"service", e.service},
      {"directory", e.directory},
      {"since_s", duration<double>(now - e.since).count()},
  };
  nlohmann::json ifs = nlohmann::json::array();
  for (int i : listener_interfaces(e.key)) ifs.push_back(listeners_.interface_name(i));
  j["listener_interfaces"] = ifs;
  if (!e.reason.empty()) {
    j["reason"] = e.reason;
    j["reason_kind"] = e.reason_kind;
  }
  if (e.failures) j["failures"] = e.failures;
  if (e.resolved) j["number"] = e.resolved->number.value;
  if (!e.url.empty()) j["url"] = e.url;
  if (e.started_at) j["uptime_s"] = duration<double>(now - *e.started_at).count();
  if (!e.routed_to.empty()) j["routed_to"] = e.routed_to;
  if (e.source_status) {
    auto s = e.source_status->get();
    nlohmann::json src = {{"url", s.url}, {"reconnects", s.reconnects}};
    if (s.hls) src["hls"] = true;
    if (!s.reason.empty()) src["reason"] = s.reason;
    j["source"] = src;
  }
  // Who listens, counted two ways (docs/sessions.md, "Counting
  // listeners"): membership counts every host that joined, always; RTCP
  // only the players that send receiver reports (GStreamer's rtpbin,
  // `joincast listen`; not ffmpeg, ffplay, mpv or VLC).
  nlohmann::json counted = {{"membership", nullptr}, {"rtcp", nullptr}};
  if (auto it = listener_counts_.find(e.key); it != listener_counts_.end()) counted["membership"] = it->second;
  if (e.media && engine_) {
    if (auto stats = engine_->stats(*e.media)) {
      j["media"] = media::to_json(stats.value());
      counted["rtcp"] = stats.value().receivers.size();
    }
  }
  j["listeners"] = counted;
  return j;
}

nlohmann::json SessionManager::summary() const {
  std::map<std::string, unsigned> by_state;
  for (const auto& [k, e] : entries_) by_state[state_name(e->state)]++;
  nlohmann::json j = {{"interface", config_.interface}, {"sessions", entries_.size()}, {"by_state", by_state},
                      {"started_total", started_total_}};
  if (engine_) j["worker_threads"] = engine_->threads();
  return j;
}

void SessionManager::collect_metrics(core::MetricsWriter& w) const {
  std::map<std::string, unsigned> by_state = {
      {"waiting", 0}, {"starting", 0}, {"running", 0}, {"grace", 0}, {"retrying", 0}, {"failed", 0}};
  double packets = 0, bytes = 0, receivers = 0, lost = 0, sap = 0, send_errors = 0, dropped = 0, lag = 0;
  for (const auto& [k, e] : entries_) {
    by_state[state_name(e->state)]++;
    if (!e->media || !engine_) continue;
    auto s = engine_->stats(*e->media);
    if (!s) continue;
    packets += static_cast<double>(s.value().rtp_packets);
    bytes += static_cast<double>(s.value().rtp_octets);
    sap += static_cast<double>(s.value().sap_announcements);
    send_errors += static_cast<double>(s.value().send_errors);
    receivers += static_cast<double>(s.value().receivers.size());
    for (const auto& r : s.value().receivers) lost += static_cast<double>(std::max<std::int64_t>(0, r.cumulative_lost));
    dropped += static_cast<double>(s.value().frames_dropped);
    if (s.value().live_lag_ms) lag = std::max(lag, *s.value().live_lag_ms / 1000.0);
  }
  for (const auto& [state, n] : by_state)
    w.gauge("joincast_sessions", "Sessions by state.", n, {{"state", state}});
  w.counter("joincast_sessions_started_total", "Sessions that went on air.", static_cast<double>(started_total_));
  w.gauge("joincast_rtp_packets", "RTP packets sent by the sessions running now.", packets);
  w.gauge("joincast_rtp_bytes", "RTP payload bytes sent by the sessions running now.", bytes);
  w.gauge("joincast_sap_announcements", "SAP announcements sent by the sessions running now.", sap);
  w.gauge("joincast_send_errors", "Send errors of the sessions running now.", send_errors);
  w.gauge("joincast_rtcp_receivers", "Listeners reporting by RTCP to the sessions running now.", receivers);
  w.gauge("joincast_rtcp_packets_lost", "Packets listeners report lost (cumulative, sessions running now).", lost);
  w.gauge("joincast_live_edge_frames_dropped",
          "Source frames dropped to hold the live edge (a burst's excess, a fast clock), sessions running now.", dropped);
  w.gauge("joincast_live_lag_seconds", "The largest lag behind a live source's newest data among the sessions running now.",
          lag);
  for (const char* kind : {"resolve", "policy", "limit", "source", "media", "dvb", "start-timeout"}) {
    auto it = errors_.find(kind);
    w.counter("joincast_session_errors_total", "Sessions refused or failed, by kind.",
              it == errors_.end() ? 0 : static_cast<double>(it->second), {{"kind", kind}});
  }
}

}  // namespace joincast::daemon::sessions
