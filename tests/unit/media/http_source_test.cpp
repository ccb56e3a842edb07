// http_source_test.cpp — HttpSource without a network: a station URL that
// can never play (an unsupported scheme) fails at once; one that fails to
// connect is retried with backoff, then the source ends. Either way it says
// why (ByteSource::failure_reason), naming the URL.
#include "media/source/http_source.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {

struct EndSink final : ByteSink {
  int ends = 0;
  std::error_code why;
  Flow on_data(std::span<const std::byte>) override { return Flow::more; }
  void on_metadata(const StreamMetadata&) override {}
  void on_end(std::error_code e) override {
    ++ends;
    why = e;
  }
};

}  // namespace

TEST_CASE("an HTTP source with an unsupported scheme fails at once, naming the URL") {
  boost::asio::io_context io;
  HttpOptions o;
  o.reconnect_initial = 1ms;
  o.reconnect_max = 1ms;
  o.reconnect_attempts = 2;
  auto client = HttpClient::create(io.get_executor(), o);
  REQUIRE(client);
  const std::string url = "ftp://radio.example/stream";
  HttpSource source(client.value(), url);
  EndSink sink;
  source.start(sink);
  for (int i = 0; i < 100 && sink.ends == 0; ++i) io.run_for(10ms);
  REQUIRE(sink.ends == 1);
  CHECK(sink.why == SourceErrc::unsupported_scheme);
  CHECK(source.status().state == SourceStatus::State::failed);
  CHECK(source.status().reconnects == 0);  // retrying cannot help
  std::string reason = source.failure_reason();
  CHECK_MESSAGE(reason.find("gave up") == std::string::npos, reason);
  CHECK_MESSAGE(reason.find(url) != std::string::npos, reason);
}

TEST_CASE("an HTTP source that gives up says why, naming the URL") {
  boost::asio::io_context io;
  HttpOptions o;
  o.reconnect_initial = 1ms;
  o.reconnect_max = 1ms;
  o.reconnect_attempts = 2;
  auto client = HttpClient::create(io.get_executor(), o);
  REQUIRE(client);
  // Nothing listens on port 1 of the loopback: every connection is refused.
  const std::string url = "http://127.0.0.1:1/stream";
  HttpSource source(client.value(), url);
  CHECK(source.failure_reason().empty());
  EndSink sink;
  source.start(sink);
  for (int i = 0; i < 100 && sink.ends == 0; ++i) io.run_for(10ms);
  REQUIRE(sink.ends == 1);
  CHECK(sink.why);
  CHECK(source.status().state == SourceStatus::State::failed);
  CHECK(source.status().reconnects == 2);
  std::string reason = source.failure_reason();
  CHECK_MESSAGE(reason.find("gave up after 2 attempts") != std::string::npos, reason);
  CHECK_MESSAGE(reason.find(url) != std::string::npos, reason);
}
