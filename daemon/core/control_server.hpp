// control_server.hpp — the daemon's control socket: a unix stream socket
// speaking JSON lines (docs/control-protocol.md). Each request is one JSON
// object on one line with a "cmd" member; each answer is one line with
// "ok": true and the command's fields, or "ok": false and "error".
// "watch" turns a connection into a stream of published events.
//
// Modules register their commands; handlers run on the daemon's io_context
// thread and must not block.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>

namespace joincast::daemon {

class ControlServer {
 public:
  using Json = nlohmann::json;
  // Returns the answer's fields; throw CommandError for a clear refusal.
  using Handler = std::function<Json(const Json& request)>;

  struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, std::string group);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens. Fails with EADDRINUSE if another daemon answers on
  // the path; a stale socket file is replaced.
  std::error_code open();
  void close();

  void add(const std::string& command, std::string summary, Handler handler);
  // Sends message to every connection watching topic.
  void publish(const std::string& topic, const Json& message);

  const std::string& path() const { return path_; }

 private:
  class Connection;
  void accept();
  Json dispatch(const Json& request, const std::shared_ptr<Connection>& from);

  boost::asio::io_context& io_;
  std::string path_;
  unsigned mode_;
  std::string group_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
  struct Command {
    std::string summary;
    Handler handler;
  };
  std::map<std::string, Command> commands_;
  std::set<std::shared_ptr<Connection>> connections_;
};

}  // namespace joincast::daemon
