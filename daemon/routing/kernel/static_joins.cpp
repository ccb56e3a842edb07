// static_joins.cpp — see static_joins.hpp.
#include "daemon/routing/kernel/static_joins.hpp"

#include <fmt/format.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace joincast::daemon::routing::kernel {

namespace {

int level_of(int family) { return family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6; }

void fill(sockaddr_storage& ss, const IpAddress& a) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_addr = a.to_in_addr();
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr = a.to_in6_addr();
  }
}

int request(int fd, bool join, const PlannedJoin& j) {
  const int family = j.group.family();
  if (j.source) {
    group_source_req r{};
    r.gsr_interface = static_cast<std::uint32_t>(j.ifindex);
    fill(r.gsr_group, j.group);
    fill(r.gsr_source, *j.source);
    return ::setsockopt(fd, level_of(family), join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &r, sizeof r);
  }
  group_req r{};
  r.gr_interface = static_cast<std::uint32_t>(j.ifindex);
  fill(r.gr_group, j.group);
  return ::setsockopt(fd, level_of(family), join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP, &r, sizeof r);
}

}  // namespace

StaticJoins::~StaticJoins() { clear(); }

void StaticJoins::clear() {
  // Closing a socket leaves its groups.
  for (auto& s : sockets_) ::close(s.fd);
  sockets_.clear();
  joined_.clear();
}

Result<int> StaticJoins::socket_for(int family) {
  for (auto& s : sockets_)
    if (s.family == family && !s.full) return s.fd;
  int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return last_error();
  sockets_.push_back({fd, family, 0, false});
  return fd;
}

void StaticJoins::release(int fd) {
  auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const Socket& s) { return s.fd == fd; });
  if (it == sockets_.end()) return;
  if (--it->members == 0) {
    ::close(it->fd);
    sockets_.erase(it);
  } else {
    it->full = false;
  }
}

Result<void> StaticJoins::join(const PlannedJoin& j) {
  if (joined_.count(j)) return success();
  for (;;) {
    auto fd = socket_for(j.group.family());
    if (!fd) return fd.error();
    if (request(fd.value(), true, j) == 0 || errno == EADDRINUSE) {
      joined_.emplace(j, fd.value());
      for (auto& s : sockets_)
        if (s.fd == fd.value()) ++s.members;
      return success();
    }
    if (errno != ENOBUFS) return last_error();
    // This socket holds as many groups as the kernel allows one socket.
    auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const Socket& s) { return s.fd == fd.value(); });
    if (it->members == 0) return errno_error(ENOBUFS);  // not even one: a system limit
    it->full = true;
  }
}

Result<void> StaticJoins::leave(const PlannedJoin& j) {
  auto it = joined_.find(j);
  if (it == joined_.end()) return success();
  const int fd = it->second;
  int rc = request(fd, false, j);
  const int e = errno;
  joined_.erase(it);
  release(fd);
  if (rc < 0 && e != EADDRNOTAVAIL && e != ENODEV && e != EINVAL) return errno_error(e);
  return success();
}

void StaticJoins::forget_interface(int ifindex) {
  for (auto it = joined_.begin(); it != joined_.end();) {
    if (it->first.ifindex == ifindex) {
      const int fd = it->second;
      it = joined_.erase(it);
      release(fd);
    } else {
      ++it;
    }
  }
}

std::vector<PlannedJoin> StaticJoins::joined() const {
  std::vector<PlannedJoin> out;
  for (const auto& [j, fd] : joined_) out.push_back(j);
  return out;
}

Result<void> StaticJoins::apply(const std::set<PlannedJoin>& wanted, Transaction& tx, const core::InterfaceTable& interfaces) {
  for (const auto& j : joined()) {
    if (wanted.count(j)) continue;
    auto r = leave(j);
    if (!r) {
      Error m(r.error(), fmt::format("cannot leave {} on {}: {}", j.group.to_string(), interfaces.name(j.ifindex),
                                     r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)join(j); });
  }
  for (const auto& j : wanted) {
    auto r = join(j);
    if (!r) {
      Error m(r.error(), fmt::format("cannot join {}{} on {} ({}): {}", j.source ? j.source->to_string() + " " : "",
                                     j.group.to_string(), interfaces.name(j.ifindex), j.origin, r.error().message()));
      if (tx.failed(m)) return m;
      continue;
    }
    tx.done([this, j] { (void)leave(j); });
  }
  return success();
}

}  // namespace joincast::daemon::routing::kernel
