// test_tone_titles_test.cpp — the test channel's changing titles come from
// its source: TestToneSource with title=cycle reports "Test title 1" at
// once and the next title every interval, as a station's StreamTitle would.
#include "media/source/source_factory.hpp"
#include "media/source/test_tone_source.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {

struct TitleSink final : ByteSink {
  std::vector<std::string> titles;
  Flow on_data(std::span<const std::byte>) override { return Flow::pause; }  // no more encoding than needed
  void on_metadata(const StreamMetadata& m) override { titles.push_back(m.now_playing); }
  void on_end(std::error_code) override {}
};

}  // namespace

TEST_CASE("the test tone with title=cycle moves its now-playing title on by itself") {
  boost::asio::io_context io;
  ToneOptions tone;
  auto source = TestToneSource::create(io.get_executor(), tone, {true, 20ms});
  REQUIRE_MESSAGE(source, (source ? std::string() : source.error().message()));
  TitleSink sink;
  source.value()->start(sink);
  REQUIRE(sink.titles.size() == 1);
  CHECK(sink.titles[0] == "Test title 1");
  for (int i = 0; i < 50 && sink.titles.size() < 3; ++i) io.run_for(10ms);
  REQUIRE(sink.titles.size() >= 3);
  CHECK(sink.titles[1] == "Test title 2");
  CHECK(sink.titles[2] == "Test title 3");
  source.value()->stop();
  auto seen = sink.titles.size();
  io.run_for(60ms);
  CHECK(sink.titles.size() == seen);  // none after stop
}

TEST_CASE("the test tone without title=cycle names what it plays, once") {
  boost::asio::io_context io;
  auto plan = plan_source("test:tone?frequency=440&codec=mp3&bitrate=128", nullptr);
  REQUIRE_MESSAGE(plan, (plan ? std::string() : plan.error().message()));
  auto source = plan.value().factory(io.get_executor());
  REQUIRE_MESSAGE(source, (source ? std::string() : source.error().message()));
  TitleSink sink;
  source.value()->start(sink);
  io.run_for(50ms);
  REQUIRE(sink.titles.size() == 1);
  CHECK(sink.titles[0].find("Test title") == std::string::npos);
  source.value()->stop();
}
