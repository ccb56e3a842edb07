// ip_address.hpp — IPv4/IPv6 addresses and prefixes as small values: the
// one address type of every layer (routes, MFC entries, group blocks,
// groups, the config), and Address16, the 16-byte form the BPF maps use
// (IPv6, or IPv4 mapped as ::ffff:a.b.c.d), converted without text.
// Ordered and comparable so they can key maps; parsed from and printed to
// the usual text forms (inet_pton/inet_ntop).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstring>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace joincast {

// The BPF ABI's address form (bpf/shared/*_abi.h: __u8 addr[16]).
using Address16 = std::array<std::uint8_t, 16>;

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
  // IPv4-mapped bytes become an IPv4 address, anything else IPv6.
  static IpAddress from_address16(const Address16& a);
  // IPv4 as ::ffff:a.b.c.d; an empty address is all zeros.
  Address16 to_address16() const;

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


inline IpAddress IpAddress::v4(const in_addr& a) {
  IpAddress r;
  r.family_ = AF_INET;
  std::memcpy(r.bytes_.data(), &a, 4);
  return r;
}

inline IpAddress IpAddress::v6(const in6_addr& a) {
  IpAddress r;
  r.family_ = AF_INET6;
  std::memcpy(r.bytes_.data(), &a, 16);
  return r;
}

inline std::optional<IpAddress> IpAddress::from_bytes(int family, std::span<const std::uint8_t> bytes) {
  IpAddress r;
  if (family == AF_INET && bytes.size() == 4) r.family_ = AF_INET;
  else if (family == AF_INET6 && bytes.size() == 16) r.family_ = AF_INET6;
  else return std::nullopt;
  std::memcpy(r.bytes_.data(), bytes.data(), bytes.size());
  return r;
}

inline std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress r;
  if (text.find(':') != std::string_view::npos) {
    if (::inet_pton(AF_INET6, buf, r.bytes_.data()) != 1) return std::nullopt;
    r.family_ = AF_INET6;
  } else {
    if (::inet_pton(AF_INET, buf, r.bytes_.data()) != 1) return std::nullopt;
    r.family_ = AF_INET;
  }
  return r;
}

inline IpAddress IpAddress::any(int family) {
  IpAddress r;
  r.family_ = static_cast<std::uint8_t>(family);
  return r;
}

inline in_addr IpAddress::to_in_addr() const {
  in_addr a{};
  std::memcpy(&a, bytes_.data(), 4);
  return a;
}

inline in6_addr IpAddress::to_in6_addr() const {
  in6_addr a{};
  std::memcpy(&a, bytes_.data(), 16);
  return a;
}

inline bool IpAddress::is_multicast() const {
  if (is_v4()) return (bytes_[0] & 0xf0) == 0xe0;
  if (is_v6()) return bytes_[0] == 0xff;
  return false;
}

inline bool IpAddress::is_unspecified() const {
  for (std::size_t i = 0; i < size(); ++i)
    if (bytes_[i]) return false;
  return !empty();
}

inline bool IpAddress::is_link_local_multicast() const {
  if (is_v4()) return bytes_[0] == 224 && bytes_[1] == 0 && bytes_[2] == 0;
  if (is_v6()) return bytes_[0] == 0xff && (bytes_[1] & 0x0f) <= 2;
  return false;
}

inline IpAddress IpAddress::masked(unsigned bits) const {
  IpAddress r = *this;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned lo = i * 8;
    if (lo >= bits) r.bytes_[i] = 0;
    else if (lo + 8 > bits) r.bytes_[i] &= static_cast<std::uint8_t>(0xff << (8 - (bits - lo)));
  }
  return r;
}

inline std::string IpAddress::to_string() const {
  if (empty()) return "";
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(family_, bytes_.data(), buf, sizeof buf)) return "?";
  return buf;
}

inline IpPrefix::IpPrefix(const IpAddress& address, unsigned length)
    : address_(address.masked(length)), length_(length) {}

inline std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  unsigned length = address->max_prefix();
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), length);
    if (ec != std::errc() || end != len.data() + len.size() || len.empty()) return std::nullopt;
    if (length > address->max_prefix()) return std::nullopt;
  }
  return IpPrefix(*address, length);
}

inline bool IpPrefix::contains(const IpAddress& a) const {
  return a.family() == family() && a.masked(length_) == address_;
}

inline bool IpPrefix::contains(const IpPrefix& p) const { return p.length_ >= length_ && contains(p.address_); }

inline std::string IpPrefix::to_string(bool compact) const {
  if (compact && is_host()) return address_.to_string();
  return address_.to_string() + "/" + std::to_string(length_);
}

inline const char* family_name(int family) {
  switch (family) {
    case AF_INET: return "ipv4";
    case AF_INET6: return "ipv6";
    default: return "unspec";
  }
}

inline IpAddress IpAddress::from_address16(const Address16& a) {
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.data(), mapped, 12) == 0) return *from_bytes(AF_INET, std::span(a).subspan(12));
  return *from_bytes(AF_INET6, a);
}

inline Address16 IpAddress::to_address16() const {
  Address16 out{};
  if (is_v4()) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, bytes_.data(), 4);
  } else if (is_v6()) {
    std::memcpy(out.data(), bytes_.data(), 16);
  }
  return out;
}

}  // namespace joincast
