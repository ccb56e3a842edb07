// test_tone_source.cpp — live-encoded tone, paced by the pipeline's flow control.
#include "media/source/test_tone_source.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <vector>

namespace joincast::media {

struct TestToneSource::State {
  boost::asio::any_io_executor executor;
  std::unique_ptr<ToneEncoder> encoder;
  ByteSink* sink = nullptr;
  bool running = false;
  bool stopped = false;
  std::vector<std::byte> buffer;
  TestToneTitles titles;
  unsigned title_number = 0;
  std::unique_ptr<boost::asio::steady_timer> title_timer;
};

Result<std::unique_ptr<TestToneSource>> TestToneSource::create(boost::asio::any_io_executor executor,
                                                               const ToneOptions& options, TestToneTitles titles) {
  auto encoder = ToneEncoder::create(options);
  if (!encoder) return encoder.error();
  auto state = std::make_shared<State>();
  state->executor = std::move(executor);
  state->encoder = std::move(encoder.value());
  state->titles = titles;
  return std::unique_ptr<TestToneSource>(new TestToneSource(std::move(state)));
}

TestToneSource::~TestToneSource() { stop(); }

std::string TestToneSource::content_type() const { return state_->encoder->content_type(); }

std::string TestToneSource::describe() const { return "test tone: " + state_->encoder->describe(); }

void TestToneSource::start(ByteSink& sink) {
  state_->sink = &sink;
  // What it plays, but no station name: that is its directory's to give
  // (a session without one falls back to describe()).
  StreamMetadata m;
  m.now_playing = state_->encoder->describe();
  if (state_->titles.cycle) {
    m.now_playing = "Test title " + std::to_string(++state_->title_number);
    state_->title_timer = std::make_unique<boost::asio::steady_timer>(state_->executor);
    next_title(state_);
  }
  sink.on_metadata(m);
  state_->running = true;
  boost::asio::post(state_->executor, [s = state_] { produce(s); });
}

void TestToneSource::next_title(const std::shared_ptr<State>& state) {
  state->title_timer->expires_after(state->titles.every);
  state->title_timer->async_wait([weak = std::weak_ptr<State>(state)](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s || s->stopped || !s->sink) return;
    StreamMetadata m;
    m.now_playing = "Test title " + std::to_string(++s->title_number);
    s->sink->on_metadata(m);
    if (!s->stopped) next_title(s);
  });
}

void TestToneSource::resume() {
  if (state_->stopped || state_->running || !state_->sink) return;
  state_->running = true;
  boost::asio::post(state_->executor, [s = state_] { produce(s); });
}

void TestToneSource::stop() {
  state_->stopped = true;
  state_->sink = nullptr;
  if (state_->title_timer) state_->title_timer->cancel();
}

void TestToneSource::produce(const std::shared_ptr<State>& s) {
  using namespace std::chrono_literals;
  // Encode in 100 ms steps for as long as the pipeline takes them; it says
  // pause when it is far enough ahead of its clock.
  for (int i = 0; i < 5; ++i) {
    if (s->stopped || !s->sink) {
      s->running = false;
      return;
    }
    s->buffer.clear();
    if (auto r = s->encoder->produce(100ms, s->buffer); !r) {
      s->running = false;
      ByteSink* sink = s->sink;
      s->sink = nullptr;
      sink->on_end(r.error());
      return;
    }
    if (s->buffer.empty()) continue;
    if (s->sink->on_data(s->buffer) == Flow::pause) {
      s->running = false;
      return;
    }
  }
  boost::asio::post(s->executor, [s] { produce(s); });
}

}  // namespace joincast::media
