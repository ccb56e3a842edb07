// mfc_writer.cpp — bench/routes' library-level measurement: install and
// remove N IPv4 (S,G) entries in the MFC the way joincastd does (rtnetlink
// batches, netlink/socket.hpp) and the way smcrouted does (one
// MRT_ADD_MFC / MRT_DEL_MFC socket option per entry), in the same process
// and table, and print the times as JSON. Runs in a namespace that
// bench/routes/run.sh made, with two interfaces to route between.
//
//   mfc_writer N IIF OIF
#include "netlink/mfc.hpp"
#include "netlink/mroute_socket.hpp"
#include "netlink/socket.hpp"

#include <fmt/format.h>
#include <net/if.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace joincast;
using namespace joincast::netlink;
using Clock = std::chrono::steady_clock;

namespace {

IpAddress group_of(std::size_t i) {
  // 239.(i>>16).(i>>8).i: distinct groups for up to 2^24 entries.
  in_addr a{};
  a.s_addr = htonl(0xef000000u | static_cast<std::uint32_t>(i & 0xffffff));
  return IpAddress::v4(a);
}

std::size_t kernel_entries() {
  std::ifstream in("/proc/net/ip_mr_cache");
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n > 0 ? n - 1 : 0;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

[[noreturn]] void fail(const std::string& what) {
  fmt::print(stderr, "mfc_writer: {}\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) fail("usage: mfc_writer N IIF OIF");
  const std::size_t n = std::stoul(argv[1]);
  const int iif = static_cast<int>(::if_nametoindex(argv[2]));
  const int oif = static_cast<int>(::if_nametoindex(argv[3]));
  if (!iif || !oif) fail("no such interface");
  auto sock = MrouteSocket::open(AF_INET);
  if (!sock) fail("mroute socket: " + sock.error().message());
  auto nl = NetlinkSocket::open();
  if (!nl) fail("netlink: " + nl.error().message());
  if (!sock.value().add_vif(0, iif, 1) || !sock.value().add_vif(1, oif, 1)) fail("VIFs");
  VifTtls ttls{};
  ttls[1] = 1;
  const IpAddress source = *IpAddress::parse("10.1.0.2");

  // joincastd's way: rtnetlink, batched.
  auto t = Clock::now();
  std::vector<Message> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) batch.push_back(new_mfc4(default_mroute_table_ipv4, source, group_of(i), iif, ttls));
  for (const auto& e : nl.value().request_batch(batch))
    if (e) fail("netlink install: " + e.message());
  const double nl_install = ms_since(t);
  if (kernel_entries() != n) fail(fmt::format("{} entries after the netlink install", kernel_entries()));
  t = Clock::now();
  batch.clear();
  for (std::size_t i = 0; i < n; ++i) batch.push_back(del_mfc4(default_mroute_table_ipv4, source, group_of(i)));
  for (const auto& e : nl.value().request_batch(batch))
    if (e) fail("netlink remove: " + e.message());
  const double nl_remove = ms_since(t);
  if (kernel_entries() != 0) fail("entries left after the netlink removal");

  // smcrouted's way: one socket option per entry.
  t = Clock::now();
  for (std::size_t i = 0; i < n; ++i)
    if (!sock.value().add_mfc(source, group_of(i), 0, ttls)) fail("MRT_ADD_MFC");
  const double so_install = ms_since(t);
  if (kernel_entries() != n) fail("entries after the socket-option install");
  t = Clock::now();
  for (std::size_t i = 0; i < n; ++i)
    if (!sock.value().del_mfc(source, group_of(i))) fail("MRT_DEL_MFC");
  const double so_remove = ms_since(t);

  fmt::print("{{\"n\": {}, \"netlink_install_ms\": {:.2f}, \"netlink_remove_ms\": {:.2f}, "
             "\"sockopt_install_ms\": {:.2f}, \"sockopt_remove_ms\": {:.2f}}}\n",
             n, nl_install, nl_remove, so_install, so_remove);
  return 0;
}
