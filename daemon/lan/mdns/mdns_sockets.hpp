// mdns_sockets.hpp — the relay's two UDP sockets on port 5353 (IPv4 and
// IPv6), bound to the wildcard address with SO_REUSEADDR and SO_REUSEPORT
// so an avahi-daemon (or any responder) on the router binds the same port
// beside them. Each datagram comes with its arrival interface
// (IP_PKTINFO / IPV6_RECVPKTINFO); sends go out of one chosen interface
// with TTL/hop limit 255 (RFC 6762 §11) and without looping back to this
// host's own sockets.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace joincast::daemon::lan::mdns {

constexpr std::uint16_t mdns_port = 5353;
// RFC 6762 §17: a message may be up to 9000 bytes; one larger is malformed.
constexpr std::size_t max_message_size = 9000;

IpAddress mdns_group(int family);  // 224.0.0.251 or ff02::fb

struct Datagram {
  std::vector<std::uint8_t> bytes;
  bool oversized = false;  // more than max_message_size (bytes holds the start)
  int ifindex = 0;
  IpAddress source;
  std::uint16_t source_port = 0;
};

class MdnsSocket {
 public:
  static Result<MdnsSocket> open(int family);

  int fd() const { return fd_.get(); }
  int family() const { return family_; }
  Result<void> join(int ifindex, const IpAddress& local);
  Result<void> leave(int ifindex, const IpAddress& local);
  // One datagram, or errc::resource_unavailable_try_again when none waits.
  Result<Datagram> receive();
  // To the group on port 5353, out of `ifindex`, from `local`.
  Result<void> send(int ifindex, const IpAddress& local, std::span<const std::uint8_t> bytes) const;
  // To `to`:`port` by unicast (the answer to a legacy query, RFC 6762
  // §6.7), out of `ifindex`, from `local` and port 5353.
  Result<void> send_unicast(int ifindex, const IpAddress& local, const IpAddress& to, std::uint16_t port,
                            std::span<const std::uint8_t> bytes) const;

 private:
  MdnsSocket(UniqueFd fd, int family) : fd_(std::move(fd)), family_(family) {}
  Result<void> send_to(int ifindex, const IpAddress& local, const IpAddress& to, std::uint16_t port,
                       std::span<const std::uint8_t> bytes) const;
  UniqueFd fd_;
  int family_ = AF_INET;
};

}  // namespace joincast::daemon::lan::mdns
