// http_source.cpp — see http_source.hpp.
#include "media/source/http_source.hpp"

#include "media/source/hls/hls_source.hpp"
#include "media/source/http/icy_metadata.hpp"
#include "media/source/http/sniff.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>

namespace joincast::media {

const char* source_state_name(SourceStatus::State state) {
  switch (state) {
    case SourceStatus::State::idle: return "idle";
    case SourceStatus::State::connecting: return "connecting";
    case SourceStatus::State::playing: return "playing";
    case SourceStatus::State::waiting: return "reconnecting";
    case SourceStatus::State::ended: return "ended";
    case SourceStatus::State::failed: return "failed";
    case SourceStatus::State::stopped: return "stopped";
  }
  return "?";
}

struct HttpSource::Impl : std::enable_shared_from_this<Impl> {
  using clock = std::chrono::steady_clock;

  // What the HLS source delivers passes through here on its way to the
  // session's sink: it marks the stream playing and merges metadata.
  struct HlsSink final : ByteSink {
    Impl* impl = nullptr;
    Flow on_data(std::span<const std::byte> bytes) override { return impl->on_hls_data(bytes); }
    void on_metadata(const StreamMetadata& m) override { impl->on_hls_metadata(m); }
    void on_end(std::error_code why) override { impl->on_hls_end(why); }
  };

  std::shared_ptr<HttpClient> client;
  std::string url;
  std::optional<LocatedStream> first;
  std::optional<HlsStream> first_hls;
  ByteSink* sink = nullptr;
  std::shared_ptr<HttpConnection> connection;
  std::unique_ptr<HlsSource> hls;
  HlsSink hls_sink;
  boost::asio::steady_timer timer;
  std::optional<IcyDemuxer> icy;
  StreamMetadata metadata;
  SourceStatus status;
  StatusHandler on_status;
  std::string content_type;
  clock::time_point playing_since;
  std::mt19937 random{std::random_device{}()};
  bool paused = false;
  bool stopped = false;
  bool finite = false;
  bool live = false;
  // Bumped for every connection, so late callbacks of an old one are ignored.
  unsigned generation = 0;

  Impl(std::shared_ptr<HttpClient> c, std::string u, std::optional<LocatedStream> f)
      : client(std::move(c)), url(std::move(u)), first(std::move(f)), timer(client->executor()) {
    status.url = url;
    hls_sink.impl = this;
  }

  void set_state(SourceStatus::State s) {
    status.state = s;
    if (on_status) on_status(status);
  }

  void connect() {
    if (stopped) return;
    set_state(SourceStatus::State::connecting);
    unsigned gen = ++generation;
    locate_stream(client, url, [self = shared_from_this(), gen](const Error& f, Location loc) {
      if (self->stopped || gen != self->generation) {
        if (auto* s = std::get_if<LocatedStream>(&loc); s && s->connection) s->connection->close();
        return;
      }
      if (f) return self->failed(f);
      if (auto* found = std::get_if<HlsStream>(&loc)) return self->play_hls(found->url);
      self->play(std::move(std::get<LocatedStream>(loc)));
    });
  }

  // ------------------------------------------------------------------ HLS

  // libavformat plays it on its own thread; the state stays "connecting"
  // until the first bytes arrive.
  void play_hls(const std::string& playlist) {
    status.url = playlist;
    status.hls = true;
    content_type.clear();
    finite = true;  // a clean end is the end of a VOD playlist; a live one that stops is an error
    live = false;   // segments arrive whole: not a byte stream's backlog
    hls = std::make_unique<HlsSource>(client->executor(), playlist, hls_options(client->options()));
    if (on_status) on_status(status);
    hls->start(hls_sink);
  }

  Flow on_hls_data(std::span<const std::byte> bytes) {
    if (stopped || !sink) return Flow::pause;
    if (status.state != SourceStatus::State::playing) {
      content_type = hls->content_type();  // known before the first bytes
      playing_since = clock::now();
      set_state(SourceStatus::State::playing);
      if (stopped || !sink) return Flow::pause;
    }
    if (sink->on_data(bytes) == Flow::pause) paused = true;
    return paused ? Flow::pause : Flow::more;
  }

  void on_hls_metadata(const StreamMetadata& m) {
    if (stopped) return;
    StreamMetadata next = metadata;
    if (!m.station_name.empty()) next.station_name = m.station_name;
    if (!m.now_playing.empty()) next.now_playing = m.now_playing;
    if (!m.genre.empty()) next.genre = m.genre;
    if (m.bitrate_kbps) next.bitrate_kbps = m.bitrate_kbps;
    update_metadata(next);
  }

