// ip_address.hpp — IPv4/IPv6 addresses and prefixes as small values: the
// common currency of routes, MFC entries, group blocks and the config.
// Ordered and comparable so they can key maps; parsed from and printed to
// the usual text forms (inet_pton/inet_ntop).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace joincast::netlink {

class IpAddress {
 public:
  IpAddress() = default;  // family AF_UNSPEC: "no address"

  static IpAddress v4(const in_addr& a);
  static IpAddress v6(const in6_addr& a);
  // 4 bytes for AF_INET, 16 for AF_INET6; anything else is nullopt.
  static std::optional<IpAddress> from_bytes(int family, std::span<const std::uint8_t> bytes);
  // Dotted quad or RFC 4291 text; no scope suffix, no brackets.
  static std::optional<IpAddress> parse(std::string_view text);
  // 0.0.0.0 or ::
  static IpAddress any(int family);

  int family() const { return family_; }
  bool is_v4() const { return family_ == AF_INET; }
  bool is_v6() const { return family_ == AF_INET6; }
  bool empty() const { return family_ == AF_UNSPEC; }
  std::size_t size() const { return is_v4() ? 4 : is_v6() ? 16 : 0; }
  unsigned max_prefix() const { return static_cast<unsigned>(size() * 8); }
  const std::uint8_t* data() const { return bytes_.data(); }
  std::span<const std::uint8_t> bytes() const { return {bytes_.data(), size()}; }

  in_addr to_in_addr() const;
  in6_addr to_in6_addr() const;

  bool is_multicast() const;
  bool is_unspecified() const;  // 0.0.0.0 / ::
  // IPv4 224.0.0.0/24, IPv6 scope 0-2 (interface/link-local): never routed.
  bool is_link_local_multicast() const;
  // The first `bits` bits kept, the rest zero.
  IpAddress masked(unsigned bits) const;
  // Bit i counted from the most significant bit of the first byte.
  bool bit(unsigned i) const { return (bytes_[i / 8] >> (7 - i % 8)) & 1; }

  std::string to_string() const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  std::uint8_t family_ = AF_UNSPEC;
  std::array<std::uint8_t, 16> bytes_{};
};

// An address with a prefix length; the address is always the network
// (host bits zero), so equal prefixes compare equal however they were
// written.
class IpPrefix {
 public:
  IpPrefix() = default;
  IpPrefix(const IpAddress& address, unsigned length);
  static IpPrefix host(const IpAddress& a) { return {a, a.max_prefix()}; }
  // "a.b.c.d", "a.b.c.d/len", "x::y", "x::y/len". The length must fit the
  // family; host bits are cleared.
  static std::optional<IpPrefix> parse(std::string_view text);

  const IpAddress& address() const { return address_; }
  unsigned length() const { return length_; }
  int family() const { return address_.family(); }
  bool is_host() const { return length_ == address_.max_prefix(); }
  bool contains(const IpAddress& a) const;
  bool contains(const IpPrefix& p) const;
  // "a/len", or just "a" for a host prefix when `compact`.
  std::string to_string(bool compact = false) const;

  auto operator<=>(const IpPrefix&) const = default;
  bool operator==(const IpPrefix&) const = default;

 private:
  IpAddress address_;
  unsigned length_ = 0;
};

const char* family_name(int family);  // "ipv4", "ipv6", "unspec"

}  // namespace joincast::netlink
