// stats_json.cpp — JSON views of session state.
#include "media/engine/stats_json.hpp"

#include "media/announce/sdp.hpp"

#include <fmt/format.h>

namespace joincast::media {

nlohmann::json to_json(const StreamMetadata& m) {
  nlohmann::json j = {{"station_name", m.station_name}, {"now_playing", m.now_playing}, {"url", m.url}, {"genre", m.genre}};
  if (m.bitrate_kbps) j["bitrate_kbps"] = *m.bitrate_kbps;
  return j;
}

nlohmann::json to_json(const ReceiverStats& r, std::chrono::steady_clock::time_point now) {
  nlohmann::json j = {
      {"ssrc", fmt::format("{:08x}", r.ssrc)},
      {"cname", r.cname},
      {"address", r.address},
      {"reports_on_us", r.reports_on_us},
      {"fraction_lost", r.fraction_lost},
      {"cumulative_lost", r.cumulative_lost},
      {"highest_seq", r.highest_seq},
      {"jitter_ms", r.jitter_ms},
      {"reports", r.reports},
      {"last_seen_s", std::chrono::duration<double>(now - r.last_seen).count()},
      {"first_seen_s", std::chrono::duration<double>(now - r.first_seen).count()},
  };
  j["rtt_ms"] = r.rtt_ms ? nlohmann::json(*r.rtt_ms) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const SessionStats& s) {
  auto now = std::chrono::steady_clock::now();
  nlohmann::json receivers = nlohmann::json::array();
  for (const auto& r : s.receivers) receivers.push_back(to_json(r, now));
  nlohmann::json j = {
      {"id", s.id},
      {"state", to_string(s.state)},
      {"error", s.error},
      {"source", s.source},
      {"group", sdp_address(s.group)},
      {"source_address", sdp_address(s.source_address)},
      {"interface", s.interface},
      {"codec", s.codec},
      {"payload_type", s.payload_type},
      {"clock_rate", s.clock_rate},
      {"ssrc", fmt::format("{:08x}", s.ssrc)},
      {"rtp_packets", s.rtp_packets},
      {"rtp_octets", s.rtp_octets},
      {"rtcp_sent", s.rtcp_sent},
      {"sap_announcements", s.sap_announcements},
      {"sap_deletions", s.sap_deletions},
      {"sap_msg_id_hash", s.sap_msg_id_hash},
      {"send_errors", s.send_errors},
      {"last_send_error", s.last_send_error},
      {"late_rebases", s.late_rebases},
      {"discontinuities", s.discontinuities},
      {"frames_dropped", s.frames_dropped},
      {"live_lag_ms", s.live_lag_ms ? nlohmann::json(*s.live_lag_ms) : nlohmann::json(nullptr)},
      {"bytes_in", s.bytes_in},
      {"media_seconds", s.media_seconds},
      {"uptime_s", s.uptime_seconds},
      {"sdp", s.sdp},
      {"metadata", to_json(s.metadata)},
      {"receivers", receivers},
      {"receiver_count", s.receivers.size()},
      {"rtcp_in", {{"packets", s.rtcp_in.packets}, {"malformed", s.rtcp_in.malformed}, {"byes", s.rtcp_in.byes},
                   {"timeouts", s.rtcp_in.timeouts}, {"refused", s.rtcp_in.refused}}},
      {"last_ffmpeg_message", s.last_ffmpeg_message},
  };
  j["first_packet_ms"] = s.first_packet_ms ? nlohmann::json(*s.first_packet_ms) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const SessionEvent& e) {
  nlohmann::json j = {{"event", to_string(e.kind)}, {"session", e.id}};
  if (e.error) j["error"] = e.error.message();
  if (!e.message.empty()) j["message"] = e.message;
  return j;
}

StreamMetadata metadata_from_json(const nlohmann::json& j) {
  StreamMetadata m;
  if (!j.is_object()) return m;
  m.station_name = j.value("station_name", std::string());
  m.now_playing = j.value("now_playing", std::string());
  m.url = j.value("url", std::string());
  m.genre = j.value("genre", std::string());
  if (j.contains("bitrate_kbps") && j["bitrate_kbps"].is_number_unsigned()) m.bitrate_kbps = j["bitrate_kbps"].get<unsigned>();
  return m;
}

}  // namespace joincast::media
