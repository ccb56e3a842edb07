// address_plan.hpp — a group address is a catalogue key (DESIGN.md,
// "Address plan"). IPv6 groups are RFC 3306 unicast-prefix-based,
// ff3<scope>:0040:<64-bit prefix>:<32-bit group id>; the group id's top bit
// is 1 and its other 31 bits are the ServiceNumber:
//
//   bit 30 = 0  internet: [directory slot : directory_bits][station : rest]
//   bit 30 = 1  DVB:      [frequency step : 13][polarisation : 1][service id : 16]
//
// The field widths and the DVB frequency grid come from the configuration
// (AddressLayout); every mapping is reversible and checked both ways.
// IPv4 groups map through a configured block (default 239.255.0.0/16): its
// host bits hold [directory slot : ipv4_directory_bits][station : rest], so
// only internet stations with small numbers have an IPv4 group, unless the
// block has 31 or more host bits, when it holds the whole ServiceNumber.
#pragma once

#include "common/result.hpp"
#include "daemon/catalogue/group_address.hpp"
#include "daemon/core/interface_table.hpp"
#include "netlink/address.hpp"
#include "common/ip_address.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

namespace joincast::daemon::catalogue {

struct AddressLayout {
  unsigned directory_bits = 2;  // internet: slots 0 .. 2^bits-1; the station gets 30 - bits
  std::uint32_t dvb_base_khz = 10'700'000;  // Ku band
  std::uint32_t dvb_step_khz = 250;
  unsigned ipv6_scope = 0xe;  // RFC 4291 scope nibble: e global, 8 organisation, 5 site
  // The 64-bit network prefix; empty until configured or taken from an interface.
  std::optional<std::array<std::uint8_t, 8>> ipv6_prefix;
  std::string ipv6_prefix_interface;  // take the prefix from this interface's global address
  boost::asio::ip::address_v4 ipv4_base = boost::asio::ip::make_address_v4("239.255.0.0");
  unsigned ipv4_prefix_length = 16;
  unsigned ipv4_directory_bits = 2;

  static constexpr unsigned dvb_frequency_bits = 13;
  static constexpr unsigned dvb_service_bits = 16;
  unsigned station_bits() const { return 30 - directory_bits; }
};

// The 31 bits below the group id's top bit.
struct ServiceNumber {
  std::uint32_t value = 0;  // < 2^31
  std::uint32_t group_id() const { return 0x8000'0000u | value; }
  bool dvb() const { return (value >> 30) & 1u; }
  auto operator<=>(const ServiceNumber&) const = default;
};

struct InternetStation {
  unsigned directory = 0;     // slot
  std::uint32_t station = 0;  // number inside the directory
  bool operator==(const InternetStation&) const = default;
};

struct DvbServiceKey {
  std::uint32_t frequency_khz = 0;  // on the layout's grid
  bool vertical = false;            // 1 = vertical (or right-hand circular)
  std::uint16_t service_id = 0;
  bool operator==(const DvbServiceKey&) const = default;
};

using ServiceKey = std::variant<InternetStation, DvbServiceKey>;

class AddressPlan {
 public:
  AddressPlan() = default;
  explicit AddressPlan(AddressLayout layout) : layout_(std::move(layout)) {}

  // Checks widths and the DVB grid; a message for the config error, or "".
  static std::string validate(const AddressLayout& layout);

  const AddressLayout& layout() const { return layout_; }
  void set_ipv6_prefix(const std::array<std::uint8_t, 8>& prefix) { layout_.ipv6_prefix = prefix; }

  ServiceKey decode(ServiceNumber number) const;
  // EINVAL/ERANGE, with a message saying which field, when the key does not fit.
  Result<ServiceNumber> encode(const ServiceKey& key) const;

  // nullopt: no IPv6 prefix known yet.
  std::optional<boost::asio::ip::address_v6> ipv6_group(ServiceNumber number) const;
  // nullopt: the number does not fit the IPv4 block.
  std::optional<boost::asio::ip::address_v4> ipv4_group(ServiceNumber number) const;
  // The number a group stands for, or an error saying why it stands for none.
  Result<ServiceNumber> number_of(const GroupAddress& group) const;

 private:
  AddressLayout layout_;
};

// ff3<scope>:0040:<prefix64>:<id> (RFC 3306 §4: flags P and T set, plen
// 64): the one encoder of unicast-prefix-based groups, for station groups
// (AddressPlan::ipv6_group) and the routing module's group blocks.
IpAddress unicast_prefix_group(const IpPrefix& prefix64, std::uint32_t id, std::uint8_t scope = 0xe);

// The /64 to derive groups from among an interface's addresses: global
// scope, usable (not tentative/deprecated), IPv6; permanent addresses
// before temporary (privacy) ones, then the numerically lowest, so the
// choice is stable across restarts. The one rule: the catalogue's station
// groups and the routing module's group blocks both use it.
std::optional<IpPrefix> derivation_prefix(std::span<const netlink::InterfaceAddress> addresses);

// derivation_prefix() of ifname's addresses in `interfaces` (the daemon's
// LinkWatcher table), as the 8 prefix bytes; nullopt if it has none (yet).
std::optional<std::array<std::uint8_t, 8>> interface_ipv6_prefix(const core::InterfaceTable& interfaces,
                                                                 const std::string& ifname);

// Parses "2001:db8:d0be:f00d::/64" (the length must be 64).
std::optional<std::array<std::uint8_t, 8>> parse_ipv6_prefix(const std::string& text);
std::string format_ipv6_prefix(const std::array<std::uint8_t, 8>& prefix);

}  // namespace joincast::daemon::catalogue
