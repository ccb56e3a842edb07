// fuzz_http_response.cpp — the HTTP response path: HttpConnection (Beast's
// parser, the ICY status line, the head's fields, Content-Length, chunked
// and read-until-close bodies) against an in-process server on loopback
// that answers the GET with the input, written in pieces whose size the
// first byte chooses, then closes.
// Contract: open's handler runs exactly once; a head it accepts has a
// status of three digits and lower-case field names free of CR, LF and NUL;
// the body's handler gets no more bytes than the server sent, the end
// handler runs exactly once, and a body framed by Content-Length that ends
// cleanly has exactly that length. Nothing asserts (the fuzz build keeps
// Beast's assertions on) and nothing hangs (every wait is bounded).
#include "fuzz_check.hpp"
#include "media/source/http/http_connection.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

using namespace joincast;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Accepts one connection, reads the request, writes the answer piece by
// piece, closes.
class Server {
 public:
  Server(asio::io_context& io, std::string_view answer, std::size_t piece)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), peer_(io), answer_(answer),
        piece_(piece) {
    acceptor_.async_accept(peer_, [this](const boost::system::error_code& ec) {
      if (ec) return;
      peer_.async_read_some(asio::buffer(request_), [this](const boost::system::error_code& e, std::size_t) {
        if (!e) write_next();
      });
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/"; }

 private:
  void write_next() {
    if (sent_ >= answer_.size()) return finish();
    std::size_t n = std::min(piece_, answer_.size() - sent_);
    asio::async_write(peer_, asio::buffer(answer_.data() + sent_, n),
                      [this](const boost::system::error_code& ec, std::size_t written) {
                        sent_ += written;
                        if (ec) return finish();
                        write_next();
                      });
  }
  void finish() {
    boost::system::error_code ignored;
    peer_.shutdown(tcp::socket::shutdown_both, ignored);
    peer_.close(ignored);
  }

  tcp::acceptor acceptor_;
  tcp::socket peer_;
  std::array<char, 4096> request_{};
  std::string_view answer_;
  std::size_t piece_;
  std::size_t sent_ = 0;
};

bool clean_field_name(std::string_view s) {
  for (char c : s)
    if ((c >= 'A' && c <= 'Z') || c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  static const std::size_t pieces[] = {1, 2, 3, 7, 16, 61, 512, 1 << 20};
  std::size_t piece = pieces[in.pick(std::size(pieces))];
  std::string_view answer = in.rest();

  asio::io_context io;
  Server server(io, answer, piece);
  media::HttpOptions options;
  options.response_timeout = 2s;
  options.stall_timeout = 2s;
  auto client = media::HttpClient::create(io.get_executor(), options);
  FUZZ_CHECK(client.has_value());
  auto url = media::Url::parse(server.url());
  FUZZ_CHECK(url.has_value());

  auto connection = media::HttpConnection::create(client.value());
  int opened = 0, ended = 0;
  std::size_t body = 0;
  Error open_failure, end_failure;
  connection->open(url.value(), {}, [&](const Error& f) {
    ++opened;
    open_failure = f;
    if (f) return;
    const auto& head = connection->head();
    FUZZ_CHECK(head.status >= 100 && head.status <= 999);
    for (const auto& [name, value] : head.fields) {
      FUZZ_CHECK(clean_field_name(name));
      FUZZ_CHECK(!fuzz::has_any(value, std::string_view("\r\n\0", 3)));
    }
    connection->read_body(
        [&](std::span<const std::byte> bytes) {
          body += bytes.size();
          return media::Flow::more;
        },
        [&](const Error& f) {
          ++ended;
          end_failure = f;
        });
  });
  for (int i = 0; i < 500 && (opened == 0 || (!open_failure && ended == 0)); ++i) io.run_for(10ms);
  connection->close();

  FUZZ_CHECK(opened == 1);
  if (open_failure) {
    FUZZ_CHECK(open_failure.has_message());
    FUZZ_CHECK(ended == 0);
  } else {
    FUZZ_CHECK(ended == 1);
    FUZZ_CHECK(body <= answer.size());
    const auto& head = connection->head();
    if (!end_failure && head.content_length && !head.chunked) FUZZ_CHECK(body == *head.content_length);
  }
  return 0;
}
