// control_client.cpp — see control_client.hpp. Plain blocking sockets: the
// CLI does one thing and exits.
#include "tools/control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace joincast::tools {

ControlClient::~ControlClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::error_code ControlClient::connect() {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return {errno, std::generic_category()};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) return std::make_error_code(std::errc::filename_too_long);
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) return {errno, std::generic_category()};
  return {};
}

std::string ControlClient::read_line() {
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    char chunk[65536];
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("reading from joincastd: ") + std::strerror(errno));
    if (n == 0) throw std::runtime_error("joincastd closed the connection");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

nlohmann::json ControlClient::call(const nlohmann::json& request) {
  std::string line = request.dump() + "\n";
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("writing to joincastd: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  try {
    return nlohmann::json::parse(read_line());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed answer from joincastd: ") + e.what());
  }
}

void ControlClient::stream(const nlohmann::json& request,
                           const std::function<bool(const nlohmann::json&)>& on_line) {
  nlohmann::json first = call(request);
  if (!on_line(first)) return;
  for (;;) {
    std::string line;
    try {
      line = read_line();
    } catch (const std::runtime_error&) {
      return;
    }
    if (!on_line(nlohmann::json::parse(line, nullptr, false))) return;
  }
}

}  // namespace joincast::tools
