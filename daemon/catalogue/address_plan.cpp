// address_plan.cpp — see address_plan.hpp.
#include "daemon/catalogue/address_plan.hpp"

#include <fmt/format.h>
#include <linux/if_addr.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>

namespace joincast::daemon::catalogue {


std::string AddressPlan::validate(const AddressLayout& l) {
  if (l.directory_bits > 8) return "directory_bits must be at most 8";
  if (l.dvb_step_khz == 0) return "dvb_frequency_step_khz must be positive";
  if (l.ipv6_scope > 15) return "ipv6_scope must be a hex digit";
  if (l.ipv4_prefix_length < 1 || l.ipv4_prefix_length > 31) return "ipv4_block prefix length must be 1..31";
  if (!boost::asio::ip::address_v4(l.ipv4_base).is_multicast()) return "ipv4_block must be a multicast block";
  unsigned host = 32 - l.ipv4_prefix_length;
  if (host < 31 && l.ipv4_directory_bits > host) return "ipv4_directory_bits exceeds the block's host bits";
  if (host < 31 && l.ipv4_directory_bits > l.directory_bits)
    return "ipv4_directory_bits must not exceed directory_bits";
  if ((l.ipv4_base.to_uint() & ((host >= 32 ? 0xffffffffu : (1u << host) - 1u))) != 0)
    return "ipv4_block has host bits set";
  return {};
}

ServiceKey AddressPlan::decode(ServiceNumber number) const {
  const std::uint32_t v = number.value & 0x7fff'ffffu;
  if (number.dvb()) {
    DvbServiceKey k;
    k.service_id = static_cast<std::uint16_t>(v & 0xffffu);
    k.vertical = (v >> 16) & 1u;
    std::uint32_t step = (v >> 17) & ((1u << AddressLayout::dvb_frequency_bits) - 1u);
    k.frequency_khz = layout_.dvb_base_khz + step * layout_.dvb_step_khz;
    return k;
  }
  const unsigned sbits = layout_.station_bits();
  InternetStation s;
  s.station = v & ((1u << sbits) - 1u);
  s.directory = (v >> sbits) & ((1u << layout_.directory_bits) - 1u);
  return s;
}

Result<ServiceNumber> AddressPlan::encode(const ServiceKey& key) const {
  if (const auto* s = std::get_if<InternetStation>(&key)) {
    const unsigned sbits = layout_.station_bits();
    if (s->directory >= (1u << layout_.directory_bits)) {
      return Error(errno_error(ERANGE), fmt::format("directory slot {} does not fit {} bits", s->directory, layout_.directory_bits));
    }
    if (sbits < 32 && s->station >= (1u << sbits)) {
      return Error(errno_error(ERANGE), fmt::format("station {} does not fit {} bits", s->station, sbits));
    }
    return ServiceNumber{(s->directory << sbits) | s->station};
  }
  const auto& d = std::get<DvbServiceKey>(key);
  if (d.frequency_khz < layout_.dvb_base_khz || (d.frequency_khz - layout_.dvb_base_khz) % layout_.dvb_step_khz) {
    return Error(errno_error(EINVAL), fmt::format("{} kHz is not on the grid {} kHz + n × {} kHz", d.frequency_khz, layout_.dvb_base_khz,
                             layout_.dvb_step_khz));
  }
  std::uint32_t step = (d.frequency_khz - layout_.dvb_base_khz) / layout_.dvb_step_khz;
  if (step >= (1u << AddressLayout::dvb_frequency_bits)) {
    return Error(errno_error(ERANGE), fmt::format("{} kHz is above the grid's top {} kHz", d.frequency_khz,
                             layout_.dvb_base_khz + ((1u << AddressLayout::dvb_frequency_bits) - 1) *
                                                        layout_.dvb_step_khz));
  }
  return ServiceNumber{(1u << 30) | (step << 17) | (d.vertical ? 1u << 16 : 0u) | d.service_id};
}

std::optional<boost::asio::ip::address_v6> AddressPlan::ipv6_group(ServiceNumber number) const {
  if (!layout_.ipv6_prefix) return std::nullopt;
  std::array<std::uint8_t, 16> prefix{};
  std::memcpy(prefix.data(), layout_.ipv6_prefix->data(), 8);
  const IpPrefix prefix64(*IpAddress::from_bytes(AF_INET6, prefix), 64);
  const auto group = unicast_prefix_group(prefix64, number.group_id(), static_cast<std::uint8_t>(layout_.ipv6_scope));
  boost::asio::ip::address_v6::bytes_type b{};
  std::memcpy(b.data(), group.data(), 16);
  return boost::asio::ip::address_v6(b);
}

std::optional<boost::asio::ip::address_v4> AddressPlan::ipv4_group(ServiceNumber number) const {
  const unsigned host = 32 - layout_.ipv4_prefix_length;
  const std::uint32_t base = layout_.ipv4_base.to_uint();
  if (host >= 31) return boost::asio::ip::address_v4(base | number.value);
  auto key = decode(number);
  const auto* s = std::get_if<InternetStation>(&key);
  if (!s) return std::nullopt;
  const unsigned dbits = layout_.ipv4_directory_bits;
  const unsigned sbits = host - dbits;
  if (s->directory >= (1u << dbits) || s->station >= (1u << sbits)) return std::nullopt;
  return boost::asio::ip::address_v4(base | (s->directory << sbits) | s->station);
}

Result<ServiceNumber> AddressPlan::number_of(const GroupAddress& group) const {
  const auto& a = group.address();
  if (a.is_v6()) {
    auto b = a.to_v6().to_bytes();
    if (b[0] != 0xff || (b[1] >> 4) != 0x3 || b[3] != 64) {
      return Error(errno_error(EINVAL), "not an RFC 3306 unicast-prefix-based group (ff3X:0040:…)");
    }
    if (!layout_.ipv6_prefix) {
      return Error(errno_error(EAGAIN), "no IPv6 prefix is known yet (address_plan.ipv6_prefix or ipv6_prefix_interface)");
    }
    if (std::memcmp(&b[4], layout_.ipv6_prefix->data(), 8) != 0) {
      return Error(errno_error(EINVAL), "the group's prefix is not " + format_ipv6_prefix(*layout_.ipv6_prefix));
    }
    if ((b[1] & 0x0f) != layout_.ipv6_scope) {
      return Error(errno_error(EINVAL), fmt::format("scope {:x} is not the configured scope {:x}", b[1] & 0x0f, layout_.ipv6_scope));
    }
    std::uint32_t id = (std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) | (std::uint32_t{b[14]} << 8) | b[15];
    if (!(id & 0x8000'0000u)) {
      return Error(errno_error(EINVAL), "the group id's top bit is 0 (joincast's groups have it set)");
    }
    return ServiceNumber{id & 0x7fff'ffffu};
  }
  const std::uint32_t v = a.to_v4().to_uint();
  const unsigned host = 32 - layout_.ipv4_prefix_length;
  const std::uint32_t mask = host >= 32 ? 0 : ~((1u << host) - 1u);
  if ((v & mask) != layout_.ipv4_base.to_uint()) {
    return Error(errno_error(EINVAL), fmt::format("not inside the IPv4 block {}/{}", layout_.ipv4_base.to_string(),
                             layout_.ipv4_prefix_length));
  }
  const std::uint32_t bits = v & ~mask;
  if (host >= 31) return ServiceNumber{bits & 0x7fff'ffffu};
  const unsigned sbits = host - layout_.ipv4_directory_bits;
  InternetStation s{bits >> sbits, bits & ((1u << sbits) - 1u)};
  return encode(s);
}

std::optional<std::array<std::uint8_t, 8>> parse_ipv6_prefix(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || text.substr(slash + 1) != "64") return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address_v6(text.substr(0, slash), ec);
  if (ec) return std::nullopt;
  auto b = a.to_bytes();
  std::array<std::uint8_t, 8> p{};
  std::memcpy(p.data(), b.data(), 8);
  return p;
}

std::string format_ipv6_prefix(const std::array<std::uint8_t, 8>& prefix) {
  boost::asio::ip::address_v6::bytes_type b{};
  std::memcpy(b.data(), prefix.data(), 8);
  return boost::asio::ip::address_v6(b).to_string() + "/64";
}

IpAddress unicast_prefix_group(const IpPrefix& prefix64, std::uint32_t id, std::uint8_t scope) {
  std::array<std::uint8_t, 16> b{};
  b[0] = 0xff;
  b[1] = static_cast<std::uint8_t>(0x30 | (scope & 0x0f));  // flags 0,0,P,T
  b[2] = 0x00;                                               // reserved
  b[3] = 64;                                                 // plen
  std::copy_n(prefix64.address().data(), 8, b.begin() + 4);
  b[12] = static_cast<std::uint8_t>(id >> 24);
  b[13] = static_cast<std::uint8_t>(id >> 16);
  b[14] = static_cast<std::uint8_t>(id >> 8);
  b[15] = static_cast<std::uint8_t>(id);
  return *IpAddress::from_bytes(AF_INET6, b);
}

std::optional<IpPrefix> derivation_prefix(std::span<const netlink::InterfaceAddress> addresses) {
  std::optional<IpPrefix> best;
  bool best_temporary = true;
  for (const auto& a : addresses) {
    if (a.family() != AF_INET6 || a.deleted || !a.usable_global()) continue;
    // fc00::/7 (ULA) is as good a prefix as any global one: RFC 3306
    // only asks for a unicast prefix the network owns.
    const bool temporary = a.flags & IFA_F_TEMPORARY;
    IpPrefix p(a.address, 64);
    if (!best || (best_temporary && !temporary) || (temporary == best_temporary && p < *best)) {
      best = p;
      best_temporary = temporary;
    }
  }
  return best;
}

std::optional<std::array<std::uint8_t, 8>> interface_ipv6_prefix(const core::InterfaceTable& interfaces,
                                                                 const std::string& ifname) {
  auto ifindex = interfaces.ifindex(ifname);
  if (!ifindex) return std::nullopt;
  auto p = derivation_prefix(interfaces.addresses(*ifindex));
  if (!p) return std::nullopt;
  std::array<std::uint8_t, 8> out{};
  std::memcpy(out.data(), p->address().data(), 8);
  return out;
}

}  // namespace joincast::daemon::catalogue
