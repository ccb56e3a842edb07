// ip_address.cpp — see ip_address.hpp.
#include "netlink/ip_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace joincast::netlink {

IpAddress IpAddress::v4(const in_addr& a) {
  IpAddress r;
  r.family_ = AF_INET;
  std::memcpy(r.bytes_.data(), &a, 4);
  return r;
}

IpAddress IpAddress::v6(const in6_addr& a) {
  IpAddress r;
  r.family_ = AF_INET6;
  std::memcpy(r.bytes_.data(), &a, 16);
  return r;
}

std::optional<IpAddress> IpAddress::from_bytes(int family, std::span<const std::uint8_t> bytes) {
  IpAddress r;
  if (family == AF_INET && bytes.size() == 4) r.family_ = AF_INET;
  else if (family == AF_INET6 && bytes.size() == 16) r.family_ = AF_INET6;
  else return std::nullopt;
  std::memcpy(r.bytes_.data(), bytes.data(), bytes.size());
  return r;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
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

IpAddress IpAddress::any(int family) {
  IpAddress r;
  r.family_ = static_cast<std::uint8_t>(family);
  return r;
}

in_addr IpAddress::to_in_addr() const {
  in_addr a{};
  std::memcpy(&a, bytes_.data(), 4);
  return a;
}

in6_addr IpAddress::to_in6_addr() const {
  in6_addr a{};
  std::memcpy(&a, bytes_.data(), 16);
  return a;
}

bool IpAddress::is_multicast() const {
  if (is_v4()) return (bytes_[0] & 0xf0) == 0xe0;
  if (is_v6()) return bytes_[0] == 0xff;
  return false;
}

bool IpAddress::is_unspecified() const {
  for (std::size_t i = 0; i < size(); ++i)
    if (bytes_[i]) return false;
  return !empty();
}

bool IpAddress::is_link_local_multicast() const {
  if (is_v4()) return bytes_[0] == 224 && bytes_[1] == 0 && bytes_[2] == 0;
  if (is_v6()) return bytes_[0] == 0xff && (bytes_[1] & 0x0f) <= 2;
  return false;
}

IpAddress IpAddress::masked(unsigned bits) const {
  IpAddress r = *this;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned lo = i * 8;
    if (lo >= bits) r.bytes_[i] = 0;
    else if (lo + 8 > bits) r.bytes_[i] &= static_cast<std::uint8_t>(0xff << (8 - (bits - lo)));
  }
  return r;
}

std::string IpAddress::to_string() const {
  if (empty()) return "";
  char buf[INET6_ADDRSTRLEN];
  if (!::inet_ntop(family_, bytes_.data(), buf, sizeof buf)) return "?";
  return buf;
}

IpPrefix::IpPrefix(const IpAddress& address, unsigned length)
    : address_(address.masked(length)), length_(length) {}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
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

bool IpPrefix::contains(const IpAddress& a) const {
  return a.family() == family() && a.masked(length_) == address_;
}

bool IpPrefix::contains(const IpPrefix& p) const { return p.length_ >= length_ && contains(p.address_); }

std::string IpPrefix::to_string(bool compact) const {
  if (compact && is_host()) return address_.to_string();
  return address_.to_string() + "/" + std::to_string(length_);
}

const char* family_name(int family) {
  switch (family) {
    case AF_INET: return "ipv4";
    case AF_INET6: return "ipv6";
    default: return "unspec";
  }
}

}  // namespace joincast::netlink
