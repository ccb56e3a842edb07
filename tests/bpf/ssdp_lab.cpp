// ssdp_lab.cpp — see ssdp_lab.hpp.
#include "tests/bpf/ssdp_lab.hpp"

#include "tests/bpf/harness.hpp"  // private_bpffs(), test_run()

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <doctest/doctest.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace joincast::tests {

namespace fs = std::filesystem;
using joincast::daemon::lan::ssdp::counter_fields;
using joincast::daemon::lan::ssdp::SsdpProgram;

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

void sh(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f.flush()) throw std::runtime_error("cannot write " + path);
}

// This process's network namespace with the veth pairs jcs0..2 /
// jcs0p..2p, made once. IPv6 is off so that the interfaces send nothing of
// their own into the captures.
void private_network() {
  static bool done = [] {
    if (::unshare(CLONE_NEWNET) < 0) fail("unshare(CLONE_NEWNET) (run as root)", errno);
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    for (int i = 0; i < SsdpLab::ports; ++i) {
      std::string n = "jcs" + std::to_string(i);
      sh("ip link add " + n + " address 02:00:00:00:0a:0" + std::to_string(i) + " type veth peer name " + n +
         "p address 02:00:00:00:0b:0" + std::to_string(i));
      sh("ip link set " + n + " up && ip link set " + n + "p up");
    }
    return true;
  }();
  (void)done;
}

bool is_ssdp_mac(const Bytes& f) {
  static const std::uint8_t v4[6] = {0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa};
  static const std::uint8_t v6[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x0c};
  return f.size() >= 14 && (std::memcmp(f.data(), v4, 6) == 0 || std::memcmp(f.data(), v6, 6) == 0);
}

}  // namespace

std::string host_of(int port, int host) { return "192.0.2." + std::to_string(64 * port + host); }

SsdpLab::SsdpLab() {
  private_network();
  static std::atomic<int> serial{0};
  pin_root_ = (fs::path(private_bpffs()) / ("ssdp-" + std::to_string(++serial))).string();
  SsdpProgram::Options o;
  o.pin_root = pin_root_;
  auto loaded = SsdpProgram::load(o);
  if (!loaded) fail("loading the ssdp program at " + pin_root_ + ": " + loaded.error().message(), loaded.error().value());
  program_ = std::move(loaded).value();
  for (int i = 0; i < ports; ++i) {
    auto& p = ports_[static_cast<std::size_t>(i)];
    p.name = "jcs" + std::to_string(i);
    p.ifindex = ::if_nametoindex(p.name.c_str());
    if (!p.ifindex) fail("if_nametoindex " + p.name, errno);
    p.mac = {0x02, 0, 0, 0, 0x0a, static_cast<std::uint8_t>(i)};
    std::string far = p.name + "p";
    p.capture = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (p.capture < 0) fail("packet socket", errno);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(::if_nametoindex(far.c_str()));
    if (::bind(p.capture, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) fail("bind " + far, errno);
    (void)drain(i);
  }
}

SsdpLab::~SsdpLab() {
  for (auto& p : ports_)
    if (p.capture >= 0) ::close(p.capture);
  program_.reset();
  (void)SsdpProgram::unpin(pin_root_);
}

jc_ssdp_iface SsdpLab::iface(int i) const {
  jc_ssdp_iface e{};
  e.zone = 1;
  e.flags = JC_SSDP_F_IPV4 | JC_SSDP_F_IPV6 | JC_SSDP_F_REWRITE;
  std::memcpy(e.mac, port(i).mac.data(), 6);
  e.ports[0] = 1900;
  e.ports[1] = 6969;
  in_addr a{};
  ::inet_pton(AF_INET, host_of(i, 0).c_str(), &a);
  e.subnet[0] = a.s_addr;
  e.mask[0] = htonl(0xffffffc0);
  return e;
}

void SsdpLab::add_peer(jc_ssdp_iface& e, const SsdpPort& to, std::uint8_t kinds, std::uint8_t ttl) {
  if (e.peer_count >= JC_SSDP_MAX_PEERS) throw std::logic_error("too many peers");
  auto& p = e.peers[e.peer_count++];
  p.ifindex = to.ifindex;
  p.kinds = kinds;
  p.ttl = ttl;
}

void SsdpLab::configure(int i, const jc_ssdp_iface& e) {
  auto r = program_->configure(port(i).ifindex, e);
  if (!r) throw std::runtime_error("configure: " + r.error().message());
}

void SsdpLab::full_mesh() {
  constexpr std::uint8_t all = JC_SSDP_SEARCH | JC_SSDP_NOTIFY | JC_SSDP_OTHER;
  for (int i = 0; i < ports; ++i) {
    auto e = iface(i);
    for (int j = 0; j < ports; ++j)
      if (j != i) add_peer(e, port(j), all);
    configure(i, e);
  }
}

SsdpLab::Run SsdpLab::run(const Bytes& frame, int i, std::uint32_t mark) {
  std::uint32_t retval = 0;
  Bytes out;
  int err = test_run(program_->program_fd(), frame, static_cast<std::uint32_t>(port(i).ifindex), &retval, &out, mark);
  REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::string(std::strerror(-err)));
  return {retval, std::move(out)};
}

