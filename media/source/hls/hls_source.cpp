// hls_source.cpp — see hls_source.hpp.
#include "media/source/hls/hls_source.hpp"

#include "media/ffmpeg_ptr.hpp"
#include "media/source/hls/hls_remuxer.hpp"
#include "media/source/http/http_error.hpp"

extern "C" {
#include <libavutil/dict.h>
}

#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <pthread.h>

namespace joincast::media {

using Clock = std::chrono::steady_clock;

HlsOptions hls_options(const HttpOptions& http) {
  HlsOptions o;
  o.user_agent = http.user_agent;
  o.io_timeout = http.response_timeout;
  o.stall_timeout = std::max<std::chrono::milliseconds>(2 * http.stall_timeout, std::chrono::seconds(10));
  o.verify_tls = http.verify_tls;
  o.ca_file = http.ca_file;
  return o;
}

struct HlsSource::State : std::enable_shared_from_this<State> {
  boost::asio::any_io_executor executor;
  std::string url;
  HlsOptions options;

  // Shared by the thread and the executor, under mutex.
  mutable std::mutex mutex;
  std::condition_variable room;  // the thread waits here while the queue is full
  std::deque<std::vector<std::byte>> queue;
  std::size_t queued = 0;
  bool drain_posted = false;
  bool stopped = false;  // set by stop(): the thread posts nothing after it
  std::optional<StreamMetadata> metadata;  // to deliver
  std::optional<Error> end;         // the thread's outcome, to deliver
  std::string content_type;
  std::string codec;
  std::string failure;
  bool thread_running = false;

  // Read by libavformat's interrupt callback on the thread.
  std::atomic<bool> interrupt{false};

  // Executor only.
  ByteSink* sink = nullptr;
  bool paused = false;
  bool started = false;

  // Thread only.
  Clock::time_point deadline;  // the stall watchdog
  bool stalled = false;
  std::string last_io_error;   // the last URL libavformat could not open
  std::vector<std::byte> pending;  // remuxer output of the current packet

  static int interrupted(void* opaque);
  static int open_io(AVFormatContext* s, AVIOContext** pb, const char* url, int flags, AVDictionary** options);

