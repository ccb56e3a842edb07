// mroute_probe.cpp — drives RouteController::subscribe_membership (the
// membership fallback's source of IGMP/MLD packets) for
// test_routing_membership_tap.py, as the membership module will: a routing
// module with no routes configured, one subscription for a family and some
// interfaces. Prints one JSON line per packet delivered; reads commands on
// stdin: "drop" ends the subscription, EOF ends the program.
//
//   mroute_probe CONTROL_SOCKET ipv4|ipv6 IFNAME...
#include "daemon/control_server.hpp"
#include "daemon/route_controller.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <fmt/format.h>
#include <net/if.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>

using namespace joincast;

int main(int argc, char** argv) {
  if (argc < 4) {
    fmt::print(stderr, "usage: mroute_probe CONTROL_SOCKET ipv4|ipv6 IFNAME...\n");
    return 2;
  }
  const int family = std::string(argv[2]) == "ipv6" ? AF_INET6 : AF_INET;
  std::vector<std::string> interfaces(argv + 3, argv + argc);
  boost::asio::io_context io;
  daemon::ControlServer control(io, argv[1], 0600, "");
  if (auto ec = control.open()) {
    fmt::print(stderr, "control socket: {}\n", ec.message());
    return 1;
  }
  daemon::RouteController routes(io, control, daemon::RoutingSection{});
  if (!routes.start()) return 1;
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
  daemon::RouteController::MembershipSubscription subscription = std::move(sub.value());
  std::cout << nlohmann::json{{"ready", true}}.dump() << std::endl;

  boost::asio::posix::stream_descriptor in(io, ::dup(STDIN_FILENO));
  boost::asio::streambuf buffer;
  std::function<void()> read = [&] {
    boost::asio::async_read_until(in, buffer, '\n', [&](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        routes.stop();
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
