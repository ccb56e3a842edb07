// cmd_sessions.cpp — `joincast sessions`: the streams joincastd runs or
// tries to run, and how their listeners receive them.
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace joincast::tools {

namespace {

std::string duration_text(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", s / 60 - 0.5, std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", s / 3600 - 0.5, std::fmod(s / 60, 60));
}

int run(Context& ctx) {
  if (!ctx.args.empty()) throw CliError("unexpected argument \"" + ctx.args[0] + "\" (see joincast sessions --help)");
  auto answer = call_daemon(ctx, {{"cmd", "sessions"}});
  if (ctx.json) {
    print_json(answer);
    return 0;
  }
  const auto& list = answer["sessions"];
  if (list.empty()) {
    fmt::print("no sessions{}\n", answer.value("interface", std::string()).empty()
                                      ? " (sessions.interface is not configured: joins start no streams)"
                                      : "");
    return 0;
  }
  for (const auto& s : list) {
    std::string ifs;
    for (const auto& i : s["listener_interfaces"]) ifs += (ifs.empty() ? "" : ",") + i.get<std::string>();
    fmt::print("{}  {}  {} for {}  listeners on {}\n", s["group"].get<std::string>(), s["service"].get<std::string>(),
               s["state"].get<std::string>(), duration_text(s["since_s"].get<double>()), ifs.empty() ? "-" : ifs);
    if (s.contains("listeners")) {
      // Membership counts every host; RTCP only players that report.
      auto count = [](const nlohmann::json& v) { return v.is_number() ? std::to_string(v.get<unsigned>()) : "?"; };
      fmt::print("    listeners: {} by membership, {} reporting by RTCP\n", count(s["listeners"]["membership"]),
                 count(s["listeners"]["rtcp"]));
    }
    if (s.contains("reason"))
      fmt::print("    {}: {}{}\n", s["state"] == "running" ? "last problem" : "why", s["reason"].get<std::string>(),
                 s.contains("failures") ? fmt::format(" ({} failures)", s["failures"].get<int>()) : "");
    if (s.contains("source") && s["source"].contains("reason"))
      fmt::print("    source: {} ({} reconnects)\n", s["source"]["reason"].get<std::string>(),
                 s["source"]["reconnects"].get<int>());
    if (!s.contains("media")) continue;
    const auto& m = s["media"];
    fmt::print("    {} PT {}, {} RTP packets, {} SAP announcements{}\n", m.value("codec", std::string("?")),
               m.value("payload_type", -1), m.value("rtp_packets", 0), m.value("sap_announcements", 0),
               m.contains("metadata") && m["metadata"].contains("now_playing")
                   ? ", now playing: " + m["metadata"]["now_playing"].get<std::string>()
                   : "");
    if (m.contains("receivers")) {
      for (const auto& r : m["receivers"])
        fmt::print("    receiver {} at {}: {:.1f}% lost now, {} lost in all, jitter {:.2f} ms\n",
                   r.value("cname", std::string("?")), r.value("address", std::string("?")),
                   100.0 * r.value("fraction_lost", 0.0), r.value("cumulative_lost", 0), r.value("jitter_ms", 0.0));
    }
  }
  return 0;
}

}  // namespace

const Command sessions_command{
    "sessions", "list the streams: state, service, listeners, RTP and RTCP statistics",
    R"(Usage: joincast sessions [--json]

Lists every group joincastd streams or tries to stream. The state is one
of:
  starting   resolving the station, connecting, waiting for the first packet
  running    on air
  grace      the last listener left; stops when sessions.grace runs out
             unless one comes back
  retrying   failed (the reason is shown); retried with backoff while
             listeners remain
  failed     failed in a way no retry mends, such as a URL joincast cannot
             play (the reason is shown); not retried until its listeners
             leave or the configuration is reloaded
  waiting    not started: unknown group, refused by a policy, or over a
             session limit (the reason is shown)
For running sessions: codec and payload type, packets sent, SAP
announcements, now playing, and each listener that reports by RTCP with its
loss and jitter. Listeners are counted two ways ("listeners" in --json):
by membership (every host that joined, always known) and by RTCP (only
players that send receiver reports: GStreamer's rtpbin and joincast listen
do; ffmpeg, ffplay, mpv and VLC do not).)",
    run};

}  // namespace joincast::tools
