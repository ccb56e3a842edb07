// http_source_test.cpp — HttpSource without a network: a station URL that
// can never play (an unsupported scheme) fails at once; one that fails to
// connect is retried with backoff, then the source ends. Either way it says
// why (ByteSource::failure_reason), naming the URL.
#include "media/source/http_source.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <array>
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

namespace {

struct DataSink final : ByteSink {
  std::size_t bytes = 0;
  Flow on_data(std::span<const std::byte> b) override {
    bytes += b.size();
    return Flow::more;
  }
  void on_metadata(const StreamMetadata&) override {}
  void on_end(std::error_code) override {}
};

// Serves one response (head + 4 kB of body) on a loopback port; the
// source's live() after the body's first bytes arrive.
bool live_with_head(const std::string& head_fields) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto port = acceptor.local_endpoint().port();
  boost::asio::ip::tcp::socket peer(io);
  std::string response = "HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n" + head_fields + "\r\n" +
                         std::string(4096, '\x55');
  std::array<char, 4096> request{};
  acceptor.async_accept(peer, [&](boost::system::error_code ec) {
    if (ec) return;
    peer.async_read_some(boost::asio::buffer(request), [&](boost::system::error_code e, std::size_t) {
      if (e) return;
      boost::asio::async_write(peer, boost::asio::buffer(response), [](boost::system::error_code, std::size_t) {});
    });
  });
  HttpOptions o;
  o.reconnect_attempts = 1;
  auto client = HttpClient::create(io.get_executor(), o);
  REQUIRE(client);
  HttpSource source(client.value(), "http://127.0.0.1:" + std::to_string(port) + "/live.mp3");
  DataSink sink;
  source.start(sink);
  for (int i = 0; i < 300 && sink.bytes == 0; ++i) io.run_for(10ms);
  REQUIRE(sink.bytes > 0);
  bool live = source.live();
  source.stop();
  return live;
}

}  // namespace

TEST_CASE("an HTTP body without a length, or with ICY metadata, is a live stream and one with a length is not") {
  CHECK(live_with_head("icy-name: Lab\r\n"));  // Icecast, SHOUTcast: no length
  CHECK(live_with_head("Content-Length: 4096\r\nicy-metaint: 8192\r\n"));
  CHECK_FALSE(live_with_head("Content-Length: 4096\r\n"));  // a file: skipping ahead would skip it all
}
