// control_server.hpp — the daemon's control socket: a unix stream socket
// speaking JSON lines (docs/control-protocol.md). Each request is one JSON
// object on one line with a "cmd" member; each answer is one line with
// "ok": true and the command's fields, or "ok": false and "error".
// "watch" turns a connection into a stream of published events.
//
// Modules register their commands; handlers run on the daemon's io_context
// thread and must not block. A handler that can fail returns Result<Json>:
// its error's message becomes the answer's "error".
#pragma once

#include "common/result.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace joincast::daemon::core {

class ControlServer {
 public:
  using Json = nlohmann::json;
  // Returns the answer's fields, or the reason the command was refused.
  using Handler = std::function<Result<Json>(const Json& request)>;

  ControlServer(boost::asio::io_context& io, std::string path, unsigned mode, std::string group);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens. Fails with EADDRINUSE if another daemon answers on
  // the path; a stale socket file is replaced.
  std::error_code open();
  void close();

  void add(const std::string& command, std::string summary, Handler handler);
  // A command that cannot fail (it returns Json, not Result<Json>).
  template <class F>
    requires std::is_same_v<std::invoke_result_t<F&, const Json&>, Json>
  void add(const std::string& command, std::string summary, F handler) {
    add(command, std::move(summary), Handler([h = std::move(handler)](const Json& r) -> Result<Json> { return h(r); }));
  }
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

}  // namespace joincast::daemon::core
