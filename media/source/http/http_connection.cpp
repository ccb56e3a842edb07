// http_connection.cpp — see http_connection.hpp.
#include "media/source/http/http_connection.hpp"

#include "media/text.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace joincast::media {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t read_size = 16 * 1024;

}  // namespace

std::string_view HttpResponseHead::field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

// Beast's parser with callbacks that fill HttpResponseHead and hand body
// bytes (already de-chunked) to the connection.
class HttpConnection::Parser final : public http::basic_parser<false> {
 public:
  explicit Parser(HttpConnection& owner) : owner_(owner) {}

 private:
  void on_request_impl(http::verb, boost::beast::string_view, boost::beast::string_view, int,
                       boost::system::error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::system::error_code&) override {
    owner_.head_.status = code;
    owner_.head_.reason = std::string(reason.data(), reason.size());
    owner_.head_.version = version;
  }
  void on_field_impl(http::field, boost::beast::string_view name, boost::beast::string_view value,
                     boost::system::error_code&) override {
    owner_.head_.fields.emplace_back(ascii_lower(std::string_view(name.data(), name.size())),
                                     std::string(value.data(), value.size()));
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, boost::system::error_code&) override {
    if (length) owner_.head_.content_length = *length;
  }
  std::size_t on_body_impl(boost::beast::string_view body, boost::system::error_code&) override {
    owner_.deliver(std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::system::error_code&) override {
    owner_.deliver(std::string_view(body.data(), body.size()));
    return body.size();
  }
  void on_finish_impl(boost::system::error_code&) override {}

  HttpConnection& owner_;
};

// Plain TCP or TLS over TCP behind one read/write interface.
class HttpConnection::Transport {
 public:
  Transport(const asio::any_io_executor& ex, asio::ssl::context* tls) {
    if (tls) tls_.emplace(ex, *tls);
    else tcp_.emplace(ex);
  }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *tcp_; }
  asio::ssl::stream<tcp::socket>* tls() { return tls_ ? &*tls_ : nullptr; }

  template <class Buffer, class Handler>
  void read_some(const Buffer& b, Handler&& h) {
    if (tls_) tls_->async_read_some(b, std::forward<Handler>(h));
    else tcp_->async_read_some(b, std::forward<Handler>(h));
  }
  template <class Buffer, class Handler>
  void write(const Buffer& b, Handler&& h) {
    if (tls_) asio::async_write(*tls_, b, std::forward<Handler>(h));
    else asio::async_write(*tcp_, b, std::forward<Handler>(h));
  }
  void close() {
    boost::system::error_code ignored;
    socket().close(ignored);
  }

 private:
  std::optional<tcp::socket> tcp_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
};

std::shared_ptr<HttpConnection> HttpConnection::create(std::shared_ptr<HttpClient> client) {
  return std::make_shared<HttpConnection>(std::move(client));
}

HttpConnection::HttpConnection(std::shared_ptr<HttpClient> client)
    : client_(std::move(client)), resolver_(client_->executor()), timer_(client_->executor()) {}

HttpConnection::~HttpConnection() = default;

void HttpConnection::close() {
  closed_ = true;
  on_open_ = nullptr;
  on_data_ = nullptr;
  on_end_ = nullptr;
  resolver_.cancel();
  timer_.cancel();
  if (transport_) transport_->close();
}

void HttpConnection::fail(SourceErrc code, std::string reason) {
  if (closed_) return;
  Error failure{make_error_code(code), url_.to_string() + ": " + reason};
  auto open = std::move(on_open_);
  auto end = std::move(on_end_);
  close();
  if (open) open(failure);
  else if (end) end(failure);
}

void HttpConnection::fail(const boost::system::error_code& ec, std::string_view doing) {
  if (timed_out_) {
    SourceErrc code = *timed_out_;
    return fail(code, code == SourceErrc::stalled
                          ? "no data for " + std::to_string(client_->options().stall_timeout.count()) + " ms"
                          : "no complete response within " +
                                std::to_string(client_->options().response_timeout.count()) + " ms");
  }
  std::string message = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buf, sizeof buf);
    message = buf;
    if (auto* tls = transport_ ? transport_->tls() : nullptr) {
      long verify = SSL_get_verify_result(tls->native_handle());
      if (verify != X509_V_OK) message = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    }
    return fail(SourceErrc::tls_failed, std::string(doing) + ": " + message);
  }
  fail(SourceErrc::connection_closed, std::string(doing) + ": " + message);
}

