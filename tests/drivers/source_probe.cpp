// source_probe.cpp — drives media/source against real servers for the
// python tests: opens a station URL (or fetches a document) and prints
// what happens as JSON lines on stdout, optionally writing the audio bytes
// to a file so a test can compare them byte for byte.
//
//   source_probe stream URL [options]   events: opened, metadata, status, end, summary
//                                       (an HLS URL: opened kind "hls", then
//                                       played through HttpSource with --play-hls 1)
//   source_probe hls URL [options]      an HlsSource on its own: opened, metadata,
//                                       end, summary (content type, codec, and
//                                       whether its thread ended after stop())
//   source_probe fetch URL [options]    one line: status, bytes, or the failure
//   source_probe dvb RUNTIME_DIR --input UDP [--input UDP ...]
//       reads commands on stdin, one per line, answers one JSON line each:
//         add|remove "<dvblast tuning>" SID GROUP PORT IFINDEX
//         tuned        which carriers run, with pid and outputs
//         quit
//       a dvblast that dies on its own prints {"event":"dvb-failure",...}.
//
// Options: --out FILE, --seconds S (run at most this long), --until-bytes N,
// --until-reconnects N, --until-title TEXT, --response-ms, --stall-ms,
// --backoff-ms, --attempts, --ca FILE, --max-bytes N, --user-agent UA,
// --pause-ms N (pause the source after every delivery, resume N ms later),
// --play-hls 1, --max-buffered N (HLS queue for a paused sink).
#include "media/source/dvb/dvb_tuner.hpp"
#include "media/source/hls/hls_source.hpp"
#include "media/source/http/http_fetch.hpp"
#include "media/source/http_source.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <iostream>
#include <string>

using namespace joincast::media;
using nlohmann::json;

namespace {

void emit(const json& j) {
  std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
}

struct Options {
  std::string mode, url, out, until_title;
  double seconds = 10;
  std::uint64_t until_bytes = 0;
  unsigned until_reconnects = 0;
  std::size_t max_bytes = 1 << 20;
  long pause_ms = -1;  // >= 0: answer every delivery with Flow::pause, resume after this long
  bool play_hls = false;
  std::size_t max_buffered = 0;
  HttpOptions http;
};

// HLS threads of this process (by their name, from /proc/self/task).
long hls_threads() {
  long n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == kHlsThreadName) ++n;
  }
  return n;
}

class Sink final : public ByteSink {
 public:
  ByteSource* source = nullptr;
  unsigned pauses = 0;
  Sink(const Options& o, boost::asio::io_context& io) : o_(o), io_(io), timer_(io) {
    if (!o.out.empty()) file_.open(o.out, std::ios::binary | std::ios::trunc);
  }
  std::function<void()> on_bytes;
  Flow on_data(std::span<const std::byte> bytes) override {
    if (on_bytes && total_ == 0) on_bytes();
    total_ += bytes.size();
    if (file_) file_.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (o_.until_bytes && total_ >= o_.until_bytes) {
      file_.flush();
      io_.stop();
    }
    if (o_.pause_ms >= 0 && source && !resume_pending_) {
      resume_pending_ = true;
      ++pauses;
      timer_.expires_after(std::chrono::milliseconds(o_.pause_ms));
      timer_.async_wait([this](const boost::system::error_code& ec) {
        resume_pending_ = false;
        if (!ec && source) source->resume();
      });
      return Flow::pause;
    }
    return Flow::more;
  }
  void on_metadata(const StreamMetadata& m) override {
    json j = {{"event", "metadata"}, {"station_name", m.station_name}, {"now_playing", m.now_playing},
              {"url", m.url}, {"genre", m.genre}};
    if (m.bitrate_kbps) j["bitrate_kbps"] = *m.bitrate_kbps;
    emit(j);
    if (!o_.until_title.empty() && m.now_playing == o_.until_title) io_.stop();
  }
  void on_end(std::error_code why) override {
    emit({{"event", "end"}, {"error", why ? why.message() : ""}, {"code", why.value()}});
    ended_ = true;
    io_.stop();
  }
  std::uint64_t total() const { return total_; }
  void flush() { if (file_) file_.flush(); }

 private:
  const Options& o_;
  boost::asio::io_context& io_;
  std::ofstream file_;
  std::uint64_t total_ = 0;
  bool ended_ = false;
  boost::asio::steady_timer timer_;
  bool resume_pending_ = false;
};

