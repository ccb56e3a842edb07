// media_driver.cpp — drives joincast::media::MediaEngine for the netns
// tests and the benchmarks: one process, many sessions, commanded by JSON
// lines on stdin (one answer line each on stdout; session events are
// printed as lines with an "event" key).
//
//   {"cmd":"start","group":"ff3e:40:2001:db8:d0be:f00d:8000:0","interface":"eth0",
//    "source":{"type":"file","path":"a.mp3","loop":true}}        -> {"ok":true,"session":1,"t_ns":...}
//   source types: file {path, loop, content_type}, tone {codec, frequency, bitrate},
//                 udp {address, port, interface, source, payload, content_type}
//   optional: metadata {station_name, now_playing, url}, hop_limit, multicast_loop, source_address,
//             content_type, sap {interval_ms, well_known, well_known_min_interval_ms},
//             receiver_timeout_ms, cname
//   {"cmd":"stats","session":1}   {"cmd":"stats"}   {"cmd":"metadata","session":1,"metadata":{...}}
//   {"cmd":"listener","session":1}   {"cmd":"stop","session":1}
//   {"cmd":"wait","session":1,"event":"started","timeout_ms":5000}
//   {"cmd":"summary"}  (aggregate counters of all sessions)   {"cmd":"quit"}
//
// t_ns values are CLOCK_MONOTONIC nanoseconds, comparable with Python's
// time.monotonic_ns() in the same machine.
#include "media/engine/media_engine.hpp"
#include "media/source/file_source.hpp"
#include "media/source/test_tone_source.hpp"
#include "media/source/udp_source.hpp"
#include "media/engine/stats_json.hpp"

#include <sys/resource.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace joincast::media;
using nlohmann::json;