  void run();
  Error play();
  Error fail(std::error_code code, const std::string& what) const;
  // A failure whose Error carries the message, if it has one.
  Error fail(const Error& e) const { return fail(e, e.has_message() ? e.message() : std::string()); }
  bool deliver(StreamMetadata* metadata);
  void post_drain_locked();
  static void drain(const std::shared_ptr<State>& self);
};

// ----------------------------------------------------------- the thread

int HlsSource::State::interrupted(void* opaque) {
  auto* s = static_cast<State*>(opaque);
  if (s->interrupt.load(std::memory_order_relaxed)) return 1;
  if (Clock::now() > s->deadline) {
    s->stalled = true;
    return 1;
  }
  return 0;
}

// Every URL the HLS demuxer opens (the playlist, variant playlists,
// segments, keys) comes through here: our whitelist, timeouts, User-Agent
// and TLS trust apply to all of them, not only to the first request
// (libavformat hands only a few options on to the requests it makes).
int HlsSource::State::open_io(AVFormatContext* s, AVIOContext** pb, const char* url, int flags,
                              AVDictionary** options) {
  auto* self = static_cast<State*>(s->opaque);
  AVDictionary* opts = nullptr;
  if (options) av_dict_copy(&opts, *options, 0);
  av_dict_set(&opts, "protocol_whitelist", kHlsProtocols, 0);
  av_dict_set_int(&opts, "rw_timeout", static_cast<std::int64_t>(self->options.io_timeout.count()) * 1000, 0);
  av_dict_set(&opts, "user_agent", self->options.user_agent.c_str(), 0);
  av_dict_set(&opts, "icy", "0", 0);  // segments are files: no ICY metadata inside them, please
  av_dict_set(&opts, "tls_verify", self->options.verify_tls ? "1" : "0", 0);
  if (!self->options.ca_file.empty()) av_dict_set(&opts, "ca_file", self->options.ca_file.c_str(), 0);
  int r = avio_open2(pb, url, flags, &s->interrupt_callback, &opts);
  av_dict_free(&opts);
  if (r < 0 && r != AVERROR_EXIT) self->last_io_error = fmt::format("{}: {}", url, av_error(r).message());
  return r;
}

Error HlsSource::State::fail(std::error_code code, const std::string& what) const {
  std::string reason = url + ": " + what;
  // Name the request that failed, unless it was the playlist itself.
  if (!last_io_error.empty() && last_io_error.rfind(url + ": ", 0) != 0)
    reason += "; the last request that failed: " + last_io_error;
  return {code, reason};
}

void HlsSource::State::post_drain_locked() {
  if (drain_posted || stopped) return;
  drain_posted = true;
  boost::asio::post(executor, [self = shared_from_this()] { drain(self); });
}

// Queues what the remuxer produced for the sink; blocks while the queue
// is full (the sink paused us). False once stopped.
bool HlsSource::State::deliver(StreamMetadata* next_metadata) {
  std::unique_lock lock(mutex);
  if (next_metadata) metadata = *next_metadata;
  if (!pending.empty()) {
    room.wait(lock, [&] { return stopped || queued < options.max_buffered; });
    if (stopped) return false;
    queued += pending.size();
    queue.push_back(std::move(pending));
    pending.clear();
  }
  if (next_metadata || !queue.empty()) post_drain_locked();
  return !stopped;
}

void HlsSource::State::run() {
  // Named, so that an operator (top -H) and the tests can tell it.
  pthread_setname_np(pthread_self(), kHlsThreadName);
  Error outcome = play();
  std::lock_guard lock(mutex);
  thread_running = false;
  if (stopped) return;
  if (outcome) failure = outcome.message();
  end = outcome;
  post_drain_locked();
}

Error HlsSource::State::play() {
  deadline = Clock::now() + options.stall_timeout;
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) return fail(errno_error(ENOMEM), "out of memory");
  raw->interrupt_callback = {&State::interrupted, this};
  raw->opaque = this;
  raw->io_open = &State::open_io;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "protocol_whitelist", kHlsProtocols, 0);
  const AVInputFormat* hls = av_find_input_format("hls");
  if (!hls) {
    avformat_free_context(raw);
    return fail(errno_error(ENOTSUP), "this FFmpeg build has no HLS demuxer");
  }
  // On failure avformat_open_input frees the context.
  int r = avformat_open_input(&raw, url.c_str(), hls, &opts);
  av_dict_free(&opts);
  auto stall_failure = [&] {
    return fail(make_error_code(SourceErrc::stalled),
                fmt::format("no audio from the HLS stream for {} s", options.stall_timeout.count() / 1000));
  };
  if (r < 0) {
    if (interrupt) return {};
    if (stalled) return stall_failure();
    // The demuxer ran out of segments while probing the first one.
    if (r == AVERROR_EOF) return fail(av_error(r), "none of the HLS playlist's segments could be read");
    return fail(av_error(r), "libavformat cannot open it as HLS: " + av_error(r).message());
  }
  InputContextPtr input(raw);

  // Wait for an audio stream: MPEG-TS segments may announce theirs only
  // with the first packets.
  PacketPtr packet = make_packet();
  if (!packet) return fail(errno_error(ENOMEM), "out of memory");
  int chosen = choose_hls_audio_stream(*input);
  for (int skipped = 0; chosen < 0 && skipped < 1000; ++skipped) {
    r = av_read_frame(input.get(), packet.get());
    if (r < 0) break;
    av_packet_unref(packet.get());
    chosen = choose_hls_audio_stream(*input);
  }
  if (chosen < 0) {
    if (interrupt) return {};
    if (stalled) return stall_failure();
    if (r < 0 && r != AVERROR_EOF)
      return fail(av_error(r), "reading the HLS stream failed: " + av_error(r).message());
    std::string found;
    for (unsigned i = 0; i < input->nb_streams; ++i)
      found += std::string(found.empty() ? "" : ", ") + avcodec_get_name(input->streams[i]->codecpar->codec_id);
    return fail(av_error(AVERROR_STREAM_NOT_FOUND),
                "the HLS stream has no audio" + (found.empty() ? std::string() : " (only " + found + ")"));
  }
  // The other variants' playlists are no longer fetched.
  for (unsigned i = 0; i < input->nb_streams; ++i)
    input->streams[i]->discard = static_cast<int>(i) == chosen ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  AVStream* stream = input->streams[chosen];

  std::unique_ptr<HlsRemuxer> remuxer;
  StreamMetadata reported;
  for (;;) {
    r = av_read_frame(input.get(), packet.get());
    if (r < 0) {
      if (interrupt) return {};
      if (stalled) return stall_failure();
      if (r != AVERROR_EOF) return fail(av_error(r), "reading the HLS stream failed: " + av_error(r).message());
      // A playlist with EXT-X-ENDLIST has a duration: its end is an end.
      // A live one that ends stopped growing, or lost its segments.
      if (input->duration == AV_NOPTS_VALUE)
        return fail(make_error_code(SourceErrc::connection_closed),
                    "the live HLS stream ended (its playlist stopped growing or its segments are gone)");
      if (remuxer) {
        if (auto f = remuxer->finish(); !f) return fail(f.error());
        deliver(nullptr);
      }
      return {};
    }
    if (packet->stream_index != chosen || packet->size == 0) {
      av_packet_unref(packet.get());
      continue;
    }
    deadline = Clock::now() + options.stall_timeout;
    if (!remuxer) {
      auto collect = [this](std::span<const std::byte> bytes) {
        pending.insert(pending.end(), bytes.begin(), bytes.end());
      };
      auto created = HlsRemuxer::create(*stream, collect);
      if (!created) return fail(created.error());
      remuxer = std::move(created).value();
    }
    std::optional<StreamMetadata> changed;
    if (reported == StreamMetadata{} || (stream->event_flags & AVSTREAM_EVENT_FLAG_METADATA_UPDATED)) {
      stream->event_flags &= ~AVSTREAM_EVENT_FLAG_METADATA_UPDATED;
      StreamMetadata m = hls_stream_metadata(stream->metadata);
      if (m != reported) changed = reported = m;
    }
    bool was_started = remuxer->started();
    if (auto w = remuxer->write(*packet); !w) return fail(w.error());
    if (!was_started && remuxer->started()) {
      // Known before the first bytes reach the sink, which asks for it then.
      std::lock_guard lock(mutex);
      content_type = remuxer->target().content_type;
      codec = remuxer->codec();
    }
    if (!deliver(changed ? &*changed : nullptr)) return {};
    // Time spent waiting for a paused sink is not a stall.
    deadline = Clock::now() + options.stall_timeout;
  }
}

