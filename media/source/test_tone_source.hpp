// test_tone_source.hpp — the built-in test channel: a tone encoded live
// (tone_encoder.hpp) and delivered as a station would deliver it. It needs
// no network and no files, so a fresh install can prove its whole path
// from membership to a listener's speaker. With changing titles
// (test:tone?...&title=cycle) its now-playing metadata moves on every 10 s
// ("Test title 1", "Test title 2", ...), as a station's StreamTitle would,
// so the SAP/SDP i= line can be watched changing.
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"
#include "media/source/tone_encoder.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace joincast::media {

struct TestToneTitles {
  bool cycle = false;
  std::chrono::milliseconds every{10'000};
};

class TestToneSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<TestToneSource>> create(boost::asio::any_io_executor executor, const ToneOptions& options,
                                                        TestToneTitles titles = {});
  ~TestToneSource() override;

  void start(ByteSink& sink) override;
  void resume() override;
  void stop() override;
  std::string content_type() const override;
  std::string describe() const override;

 private:
  struct State;
  explicit TestToneSource(std::shared_ptr<State> state) : state_(std::move(state)) {}
  static void produce(const std::shared_ptr<State>& state);
  static void next_title(const std::shared_ptr<State>& state);

  std::shared_ptr<State> state_;
};

}  // namespace joincast::media