void HttpConnection::arm_timer(milliseconds after, SourceErrc code) {
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), code](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    // Closing the socket makes the pending operation complete with an
    // error; its handler reports the timeout.
    self->timed_out_ = code;
    self->resolver_.cancel();
    if (self->transport_) self->transport_->close();
  });
}

void HttpConnection::open(Url url, HttpHeaders extra, OpenHandler done) {
  url_ = std::move(url);
  extra_ = std::move(extra);
  on_open_ = std::move(done);
  phase_ = Phase::connecting;
  arm_timer(client_->options().response_timeout, SourceErrc::timed_out);
  resolver_.async_resolve(url_.host, std::to_string(url_.port),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      tcp::resolver::results_type results) {
                            self->on_resolved(ec, std::move(results));
                          });
}

void HttpConnection::on_resolved(const boost::system::error_code& ec, tcp::resolver::results_type results) {
  if (closed_) return;
  if (ec) return fail(ec, "resolving " + url_.host);
  transport_ = std::make_unique<Transport>(client_->executor(), url_.tls() ? &client_->tls() : nullptr);
  asio::async_connect(transport_->socket(), results,
                      [self = shared_from_this()](const boost::system::error_code& e, const tcp::endpoint& ep) {
                        if (!e) {
                          auto a = ep.address();
                          self->peer_ = (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" +
                                        std::to_string(ep.port());
                        }
                        self->on_connected(e);
                      });
}

void HttpConnection::on_connected(const boost::system::error_code& ec) {
  if (closed_) return;
  if (ec) return fail(ec, "connecting to " + url_.authority());
  auto* tls = transport_->tls();
  if (!tls) return send_request();
  SSL* ssl = tls->native_handle();
  boost::system::error_code parse_ec;
  (void)asio::ip::make_address(url_.host, parse_ec);
  if (parse_ec) {
    // SNI carries names only, never address literals (RFC 6066 §3).
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is its body.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(url_.host.c_str()));
    SSL_set1_host(ssl, url_.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
  }
  tls->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](const boost::system::error_code& e) {
    if (self->closed_) return;
    if (e) return self->fail(e, "TLS handshake with " + self->url_.authority());
    self->send_request();
  });
}

void HttpConnection::send_request() {
  const auto& o = client_->options();
  request_ = "GET " + url_.target + " HTTP/1.1\r\nHost: " + url_.authority() + "\r\nUser-Agent: " + o.user_agent +
             "\r\nAccept: */*\r\nConnection: close\r\n";
  for (const auto& [k, v] : extra_) request_ += k + ": " + v + "\r\n";
  request_ += "\r\n";
  parser_ = std::make_unique<Parser>(*this);
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.max_header_bytes, UINT32_MAX)));
  // No Beast body limit: streams are endless and documents have their own
  // limit. (Boost 1.74 compares Content-Length against an empty optional
  // as if it were a limit of zero, so "none" cannot be used.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  parser_->eager(false);
  phase_ = Phase::head;
  transport_->write(asio::buffer(request_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                        std::size_t) {
    if (self->closed_) return;
    if (ec) return self->fail(ec, "sending the request");
    self->do_read();
  });
}

void HttpConnection::read_body(DataHandler data, EndHandler end) {
  on_data_ = std::move(data);
  on_end_ = std::move(end);
  phase_ = Phase::body;
  paused_ = false;
  parser_->eager(true);
  // Bytes that came with the head are body already.
  asio::post(client_->executor(), [self = shared_from_this()] {
    if (!self->closed_) self->process();
  });
}

void HttpConnection::resume() {
  if (!paused_ || closed_) return;
  paused_ = false;
  asio::post(client_->executor(), [self = shared_from_this()] {
    if (!self->closed_ && !self->paused_) self->process();
  });
}

Flow HttpConnection::deliver(std::string_view body) {
  if (closed_ || body.empty() || !on_data_) return Flow::more;
  auto bytes = std::as_bytes(std::span<const char>(body.data(), body.size()));
  if (on_data_(bytes) == Flow::pause) paused_ = true;
  return paused_ ? Flow::pause : Flow::more;
}