namespace {

std::mutex g_out;
std::mutex g_events_mutex;
std::condition_variable g_events_cv;
std::vector<SessionEvent> g_events;

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void print(const json& j) {
  std::lock_guard lock(g_out);
  std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
}

json fail(const std::string& why) { return {{"ok", false}, {"error", why}}; }

MediaEngine::SourceFactory source_factory(const json& s, std::string& error) {
  std::string type = s.value("type", "");
  if (type == "file") {
    FileSourceOptions o;
    o.loop = s.value("loop", false);
    o.content_type = s.value("content_type", "");
    std::string path = s.value("path", "");
    return [path, o](boost::asio::any_io_executor ex) -> Result<std::unique_ptr<ByteSource>> {
      auto f = FileSource::open(std::move(ex), path, o);
      if (!f) return joincast::Error(f.error(), "cannot open " + path + ": " + f.error().message());
      return std::unique_ptr<ByteSource>(std::move(f.value()));
    };
  }
  if (type == "tone") {
    ToneOptions o;
    auto codec = parse_tone_codec(s.value("codec", "mp3"));
    if (!codec) {
      error = "unknown tone codec " + s.value("codec", "");
      return nullptr;
    }
    o.codec = *codec;
    o.frequency_hz = s.value("frequency", 440.0);
    o.bitrate = s.value("bitrate", 128000u);
    o.sample_rate = s.value("sample_rate", 0u);
    o.channels = s.value("channels", 2u);
    return [o](boost::asio::any_io_executor ex) -> Result<std::unique_ptr<ByteSource>> {
      auto t = TestToneSource::create(std::move(ex), o);
      if (!t) return t.error();
      return std::unique_ptr<ByteSource>(std::move(t.value()));
    };
  }
  if (type == "udp") {
    UdpSourceOptions o;
    boost::system::error_code ec;
    o.address = boost::asio::ip::make_address(s.value("address", ""), ec);
    if (ec) {
      error = "bad udp address";
      return nullptr;
    }
    o.port = s.value("port", std::uint16_t{0});
    o.interface = s.value("interface", "");
    if (s.contains("source")) o.source = boost::asio::ip::make_address(s.value("source", ""), ec);
    std::string payload = s.value("payload", "auto");
    o.payload = payload == "raw"   ? UdpSourceOptions::Payload::raw
                : payload == "rtp" ? UdpSourceOptions::Payload::rtp
                                   : UdpSourceOptions::Payload::automatic;
    o.content_type = s.value("content_type", "");
    return [o](boost::asio::any_io_executor ex) -> Result<std::unique_ptr<ByteSource>> {
      auto u = UdpSource::open(std::move(ex), o);
      if (!u) return u.error();
      return std::unique_ptr<ByteSource>(std::move(u.value()));
    };
  }
  error = "unknown source type \"" + type + "\"";
  return nullptr;
}

json start(MediaEngine& engine, const json& req) {
  auto t = monotonic_ns();
  SessionConfig c;
  boost::system::error_code ec;
  c.group = boost::asio::ip::make_address(req.value("group", ""), ec);
  if (ec) return fail("bad group address \"" + req.value("group", "") + "\"");
  c.interface = req.value("interface", "");
  if (req.contains("source_address")) {
    c.source_address = boost::asio::ip::make_address(req.value("source_address", ""), ec);
    if (ec) return fail("bad source address");
  }
  c.hop_limit = req.value("hop_limit", 16u);
  c.multicast_loop = req.value("multicast_loop", false);
  c.content_type = req.value("content_type", "");
  c.cname = req.value("cname", "");
  if (req.contains("metadata")) c.metadata = metadata_from_json(req["metadata"]);
  if (req.contains("sap")) {
    const auto& s = req["sap"];
    c.sap.interval = std::chrono::milliseconds(s.value("interval_ms", 5000));
    c.sap.well_known_group = s.value("well_known", false);
    c.sap.well_known_min_interval = std::chrono::milliseconds(s.value("well_known_min_interval_ms", 300000));
  }
  c.receiver_timeout = std::chrono::milliseconds(req.value("receiver_timeout_ms", 30000));
  std::string error;
  auto factory = source_factory(req.value("source", json::object()), error);
  if (!factory) return fail(error);
  auto id = engine.start(std::move(c), factory);
  if (!id) return fail(id.error().message());
  return {{"ok", true}, {"session", id.value()}, {"t_ns", t}};
}

json wait_event(const json& req) {
  SessionId id = req.value("session", SessionId{0});
  std::string kind = req.value("event", "started");
  auto timeout = std::chrono::milliseconds(req.value("timeout_ms", 10000));
  std::unique_lock lock(g_events_mutex);
  const SessionEvent* found = nullptr;
  bool ok = g_events_cv.wait_for(lock, timeout, [&] {
    for (const auto& e : g_events)
      if (e.id == id && kind == to_string(e.kind)) {
        found = &e;
        return true;
      }
    return false;
  });
  if (!ok) return fail("timed out waiting for " + kind);
  json j = to_json(*found);
  j["ok"] = true;
  return j;
}

json summary(MediaEngine& engine, const EngineOptions& options) {
  json j = {{"ok", true}};
  std::uint64_t packets = 0, errors = 0, rebases = 0, running = 0, failed = 0;
  for (const auto& s : engine.stats()) {
    packets += s.rtp_packets;
    errors += s.send_errors;
    rebases += s.late_rebases;
    running += s.state == SessionState::running;
    failed += s.state == SessionState::failed;
  }
  j["sessions"] = engine.session_count();
  j["running"] = running;
  j["failed"] = failed;
  j["rtp_packets"] = packets;
  j["send_errors"] = errors;
  j["late_rebases"] = rebases;
  j["threads"] = engine.threads();
  j["sender"] = engine.sender_note().empty() ? "io_uring" : engine.sender_note();
  j["lead_ms"] = options.lead.count();
  j["send_window_us"] = options.send_window.count();
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  EngineOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) options.threads = static_cast<unsigned>(std::stoul(argv[++i]));
    else if (a == "--lead-ms" && i + 1 < argc) options.lead = std::chrono::milliseconds(std::stol(argv[++i]));
    else if (a == "--window-us" && i + 1 < argc) options.send_window = std::chrono::microseconds(std::stol(argv[++i]));
    else if (a == "--sendmmsg") options.ring_entries = 0;
    else {
      std::fprintf(stderr, "usage: media_driver [--threads N] [--lead-ms MS] [--window-us US] [--sendmmsg] < commands.jsonl\n");
      return 2;
    }
  }
  // Many sessions need many sockets: take the hard limit.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  options.on_event = [](const SessionEvent& e) {
    {
      std::lock_guard lock(g_events_mutex);
      g_events.push_back(e);
    }
    g_events_cv.notify_all();
    json j = to_json(e);
    j["t_ns"] = monotonic_ns();
    print(j);
  };
  options.ffmpeg_log = [](int, std::string_view text) { std::fprintf(stderr, "ffmpeg: %.*s\n", static_cast<int>(text.size()), text.data()); };
  auto engine = MediaEngine::create(options);
  if (!engine) {
    std::fprintf(stderr, "media_driver: %s\n", engine.error().message().c_str());
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json req;
    try {
      req = json::parse(line);
    } catch (const json::exception& e) {
      print(fail(std::string("bad JSON: ") + e.what()));
      continue;
    }
    std::string cmd = req.value("cmd", "");
    auto& e = *engine.value();
    SessionId id = req.value("session", SessionId{0});
    json answer;
    if (cmd == "start") answer = start(e, req);
    else if (cmd == "stats" && req.contains("session")) {
      auto s = e.stats(id);
      answer = s ? json{{"ok", true}, {"stats", to_json(s.value())}} : fail("no such session");
    } else if (cmd == "stats") {
      json all = json::array();
      for (const auto& s : e.stats()) all.push_back(to_json(s));
      answer = {{"ok", true}, {"sessions", all}};
    } else if (cmd == "metadata") {
      auto r = e.update_metadata(id, metadata_from_json(req.value("metadata", json::object())));
      answer = r ? json{{"ok", true}, {"t_ns", monotonic_ns()}} : fail("no such session");
    } else if (cmd == "listener") {
      auto t = monotonic_ns();
      auto r = e.listener_appeared(id);
      answer = r ? json{{"ok", true}, {"t_ns", t}} : fail("no such session");
    } else if (cmd == "stop") {
      auto t = monotonic_ns();
      auto r = e.stop(id);
      answer = r ? json{{"ok", true}, {"t_ns", t}} : fail("no such session");
    } else if (cmd == "wait") answer = wait_event(req);
    else if (cmd == "summary") answer = summary(e, options);
    else if (cmd == "quit") {
      print({{"ok", true}});
      break;
    } else answer = fail("unknown command \"" + cmd + "\"");
    print(answer);
  }
  engine.value().reset();
  return 0;
}