int usage() {
  std::cerr << "usage: source_probe stream|hls|fetch URL [--out FILE] [--seconds S] [--until-bytes N]\n"
               "       [--until-reconnects N] [--until-title T] [--response-ms N] [--stall-ms N]\n"
               "       [--backoff-ms N] [--attempts N] [--ca FILE] [--max-bytes N] [--user-agent UA]\n"
               "       [--pause-ms N] [--play-hls 1] [--max-buffered N]\n";
  return 2;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ' ' && !quoted) {
      if (!cur.empty()) out.push_back(cur), cur.clear();
    } else cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int dvb_main(int argc, char** argv) {
  DvbTunerOptions options;
  options.runtime_dir = argv[2];
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--input") options.adapters.push_back({-1, 0, argv[i + 1]});
    else return usage();
  }
  boost::asio::io_context io;
  DvbTuner tuner(io.get_executor(), options);
  tuner.on_failure([](const DvbCarrier& c, const Error& f) {
    emit({{"event", "dvb-failure"}, {"carrier", c.describe()}, {"reason", f.message()}});
  });
  boost::asio::posix::stream_descriptor in(io, ::dup(0));
  boost::asio::streambuf buf;
  std::function<void()> next;
  next = [&] {
    boost::asio::async_read_until(in, buf, '\n', [&](const boost::system::error_code& ec, std::size_t n) {
      if (ec) {
        tuner.stop_all();
        return;
      }
      std::string line(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
      buf.consume(n);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      auto w = words(line);
      if (w.empty()) return next();
      if (w[0] == "quit") {
        tuner.stop_all();
        io.stop();
        return;
      }
      if (w[0] == "tuned") {
        json list = json::array();
        for (const auto& t : tuner.tuned()) {
          json outs = json::array();
          for (const auto& [sid, o] : t.outputs) outs.push_back({{"sid", sid}, {"target", o.dvblast_target()}});
          list.push_back({{"adapter", t.adapter}, {"carrier", t.carrier.describe()}, {"pid", t.pid}, {"ready", t.ready},
                          {"outputs", outs}});
        }
        emit({{"event", "tuned"}, {"carriers", list}});
        return next();
      }
      if ((w[0] == "add" || w[0] == "remove") && w.size() == 6) {
        auto carrier = parse_dvblast_command(w[1]);
        if (!carrier) {
          emit({{"event", w[0]}, {"ok", false}, {"reason", carrier.error().message()}});
          return next();
        }
        auto sid = static_cast<std::uint16_t>(std::stoul(w[2]));
        DvbOutput out{w[3], static_cast<std::uint16_t>(std::stoul(w[4])), static_cast<unsigned>(std::stoul(w[5])), 0};
        carrier.value().services.push_back({sid, "Service " + w[2]});
        auto done = [cmd = w[0], sid](const Error& f) {
          emit({{"event", cmd}, {"sid", sid}, {"ok", !f}, {"code", f ? f.code().message() : ""}, {"reason", f ? f.message() : std::string()}});
        };
        if (w[0] == "add") tuner.add_service(carrier.value(), sid, out, done);
        else tuner.remove_service(carrier.value(), sid, out, done);
        return next();
      }
      emit({{"event", "error"}, {"reason", "unknown command: " + line}});
      next();
    });
  };
  next();
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  if (std::string(argv[1]) == "dvb") return dvb_main(argc, argv);
  Options o;
  o.mode = argv[1];
  o.url = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    if (a == "--out") o.out = v;
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--until-bytes") o.until_bytes = std::stoull(v);
    else if (a == "--until-reconnects") o.until_reconnects = static_cast<unsigned>(std::stoul(v));
    else if (a == "--until-title") o.until_title = v;
    else if (a == "--response-ms") o.http.response_timeout = milliseconds(std::stol(v));
    else if (a == "--stall-ms") o.http.stall_timeout = milliseconds(std::stol(v));
    else if (a == "--backoff-ms") o.http.reconnect_initial = o.http.reconnect_max = milliseconds(std::stol(v));
    else if (a == "--backoff-initial-ms") o.http.reconnect_initial = milliseconds(std::stol(v));
    else if (a == "--backoff-max-ms") o.http.reconnect_max = milliseconds(std::stol(v));
    else if (a == "--attempts") o.http.reconnect_attempts = static_cast<unsigned>(std::stoul(v));
    else if (a == "--ca") o.http.ca_file = v;
    else if (a == "--max-bytes") o.max_bytes = std::stoull(v);
    else if (a == "--user-agent") o.http.user_agent = v;
    else if (a == "--pause-ms") o.pause_ms = std::stol(v);
    else if (a == "--play-hls") o.play_hls = v == "1";
    else if (a == "--max-buffered") o.max_buffered = std::stoull(v);
    else return usage();
  }

  boost::asio::io_context io;
  auto client = HttpClient::create(io.get_executor(), o.http);
  if (!client) {
    emit({{"event", "error"}, {"reason", client.error().message()}});
    return 1;
  }
  boost::asio::steady_timer deadline(io);
  deadline.expires_after(std::chrono::milliseconds(static_cast<long>(o.seconds * 1000)));
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) {
      emit({{"event", "deadline"}});
      io.stop();
    }
  });

  if (o.mode == "fetch") {
    fetch_document(client.value(), o.url, o.max_bytes, {}, [&](const Error& f, HttpDocument doc) {
      if (f) {
        emit({{"event", "failure"}, {"code", f.code().message()}, {"reason", f.message()}});
      } else {
        emit({{"event", "document"}, {"url", doc.url.to_string()}, {"status", doc.head.status},
              {"bytes", doc.body.size()}, {"content_type", std::string(doc.head.field("content-type"))}});
        if (!o.out.empty()) std::ofstream(o.out, std::ios::binary) << doc.body;
      }
      io.stop();
    });
    io.run();
    return 0;
  }
  if (o.mode != "stream" && o.mode != "hls") return usage();

  long most_hls_threads = 0;  // seen at once while the stream ran
  Sink sink(o, io);
  sink.on_bytes = [&] { most_hls_threads = std::max(most_hls_threads, hls_threads()); };
  std::unique_ptr<HttpSource> http_source;
  std::unique_ptr<HlsSource> hls_source;
  auto report_status = [&](const SourceStatus& s) {
    most_hls_threads = std::max(most_hls_threads, hls_threads());
    emit({{"event", "status"}, {"state", source_state_name(s.state)}, {"url", s.url}, {"reason", s.reason},
          {"reconnects", s.reconnects}, {"retry_ms", s.retry_in.count()}, {"hls", s.hls}});
    if (o.until_reconnects && s.reconnects >= o.until_reconnects && s.state == SourceStatus::State::waiting)
      io.stop();
  };
  if (o.mode == "hls") {
    HlsOptions h = hls_options(o.http);
    h.stall_timeout = o.http.stall_timeout;
    if (o.max_buffered) h.max_buffered = o.max_buffered;
    hls_source = std::make_unique<HlsSource>(io.get_executor(), o.url, h);
    sink.source = hls_source.get();
    hls_source->start(sink);
    emit({{"event", "opened"}, {"kind", "hls"}, {"url", o.url}});
  } else {
    open_stream(client.value(), o.url, [&](const Error& f, OpenedStream opened) {
      if (f) {
        emit({{"event", "failure"}, {"code", f.code().message()}, {"reason", f.message()}});
        io.stop();
        return;
      }
      if (auto* hls = std::get_if<HlsStream>(&opened)) {
        emit({{"event", "opened"}, {"kind", "hls"}, {"url", hls->url}});
        if (!o.play_hls) {
          io.stop();
          return;
        }
        http_source = std::make_unique<HttpSource>(client.value(), o.url, *hls);
      } else {
        http_source = std::move(std::get<std::unique_ptr<HttpSource>>(opened));
      }
      http_source->on_status(report_status);
      sink.source = http_source.get();
      http_source->start(sink);
      if (!std::holds_alternative<HlsStream>(opened))
        emit({{"event", "opened"}, {"kind", "stream"}, {"url", http_source->status().url},
              {"content_type", http_source->content_type()}});
    });
  }
  io.run();
  sink.flush();
  json summary = {{"event", "summary"}, {"bytes", sink.total()}, {"pauses", sink.pauses}};
  if (http_source) {
    const auto& s = http_source->status();
    summary["state"] = source_state_name(s.state);
    summary["reason"] = s.reason;
    summary["reconnects"] = s.reconnects;
    summary["hls"] = s.hls;
    summary["content_type"] = http_source->content_type();
    http_source->stop();
  }
  if (hls_source) {
    summary["content_type"] = hls_source->content_type();
    summary["codec"] = hls_source->codec();
    summary["reason"] = hls_source->failure_reason();
    hls_source->stop();
    // stop() returns at once; the thread must end on its own, promptly.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (hls_source->thread_running() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    summary["thread_running_after_stop"] = hls_source->thread_running();
  }
  if (http_source || hls_source) {
    // An HLS thread is gone a moment after it returned.
    for (int i = 0; i < 300 && hls_threads() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    summary["hls_threads_seen"] = most_hls_threads;
    summary["hls_threads_after_stop"] = hls_threads();
  }
  emit(summary);
  return 0;
}
