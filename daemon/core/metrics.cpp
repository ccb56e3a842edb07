// metrics.cpp — see metrics.hpp. One request per connection, GET /metrics
// only; a scrape is small and rare.
#include "daemon/core/metrics.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace joincast::daemon::core {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void MetricsWriter::sample(const std::string& name, const char* type, const std::string& help, double value,
                           const Labels& labels) {
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  std::string line = name;
  if (!labels.empty()) {
    line += '{';
    for (std::size_t i = 0; i < labels.size(); ++i)
      line += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape_label_value(labels[i].second));
    line += '}';
  }
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    line += fmt::format(" {}", static_cast<long long>(value));
  else
    line += fmt::format(" {}", value);
  f.samples.push_back(std::move(line));
}

void MetricsWriter::gauge(const std::string& name, const std::string& help, double value, const Labels& labels) {
  sample(name, "gauge", help, value, labels);
}

void MetricsWriter::counter(const std::string& name, const std::string& help, double value, const Labels& labels) {
  sample(name, "counter", help, value, labels);
}

std::string MetricsWriter::text() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    for (const auto& s : f.samples) out += s + "\n";
  }
  return out;
}

bool parse_endpoint(const std::string& text, tcp::endpoint& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port == 0 || port > 65535) return false;
  boost::system::error_code bec;
  auto addr = boost::asio::ip::make_address(host, bec);
  if (bec) return false;
  out = tcp::endpoint(addr, static_cast<unsigned short>(port));
  return true;
}

class MetricsServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(MetricsServer& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}

  void start() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (!ec) self->respond();
    });
  }

 private:
  void respond() {
    response_.version(request_.version());
    response_.keep_alive(false);
    response_.set(http::field::server, "joincastd");
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.body() = "only GET\n";
    } else if (request_.target() != "/metrics") {
      response_.result(http::status::not_found);
      response_.body() = "metrics are at /metrics\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = server_.render();
    }
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  MetricsServer& server_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

MetricsServer::~MetricsServer() { close(); }

std::error_code MetricsServer::listen(const std::string& address) {
  tcp::endpoint ep;
  if (!parse_endpoint(address, ep)) return std::make_error_code(std::errc::invalid_argument);
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(16, ec);
  if (ec) return ec;
  acceptor_ = std::move(acceptor);
  address_ = address;
  accept();
  return {};
}

void MetricsServer::close() {
  if (!acceptor_) return;
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
}

void MetricsServer::accept() {
  acceptor_->async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_) return;
    if (!ec) std::make_shared<Connection>(*this, std::move(socket))->start();
    accept();
  });
}

std::string MetricsServer::render() const {
  MetricsWriter w;
  for (const auto& c : collectors_) c(w);
  return w.text();
}

}  // namespace joincast::daemon::core
