// multicast_socket.hpp — UDP sockets for multicast with nothing left to
// the routing table: senders bind their source address and set their
// egress interface, hop limit (TTL) and loopback explicitly; receivers
// join on a named interface. On a router the local table holds an
// `ff00::/8` route per interface and the kernel's choice among them
// changes between boots, so a socket that does not choose, sends wherever.
#pragma once

#include "common/unique_fd.hpp"
#include "media/error.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <utility>

namespace joincast::media {

using joincast::UniqueFd;

// sockaddr for an address and port (sockaddr_in or sockaddr_in6).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  static SocketAddress from(const boost::asio::ip::address& address, std::uint16_t port, unsigned scope_id = 0);
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

Result<unsigned> interface_index(std::string_view name);
// The interface's MTU (SIOCGIFMTU).
Result<unsigned> interface_mtu(std::string_view name);
// The interface's first global address of the family (IPv6: not
// link-local; IPv4: any). ENOENT if it has none.
Result<boost::asio::ip::address> interface_address(std::string_view name, bool ipv6);

struct SenderSocketOptions {
  boost::asio::ip::address source;  // bound, so every packet leaves from it
  unsigned ifindex = 0;             // IPV6_MULTICAST_IF / IP_MULTICAST_IF
  unsigned hops = 16;               // IPV6_MULTICAST_HOPS / IP_MULTICAST_TTL
  bool loop = true;                 // local listeners on the headend hear it too
  // The source port; 0: any. A fixed one (the stream's RTP port, RFC 4961
  // symmetric RTP) keeps a restarted sender's transport address: GStreamer's
  // rtpsession takes the same SSRC from a new address for a collision and
  // drops it. Shared (SO_REUSEPORT) by every worker's socket.
  std::uint16_t port = 0;
};
// A non-blocking UDP socket for sending multicast.
Result<UniqueFd> open_sender_socket(const SenderSocketOptions& options);

struct ReceiverSocketOptions {
  boost::asio::ip::address group;   // joined, and bound to (only its traffic arrives)
  std::uint16_t port = 0;
  unsigned ifindex = 0;             // the interface the join is made on
  std::optional<boost::asio::ip::address> source;  // SSM: only from this sender
  bool reuse = true;                // SO_REUSEADDR: several sockets on one group:port
};
// A non-blocking UDP socket that receives one group's (or a unicast
// address's) traffic on a port. Multicast groups are joined on ifindex;
// IP(V6)_MULTICAST_ALL is switched off so no other group's traffic
// arrives through other sockets' joins.
Result<UniqueFd> open_receiver_socket(const ReceiverSocketOptions& options);

}  // namespace joincast::media