  // Called from inside the HLS source's delivery, which touches nothing of
  // it afterwards: it may be destroyed here.
  void on_hls_end(std::error_code why) {
    if (stopped || !hls) return;
    std::string reason = hls->failure_reason();
    hls.reset();
    if (why && reason.empty()) reason = status.url + ": " + why.message();
    body_ended({why, reason});
  }

  // ----------------------------------------------------------------- HTTP

  void play(LocatedStream located) {
    connection = located.connection;
    const auto& head = connection->head();
    status.url = connection->url().to_string();
    status.hls = false;
    content_type = mime_essence(head.field("content-type"));
    finite = head.framed();
    std::size_t metaint = 0;
    std::string_view mi = head.field("icy-metaint");
    if (!mi.empty()) {
      auto [p, ec] = std::from_chars(mi.data(), mi.data() + mi.size(), metaint);
      // A metaint of 0 or a huge one is nonsense: treat the stream as
      // plain audio rather than cutting it at random places.
      if (ec != std::errc() || metaint == 0 || metaint > 1024 * 1024) metaint = 0;
    }
    icy.emplace(metaint);
    live = !finite || metaint > 0;
    StreamMetadata next = icy_header_metadata(head.field("icy-name"), head.field("icy-genre"),
                                              head.field("icy-url"), head.field("icy-br"));
    // The title of the previous connection stays until a block says otherwise.
    next.now_playing = metadata.now_playing;
    if (next.url.empty()) next.url = metadata.url;
    update_metadata(next);
    if (stopped) return;
    playing_since = clock::now();
    set_state(SourceStatus::State::playing);
    if (stopped) return;
    unsigned gen = generation;
    auto weak = weak_from_this();
    if (!located.prefix.empty()) {
      on_bytes(std::as_bytes(std::span<const char>(located.prefix.data(), located.prefix.size())));
      if (stopped || gen != generation) return;
    }
    if (located.complete) {
      connection.reset();
      boost::asio::post(client->executor(), [weak, gen] {
        if (auto self = weak.lock(); self && gen == self->generation && !self->stopped) self->body_ended({});
      });
      return;
    }
    connection->read_body(
        [weak, gen](std::span<const std::byte> bytes) {
          auto self = weak.lock();
          if (!self || self->stopped || gen != self->generation) return Flow::pause;
          return self->on_bytes(bytes);
        },
        [weak, gen](const Error& f) {
          auto self = weak.lock();
          if (!self || self->stopped || gen != self->generation) return;
          self->body_ended(f);
        });
  }

  Flow on_bytes(std::span<const std::byte> bytes) {
    unsigned gen = generation;
    std::error_code ec = icy->feed(
        bytes,
        [&](std::span<const std::byte> audio) {
          if (stopped || gen != generation) return;
          if (sink->on_data(audio) == Flow::pause) paused = true;
        },
        [&](const IcyBlock& block) {
          if (stopped || gen != generation) return;
          StreamMetadata next = metadata;
          if (block.title) next.now_playing = *block.title;
          if (block.url) next.url = *block.url;
          update_metadata(next);
        });
    if (ec && !stopped && gen == generation) {
      auto bad = connection;
      // Out of step: reconnecting is the only way back into step.
      boost::asio::post(client->executor(), [self = shared_from_this(), gen, bad] {
        if (self->stopped || gen != self->generation) return;
        if (bad) bad->close();
        self->failed({make_error_code(SourceErrc::icy_metadata_corrupt),
                      self->status.url + ": ICY metadata block at byte " + std::to_string(self->icy->audio_bytes()) +
                          " of audio is not metadata (wrong icy-metaint or a block length that lies)"});
      });
      return Flow::pause;
    }
    return paused ? Flow::pause : Flow::more;
  }

  void update_metadata(const StreamMetadata& next) {
    if (next == metadata) return;
    metadata = next;
    if (sink) sink->on_metadata(metadata);
  }

  void body_ended(const Error& f) {
    connection.reset();
    if (f) return failed(f);
    if (finite) {
      set_state(SourceStatus::State::ended);
      ++generation;
      stopped = true;
      if (sink) sink->on_end({});
      return;
    }
    failed({make_error_code(SourceErrc::connection_closed), status.url + ": server closed the stream"});
  }

