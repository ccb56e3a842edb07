// metrics.hpp — Prometheus text exposition (format 0.0.4) on a local
// address: modules register collectors that write their current values
// when /metrics is scraped. Off unless [metrics] listen is set.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace joincast::daemon::core {

class MetricsWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void gauge(const std::string& name, const std::string& help, double value, const Labels& labels = {});
  void counter(const std::string& name, const std::string& help, double value, const Labels& labels = {});
  std::string text() const;

 private:
  void sample(const std::string& name, const char* type, const std::string& help, double value, const Labels& labels);
  struct Family {
    std::string type, help;
    std::vector<std::string> samples;
  };
  std::map<std::string, Family> families_;
};

// Label values are escaped as the format requires (\\, \", \n).
std::string escape_label_value(const std::string& value);

class MetricsServer {
 public:
  using Collector = std::function<void(MetricsWriter&)>;

  MetricsServer(boost::asio::io_context& io) : io_(io) {}
  ~MetricsServer();

  void add_collector(Collector c) { collectors_.push_back(std::move(c)); }
  // "127.0.0.1:9185", "[::1]:9185". Empty: no server.
  std::error_code listen(const std::string& address);
  void close();
  std::string render() const;
  const std::string& address() const { return address_; }

 private:
  class Connection;
  void accept();

  boost::asio::io_context& io_;
  std::vector<Collector> collectors_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::string address_;
};

// Parses "host:port" / "[v6]:port" into an endpoint.
bool parse_endpoint(const std::string& text, boost::asio::ip::tcp::endpoint& out);

}  // namespace joincast::daemon::core
