// http_connection.hpp — one HTTP exchange over TCP or TLS: resolve,
// connect, TLS handshake (SNI, certificate and host name verified), one GET,
// the response head, then the body pushed to a handler as it arrives, with
// flow control. Beast's parser does the HTTP/1.0 and 1.1 framing
// (Content-Length, chunked, read-until-close); an "ICY 200 OK" status line
// is read as HTTP/1.0. Every wait is bounded: the head by response_timeout,
// each body read by stall_timeout.
#pragma once

#include "media/byte_source.hpp"
#include "media/source/http/http_client.hpp"
#include "media/source/http/http_error.hpp"
#include "media/source/http/http_url.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace joincast::media {

struct HttpResponseHead {
  int status = 0;
  std::string reason;
  int version = 11;  // 10 or 11
  bool icy = false;  // the status line was "ICY 200 OK"
  std::vector<std::pair<std::string, std::string>> fields;  // names lower case, in order
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  // The body has an end of its own (Content-Length or chunked), as opposed
  // to one that ends only when the server closes the connection.
  bool framed() const { return content_length.has_value() || chunked; }

  // The first value of a field (name in lower case), "" if absent.
  std::string_view field(std::string_view name) const;
  bool redirect() const { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  // An empty Error means success.
  using OpenHandler = std::function<void(const Error&)>;
  using DataHandler = std::function<Flow(std::span<const std::byte>)>;
  // End of the body: empty failure when complete by its framing.
  using EndHandler = std::function<void(const Error&)>;

  static std::shared_ptr<HttpConnection> create(std::shared_ptr<HttpClient> client);
  ~HttpConnection();

  // Connects and sends GET url with the standard headers (Host,
  // User-Agent, Accept, Connection: close) plus extra; calls done once the
  // response head is complete, or with why it failed.
  void open(Url url, HttpHeaders extra, OpenHandler done);

  const HttpResponseHead& head() const { return head_; }
  const Url& url() const { return url_; }

  // Delivers the body. After data() returns Flow::pause no more socket
  // reads happen until resume(); bytes already read are still delivered.
  void read_body(DataHandler data, EndHandler end);
  void resume();
  // Ends the exchange; no handler is called after close() returns.
  void close();

  // For tests and diagnostics: the peer address actually connected to.
  std::string peer() const { return peer_; }

  explicit HttpConnection(std::shared_ptr<HttpClient> client);

 private:
  class Parser;
  class Transport;
  enum class Phase { idle, connecting, head, body, done };

  void on_resolved(const boost::system::error_code& ec, boost::asio::ip::tcp::resolver::results_type results);
  void on_connected(const boost::system::error_code& ec);
  void send_request();
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process();
  void on_eof();
  void fail(SourceErrc code, std::string reason);
  void fail(const boost::system::error_code& ec, std::string_view doing);
  void arm_timer(milliseconds after, SourceErrc code);
  Flow deliver(std::string_view body);

  std::shared_ptr<HttpClient> client_;
  Url url_;
  HttpHeaders extra_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Parser> parser_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;
  HttpResponseHead head_;
  OpenHandler on_open_;
  DataHandler on_data_;
  EndHandler on_end_;
  std::string request_;
  std::string in_;
  std::vector<char> read_buf_;
  std::string peer_;
  Phase phase_ = Phase::idle;
  bool reading_ = false;
  bool paused_ = false;
  bool closed_ = false;
  bool icy_checked_ = false;
  bool in_process_ = false;
  bool eof_ = false;
  std::optional<SourceErrc> timed_out_;
};

}  // namespace joincast::media
