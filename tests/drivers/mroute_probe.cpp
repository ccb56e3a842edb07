// mroute_probe.cpp — drives RouteController::subscribe_membership (the
// membership fallback's source of IGMP/MLD packets) for
// test_routing_membership_tap.py, as the membership module will: a routing
// module with no routes configured, one subscription for a family and some
// interfaces. Prints one JSON line per packet delivered; reads commands on
// stdin: "drop" ends the subscription, EOF ends the program.
//
//   mroute_probe CONTROL_SOCKET ipv4|ipv6 IFNAME...
//
// With "reports" it listens to the kernel's RTM_NEWCACHEREPORT
// notifications instead (RTNLGRP_IPV4_MROUTE_R / IPV6_MROUTE_R) and prints
// each, as netlink::parse_cache_report reads it, until stdin closes.
//
//   mroute_probe reports
#include "daemon/core/control_server.hpp"
#include "daemon/routing/route_controller.hpp"
#include "netlink/mfc.hpp"
#include "netlink/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <fmt/format.h>
#include <net/if.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <poll.h>

#include <cstdio>
#include <iostream>

using namespace joincast;

namespace {

int cache_reports() {
  auto events = netlink::NetlinkSocket::open_events({RTNLGRP_IPV4_MROUTE_R, RTNLGRP_IPV6_MROUTE_R});
  if (!events) {
    fmt::print(stderr, "netlink: {}\n", events.error().message());
    return 1;
  }
  std::cout << nlohmann::json{{"ready", true}}.dump() << std::endl;
  for (;;) {
    pollfd fds[2] = {{events.value().fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) return 1;
    if (fds[1].revents) return 0;
    (void)events.value().read_events([](const nlmsghdr* nlh) -> netlink::Result<void> {
      auto u = netlink::parse_cache_report(nlh);
      if (!u) {
        std::cout << nlohmann::json{{"error", u.error().message()}}.dump() << std::endl;
        return netlink::success();
      }
      std::cout << nlohmann::json{{"family", family_name(u.value().family)},
                                  {"kind", netlink::upcall_kind_name(u.value().kind)},
                                  {"vif", u.value().vif},
                                  {"source", u.value().source.to_string()},
                                  {"group", u.value().group.to_string()},
                                  {"table", u.value().table ? static_cast<long>(*u.value().table) : -1L}}
                       .dump()
                << std::endl;
      return netlink::success();
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "reports") return cache_reports();
  if (argc < 4) {
    fmt::print(stderr, "usage: mroute_probe CONTROL_SOCKET ipv4|ipv6 IFNAME...\n");
    return 2;
  }
  const int family = std::string(argv[2]) == "ipv6" ? AF_INET6 : AF_INET;
  std::vector<std::string> interfaces(argv + 3, argv + argc);
  boost::asio::io_context io;
  daemon::core::ControlServer control(io, argv[1], 0600, "");
  if (auto ec = control.open()) {
    fmt::print(stderr, "control socket: {}\n", ec.message());
    return 1;
  }
  daemon::core::LinkWatcher links(io);
  if (auto r = links.start(); !r) {
    fmt::print(stderr, "link watcher: {}\n", r.error().message());
    return 1;
  }
  daemon::routing::RouteController routes(io, control, daemon::routing::RoutingSection{}, links);
  if (auto r = routes.start(); !r) {
    fmt::print(stderr, "routing: {}\n", r.error().message());
    return 1;
  }
  auto sub = routes.subscribe_membership(family, interfaces, [](const netlink::MembershipPacket& p) {
    char name[IF_NAMESIZE] = "?";
    ::if_indextoname(static_cast<unsigned>(p.ifindex), name);
    nlohmann::json j{{"ifname", name},
                     {"source", p.source.to_string()},
                     {"destination", p.destination.to_string()},
                     {"hop_limit", p.hop_limit},
                     {"router_alert", p.router_alert},
                     {"type", p.message.empty() ? 0 : p.message[0]},
                     {"length", p.message.size()}};
    std::cout << j.dump() << std::endl;
  });
  if (!sub) {
    fmt::print(stderr, "subscribe_membership: {}\n", sub.error().message());
    return 1;
  }
  daemon::routing::MembershipTap::Subscription subscription = std::move(sub.value());
  std::cout << nlohmann::json{{"ready", true}}.dump() << std::endl;

  boost::asio::posix::stream_descriptor in(io, ::dup(STDIN_FILENO));
  boost::asio::streambuf buffer;
  std::function<void()> read = [&] {
    boost::asio::async_read_until(in, buffer, '\n', [&](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        routes.stop();
        links.stop();
        control.close();
        io.stop();
        return;
      }
      std::string line(boost::asio::buffers_begin(buffer.data()),
                       boost::asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(n));
      buffer.consume(n);
      if (line == "drop\n") {
        subscription.reset();
        // The controller releases the VIFs on its next pass.
        boost::asio::post(io, [] { std::cout << nlohmann::json{{"dropped", true}}.dump() << std::endl; });
      }
      read();
    });
  };
  read();
  io.run();
  return 0;
}