// ---------------------------------------------------------- the executor

void HlsSource::State::drain(const std::shared_ptr<State>& self) {
  for (;;) {
    std::vector<std::byte> chunk;
    std::optional<StreamMetadata> metadata;
    std::optional<Error> end;
    {
      std::lock_guard lock(self->mutex);
      if (self->stopped || !self->sink) {
        self->drain_posted = false;
        return;
      }
      if (self->metadata) {
        metadata = std::move(self->metadata);
        self->metadata.reset();
      } else if (self->paused) {
        self->drain_posted = false;
        return;
      } else if (!self->queue.empty()) {
        chunk = std::move(self->queue.front());
        self->queue.pop_front();
        self->queued -= chunk.size();
        self->room.notify_one();
      } else if (self->end) {
        end = std::move(self->end);
        self->end.reset();
        self->drain_posted = false;
      } else {
        self->drain_posted = false;
        return;
      }
    }
    // The sink may stop (and destroy) the source inside any of these
    // calls; self keeps the state alive and stopped says so.
    if (metadata) {
      self->sink->on_metadata(*metadata);
    } else if (!chunk.empty()) {
      if (self->sink->on_data(chunk) == Flow::pause) self->paused = true;
    } else if (end) {
      ByteSink* sink = self->sink;
      self->sink = nullptr;
      sink->on_end(end->code());
      return;
    }
  }
}

// ------------------------------------------------------------ the object

HlsSource::HlsSource(boost::asio::any_io_executor executor, std::string url, HlsOptions options)
    : state_(std::make_shared<State>()) {
  state_->executor = std::move(executor);
  state_->url = std::move(url);
  state_->options = std::move(options);
  if (state_->options.max_buffered == 0) state_->options.max_buffered = 64 * 1024;
}

HlsSource::~HlsSource() { stop(); }

void HlsSource::start(ByteSink& sink) {
  if (state_->started) return;
  state_->started = true;
  state_->sink = &sink;
  {
    std::lock_guard lock(state_->mutex);
    state_->thread_running = true;
  }
  // Detached: stop() must not wait for a blocking network call on a media
  // worker. The thread owns a reference to the state and, after stop(),
  // touches nothing but it; the interrupt callback ends it within about
  // 100 ms (libavformat polls it that often while it waits).
  std::thread([state = state_] { state->run(); }).detach();
}

void HlsSource::resume() {
  if (!state_->paused) return;
  state_->paused = false;
  std::lock_guard lock(state_->mutex);
  state_->post_drain_locked();
}

void HlsSource::stop() {
  state_->sink = nullptr;
  state_->interrupt = true;
  std::lock_guard lock(state_->mutex);
  state_->stopped = true;
  state_->queue.clear();
  state_->queued = 0;
  state_->room.notify_all();
}

std::string HlsSource::content_type() const {
  std::lock_guard lock(state_->mutex);
  return state_->content_type;
}

std::string HlsSource::describe() const { return state_->url; }

std::string HlsSource::failure_reason() const {
  std::lock_guard lock(state_->mutex);
  return state_->failure;
}

std::string HlsSource::codec() const {
  std::lock_guard lock(state_->mutex);
  return state_->codec;
}

bool HlsSource::thread_running() const {
  std::lock_guard lock(state_->mutex);
  return state_->thread_running;
}

}  // namespace joincast::media
