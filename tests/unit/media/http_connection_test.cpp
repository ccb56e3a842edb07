// http_connection_test.cpp — HttpConnection against an in-process server
// that answers badly: closes before sending a whole status line, or sends
// bytes after a complete response. Beast asserts on put_eof() before any
// byte and on put() into a complete parser, so these run meaningfully in a
// build with assertions on (scripts/sanitize.sh).
#include "media/source/http/http_fetch.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include <array>
#include <optional>

using namespace joincast::media;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Accepts one connection, reads the request, writes answer, closes.
struct OneShotServer {
  tcp::acceptor acceptor;
  tcp::socket peer;
  std::array<char, 4096> request{};
  std::string answer;

  OneShotServer(asio::io_context& io, std::string a)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), peer(io), answer(std::move(a)) {
    acceptor.async_accept(peer, [this](const boost::system::error_code& ec) {
      if (ec) return;
      peer.async_read_some(asio::buffer(request), [this](const boost::system::error_code& e, std::size_t) {
        if (e) return;
        asio::async_write(peer, asio::buffer(answer), [this](const boost::system::error_code&, std::size_t) {
          boost::system::error_code ignored;
          peer.shutdown(tcp::socket::shutdown_both, ignored);
          peer.close(ignored);
        });
      });
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/"; }
};

struct Outcome {
  Error failure;
  std::string body;
};

std::optional<Outcome> fetch_from(const std::string& answer) {
  asio::io_context io;
  OneShotServer server(io, answer);
  HttpOptions o;
  auto client = HttpClient::create(io.get_executor(), o);
  REQUIRE(client);
  std::optional<Outcome> out;
  fetch_document(client.value(), server.url(), 1 << 20, {}, [&](const Error& f, HttpDocument doc) {
    out = Outcome{f, doc.body};
  });
  for (int i = 0; i < 200 && !out; ++i) io.run_for(10ms);
  return out;
}

}  // namespace

TEST_CASE("a server that closes before sending four bytes is a clear failure") {
  for (const char* answer : {"", "H", "HTT", "ICY"}) {
    CAPTURE(answer);
    auto out = fetch_from(answer);
    REQUIRE(out);
    CHECK(out->failure);
    CHECK_MESSAGE(out->failure.message().find("closed the connection") != std::string::npos, out->failure.message());
  }
}

TEST_CASE("bytes after a complete response are ignored") {
  auto out = fetch_from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nanything after the end");
  REQUIRE(out);
  CHECK_MESSAGE(!out->failure, out->failure.message());
  CHECK(out->body.empty());
  out = fetch_from("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef");
  REQUIRE(out);
  CHECK_MESSAGE(!out->failure, out->failure.message());
  CHECK(out->body == "abc");
}

TEST_CASE("a document beyond max_bytes without a length is refused while it streams") {
  // Read until close: the limit must cut the body off as it arrives.
  std::string body(256 * 1024, 'x');
  asio::io_context io;
  OneShotServer server(io, "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n" + body);
  auto client = HttpClient::create(io.get_executor(), HttpOptions{});
  REQUIRE(client);
  std::optional<Outcome> out;
  int calls = 0;
  fetch_document(client.value(), server.url(), 10'000, {}, [&](const Error& f, HttpDocument doc) {
    ++calls;
    out = Outcome{f, doc.body};
  });
  for (int i = 0; i < 200 && !out; ++i) io.run_for(10ms);
  io.run_for(100ms);  // nothing may run after the refusal
  REQUIRE(out);
  CHECK(calls == 1);
  CHECK(out->failure.code() == make_error_code(SourceErrc::document_too_large));
  CHECK_MESSAGE(out->failure.message().find("larger than 10000 bytes") != std::string::npos, out->failure.message());
}
