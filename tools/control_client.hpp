// control_client.hpp — the CLI's side of the control socket: send one
// JSON request line, read one answer line (or a stream, for watch).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <system_error>

namespace joincast::tools {

class ControlClient {
 public:
  explicit ControlClient(std::string path) : path_(std::move(path)) {}
  ~ControlClient();

  // Connects; ENOENT/ECONNREFUSED mean no daemon is running.
  std::error_code connect();
  // Sends request and returns the answer. Throws std::runtime_error on I/O
  // failure or a malformed answer.
  nlohmann::json call(const nlohmann::json& request);
  // Sends request, then calls on_line for every line until it returns
  // false or the daemon closes the connection.
  void stream(const nlohmann::json& request, const std::function<bool(const nlohmann::json&)>& on_line);

  const std::string& path() const { return path_; }

 private:
  std::string read_line();
  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace joincast::tools