void HttpConnection::do_read() {
  if (closed_ || paused_ || reading_ || phase_ == Phase::done) return;
  reading_ = true;
  if (phase_ == Phase::body) arm_timer(client_->options().stall_timeout, SourceErrc::stalled);
  read_buf_.resize(read_size);
  transport_->read_some(asio::buffer(read_buf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                             std::size_t n) {
    self->on_read(ec, n);
  });
}

void HttpConnection::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (phase_ == Phase::body) timer_.cancel();
  if (n > 0) in_.append(read_buf_.data(), n);
  if (ec) {
    bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (!eof || timed_out_) return fail(ec, phase_ == Phase::body ? "reading the body" : "reading the response");
    eof_ = true;
  }
  process();
}

void HttpConnection::on_eof() {
  // End of input and everything before it parsed: tell the parser. Beast
  // requires at least one byte first (put_eof() asserts got_some()): a
  // server that closed before four bytes never fed it any.
  if (!parser_->got_some())
    return fail(SourceErrc::connection_closed, "server closed the connection before the response head was complete");
  boost::system::error_code pec;
  parser_->put_eof(pec);
  if (pec == http::error::partial_message || (!pec && !parser_->is_header_done())) {
    return fail(SourceErrc::connection_closed,
                phase_ == Phase::body ? "server closed the connection in the middle of the body"
                                      : "server closed the connection before the response head was complete");
  }
  if (pec) return fail(SourceErrc::bad_response, pec.message());
  if (phase_ == Phase::head) {
    phase_ = Phase::idle;
    timer_.cancel();
    auto open = std::move(on_open_);
    if (open) open({});
    return;
  }
  phase_ = Phase::done;
  auto end = std::move(on_end_);
  close();
  if (end) end({});
}

void HttpConnection::process() {
  if (in_process_) return;
  in_process_ = true;
  auto self = shared_from_this();
  while (!closed_ && !paused_ && phase_ != Phase::done && !in_.empty()) {
    if (phase_ == Phase::head && !icy_checked_) {
      if (in_.size() < 4) break;
      icy_checked_ = true;
      // SHOUTcast v1 and friends answer "ICY 200 OK": HTTP/1.0 in all but name.
      if (in_.compare(0, 4, "ICY ") == 0) {
        in_.replace(0, 4, "HTTP/1.0 ");
        head_.icy = true;
      }
    }
    if (phase_ == Phase::connecting) break;
    // Bytes after a complete response (Content-Length: 0, then anything)
    // are not ours to parse: put() into a complete parser asserts.
    if (parser_->is_done()) {
      in_.clear();
      break;
    }
    boost::system::error_code pec;
    std::size_t used = parser_->put(asio::buffer(in_.data(), in_.size()), pec);
    in_.erase(0, used);
    if (closed_) break;
    if (pec == http::error::need_more) break;
    if (pec == http::error::header_limit) {
      in_process_ = false;
      return fail(SourceErrc::header_too_large,
                  "response head larger than " + std::to_string(client_->options().max_header_bytes) + " bytes");
    }
    if (pec) {
      in_process_ = false;
      return fail(phase_ == Phase::head ? SourceErrc::bad_response : SourceErrc::bad_response,
                  phase_ == Phase::head ? "not an HTTP or ICY response (" + pec.message() + ")"
                                        : "malformed body (" + pec.message() + ")");
    }
    if (phase_ == Phase::head && parser_->is_header_done()) {
      phase_ = Phase::idle;  // waiting for read_body()
      if (auto length = parser_->content_length()) head_.content_length = *length;
      head_.chunked = parser_->chunked();
      timer_.cancel();
      auto open = std::move(on_open_);
      in_process_ = false;
      if (open) open({});
      return;
    }
    if (parser_->is_done()) {
      phase_ = Phase::done;
      auto end = std::move(on_end_);
      in_process_ = false;
      close();
      if (end) end({});
      return;
    }
    if (used == 0) break;
  }
  in_process_ = false;
  if (closed_ || paused_) return;
  if (phase_ == Phase::body && parser_->is_done()) {
    phase_ = Phase::done;
    auto end = std::move(on_end_);
    close();
    if (end) end({});
    return;
  }
  if (phase_ != Phase::head && phase_ != Phase::body) return;
  if (eof_) return on_eof();
  do_read();
}

}  // namespace joincast::media
