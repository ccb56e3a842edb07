// service_notify_test.cpp — the sd_notify(3) datagrams joincastd sends
// itself (daemon/core/service_notify.hpp): the bytes a service manager's
// socket receives, at a path and in the abstract namespace.
#include "daemon/core/service_notify.hpp"

#include "common/unique_fd.hpp"

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// A bound datagram socket standing in for systemd's notify socket.
struct Listener {
  joincast::UniqueFd fd{::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  explicit Listener(const std::string& name) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())) == 0);
  }
  std::string receive() const {
    char buf[256];
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? std::string("(nothing)") : std::string(buf, static_cast<std::size_t>(n));
  }
};

}  // namespace

TEST_CASE("notify_service_manager sends the state to $NOTIFY_SOCKET, a path or an abstract name") {
  const std::string path = "/tmp/joincast-notify-test." + std::to_string(::getpid());
  ::unlink(path.c_str());
  for (const std::string& name : {path, "@joincast-notify-test." + std::to_string(::getpid())}) {
    CAPTURE(name);
    Listener listener(name);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    CHECK(joincast::daemon::core::notify_service_manager("READY=1\nSTATUS=running"));
    CHECK(listener.receive() == "READY=1\nSTATUS=running");
  }
  ::unlink(path.c_str());
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(joincast::daemon::core::notify_service_manager("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
  CHECK(joincast::daemon::core::notify_service_manager("READY=1"));  // not under a service manager: nothing to do
}