void SsdpLab::run_unchanged(const Bytes& frame, int i, std::uint32_t mark) {
  auto r = run(frame, i, mark);
  CHECK_MESSAGE(static_cast<int>(r.verdict) == TC_ACT_UNSPEC, "verdict ", static_cast<int>(r.verdict));
  CHECK_MESSAGE(r.out == frame, "the program changed the packet");
}

std::optional<Bytes> SsdpLab::next_copy(int i, int seconds) {
  int fd = port(i).capture;
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, seconds * 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    Bytes f(4096);
    ssize_t got = ::recv(fd, f.data(), f.size(), 0);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      fail("recv", errno);
    }
    f.resize(static_cast<std::size_t>(got));
    if (is_ssdp_mac(f)) return f;
  }
}

std::vector<Bytes> SsdpLab::drain(int i) {
  std::vector<Bytes> out;
  for (;;) {
    Bytes f(4096);
    ssize_t got = ::recv(port(i).capture, f.data(), f.size(), MSG_DONTWAIT);
    if (got < 0) return out;
    f.resize(static_cast<std::size_t>(got));
    if (is_ssdp_mac(f)) out.push_back(std::move(f));
  }
}

jc_ssdp_counters SsdpLab::counters(int i, std::uint32_t direction) const {
  auto all = program_->counters();
  if (!all) throw std::runtime_error("reading counters: " + all.error().message());
  for (const auto& e : all.value())
    if (e.key.ifindex == port(i).ifindex && e.key.direction == direction) return e.value;
  return {};
}

void check_ssdp_counters(const jc_ssdp_counters& actual, const jc_ssdp_counters& expected) {
  for (const auto& f : counter_fields) {
    INFO("counter ", std::string(f.name));
    CHECK(actual.*f.member == expected.*f.member);
  }
}

bool checksums_valid(const Bytes& f, std::string* why) {
  auto say = [&](const char* w) {
    if (why) *why = w;
    return false;
  };
  if (f.size() < 14 + 20) return say("short");
  std::uint16_t type = static_cast<std::uint16_t>(f[12] << 8 | f[13]);
  Bytes pseudo;
  std::size_t l4 = 0, ulen = 0;
  if (type == 0x0800) {
    std::size_t ihl = (f[14] & 0x0f) * 4u;
    if (inet_checksum(&f[14], ihl) != 0) return say("IPv4 header checksum");
    l4 = 14 + ihl;
    pseudo.insert(pseudo.end(), &f[14 + 12], &f[14 + 20]);
    ulen = static_cast<std::size_t>(f[l4 + 4] << 8 | f[l4 + 5]);
    pseudo.insert(pseudo.end(), {0, 17, f[l4 + 4], f[l4 + 5]});
    if (f[l4 + 6] == 0 && f[l4 + 7] == 0) return true;  // no UDP checksum
  } else if (type == 0x86dd) {
    l4 = 14 + 40;
    pseudo.insert(pseudo.end(), &f[14 + 8], &f[14 + 40]);
    ulen = static_cast<std::size_t>(f[l4 + 4] << 8 | f[l4 + 5]);
    pseudo.insert(pseudo.end(), {0, 0, f[l4 + 4], f[l4 + 5], 0, 0, 0, 17});
  } else {
    return say("not IP");
  }
  if (l4 + ulen > f.size()) return say("UDP length beyond the frame");
  std::uint32_t seed = 0;
  for (std::size_t i = 0; i + 1 < pseudo.size(); i += 2) seed += static_cast<std::uint32_t>(pseudo[i] << 8 | pseudo[i + 1]);
  if (inet_checksum(&f[l4], ulen, seed) != 0) return say("UDP checksum");
  return true;
}

Bytes with_source_mac(Bytes frame, const Mac& mac) {
  std::copy(mac.begin(), mac.end(), frame.begin() + 6);
  return frame;
}

Bytes relayed_copy(Bytes frame, const Mac& mac) {
  frame = with_source_mac(std::move(frame), mac);
  if (frame.size() >= 18 && frame[12] == 0x86 && frame[13] == 0xdd) {
    frame[15] = static_cast<std::uint8_t>((frame[15] & 0xf0) | ((JC_SSDP_FLOW_LABEL >> 16) & 0x0f));
    frame[16] = static_cast<std::uint8_t>(JC_SSDP_FLOW_LABEL >> 8);
    frame[17] = static_cast<std::uint8_t>(JC_SSDP_FLOW_LABEL);
  }
  return frame;
}

}  // namespace joincast::tests
