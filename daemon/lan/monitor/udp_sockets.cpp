// udp_sockets.cpp — see udp_sockets.hpp.
#include "daemon/lan/monitor/udp_sockets.hpp"

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace joincast::daemon::lan::monitor {

namespace {

std::optional<std::uint32_t> hex32(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// "0100007F:0035" (IPv4: one word in host order) or 32 hex digits of four
// host-order words (IPv6), then the port in hex.
std::optional<BoundUdp> parse_local(std::string_view field, int family) {
  auto colon = field.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view addr = field.substr(0, colon);
  auto port = hex32(field.substr(colon + 1));
  if (!port || *port > 0xffff) return std::nullopt;
  const std::size_t words = family == AF_INET ? 1 : 4;
  if (addr.size() != words * 8) return std::nullopt;
  std::uint8_t bytes[16] = {};
  for (std::size_t w = 0; w < words; ++w) {
    auto v = hex32(addr.substr(w * 8, 8));
    if (!v) return std::nullopt;
    // The kernel printed the word as a host-order integer: its bytes in
    // memory are the address bytes.
    std::memcpy(bytes + w * 4, &*v, 4);
  }
  auto a = IpAddress::from_bytes(family, {bytes, words * 4});
  if (!a) return std::nullopt;
  return BoundUdp{*a, static_cast<std::uint16_t>(*port)};
}

}  // namespace

std::vector<BoundUdp> parse_proc_net_udp(std::string_view text, int family) {
  std::vector<BoundUdp> out;
  std::size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (header) {
      header = false;
      continue;
    }
    // "  sl  local_address rem_address   st ..." : the second field.
    std::size_t a = line.find_first_not_of(' ');
    if (a == std::string_view::npos) continue;
    a = line.find(' ', a);
    if (a == std::string_view::npos) continue;
    a = line.find_first_not_of(' ', a);
    if (a == std::string_view::npos) continue;
    std::size_t b = line.find(' ', a);
    if (auto bound = parse_local(line.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a), family))
      out.push_back(*bound);
  }
  return out;
}

Result<std::vector<BoundUdp>> read_bound_udp() {
  std::vector<BoundUdp> all;
  for (auto [path, family] : {std::pair{"/proc/net/udp", AF_INET}, std::pair{"/proc/net/udp6", AF_INET6}}) {
    std::ifstream in(path);
    if (!in) {
      // No IPv6 in this kernel: nothing listens there.
      if (family == AF_INET6) continue;
      return Error(last_error()).context(path);
    }
    std::stringstream text;
    text << in.rdbuf();
    auto part = parse_proc_net_udp(text.str(), family);
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

bool receives(const std::vector<BoundUdp>& bound, const IpAddress& group, std::uint16_t port, const IpAddress& local) {
  for (const auto& b : bound) {
    if (b.port != port) continue;
    if (b.address.is_unspecified() && (b.address.family() == group.family() || b.address.is_v6())) return true;
    if (b.address == group || (!local.empty() && b.address == local)) return true;
  }
  return false;
}

}  // namespace joincast::daemon::lan::monitor