  void failed(const Error& f) {
    if (stopped) return;
    ++generation;
    if (connection) {
      connection->close();
      connection.reset();
    }
    hls.reset();
    const auto& o = client->options();
    if (status.state == SourceStatus::State::playing && clock::now() - playing_since >= o.reconnect_reset)
      status.failures_in_row = 0;
    status.reason = f.message();
    ++status.failures_in_row;
    if (is_permanent(f.code())) {
      // The URL is wrong: another attempt would fail the same way.
      stopped = true;
      set_state(SourceStatus::State::failed);
      if (sink) sink->on_end(f.code());
      return;
    }
    if (o.reconnect_attempts != 0 && status.failures_in_row > o.reconnect_attempts) {
      stopped = true;
      status.reason = "gave up after " + std::to_string(o.reconnect_attempts) + " attempts: " + status.reason;
      set_state(SourceStatus::State::failed);
      if (sink) sink->on_end(f.code());
      return;
    }
    // Equal jitter: half the backoff fixed, half random, so that stations
    // dropped together (an uplink outage) do not reconnect in lockstep.
    double exp = std::min(30.0, static_cast<double>(status.failures_in_row - 1));
    double cap = static_cast<double>(o.reconnect_max.count());
    double d = std::min(cap, static_cast<double>(o.reconnect_initial.count()) * std::pow(2.0, exp));
    std::uniform_real_distribution<double> jitter(d / 2, d);
    status.retry_in = milliseconds(static_cast<std::int64_t>(jitter(random)));
    ++status.reconnects;
    set_state(SourceStatus::State::waiting);
    timer.expires_after(status.retry_in);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      self->status.retry_in = milliseconds(0);
      self->connect();
    });
  }

  void stop() {
    stopped = true;
    ++generation;
    timer.cancel();
    if (connection) connection->close();
    connection.reset();
    hls.reset();  // interrupts libavformat; its thread ends on its own
    if (first && first->connection) first->connection->close();
    first.reset();
    first_hls.reset();
    sink = nullptr;
    if (status.state != SourceStatus::State::ended && status.state != SourceStatus::State::failed)
      status.state = SourceStatus::State::stopped;
  }
};

HttpSource::HttpSource(std::shared_ptr<HttpClient> client, std::string url, std::optional<LocatedStream> first)
    : impl_(std::make_shared<Impl>(std::move(client), std::move(url), std::move(first))) {}

HttpSource::HttpSource(std::shared_ptr<HttpClient> client, std::string url, HlsStream first)
    : impl_(std::make_shared<Impl>(std::move(client), std::move(url), std::nullopt)) {
  impl_->first_hls = std::move(first);
}

HttpSource::~HttpSource() { impl_->stop(); }

void HttpSource::start(ByteSink& sink) {
  impl_->sink = &sink;
  impl_->stopped = false;
  if (impl_->first) {
    LocatedStream first = std::move(*impl_->first);
    impl_->first.reset();
    ++impl_->generation;
    impl_->set_state(SourceStatus::State::connecting);
    impl_->play(std::move(first));
  } else if (impl_->first_hls) {
    std::string playlist = impl_->first_hls->url;
    impl_->first_hls.reset();
    ++impl_->generation;
    impl_->set_state(SourceStatus::State::connecting);
    impl_->play_hls(playlist);
  } else {
    impl_->connect();
  }
}

void HttpSource::resume() {
  if (!impl_->paused || impl_->stopped) return;
  impl_->paused = false;
  if (impl_->hls) impl_->hls->resume();
  else if (impl_->connection) impl_->connection->resume();
}

void HttpSource::stop() { impl_->stop(); }

std::string HttpSource::content_type() const { return impl_->content_type; }
std::string HttpSource::describe() const { return impl_->url; }
bool HttpSource::live() const { return impl_->live && !impl_->status.hls; }
std::string HttpSource::failure_reason() const {
  return impl_->status.state == SourceStatus::State::failed ? impl_->status.reason : std::string();
}
const SourceStatus& HttpSource::status() const { return impl_->status; }
const StreamMetadata& HttpSource::metadata() const { return impl_->metadata; }
void HttpSource::on_status(StatusHandler handler) { impl_->on_status = std::move(handler); }

void open_stream(std::shared_ptr<HttpClient> client, const std::string& url, OpenStreamHandler done) {
  locate_stream(client, url, [client, url, done = std::move(done)](const Error& f, Location loc) {
    if (f) return done(f, {});
    if (auto* hls = std::get_if<HlsStream>(&loc)) return done({}, *hls);
    done({}, std::make_unique<HttpSource>(client, url, std::move(std::get<LocatedStream>(loc))));
  });
}

}  // namespace joincast::media
