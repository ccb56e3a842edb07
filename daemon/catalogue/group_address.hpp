// group_address.hpp — a multicast group, IPv6 or IPv4, as joincast names
// streams by it. Parsing accepts only multicast addresses.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>
#include <string_view>

namespace joincast::daemon::catalogue {

class GroupAddress {
 public:
  GroupAddress() = default;
  explicit GroupAddress(boost::asio::ip::address a) : address_(std::move(a)) {}

  // "ff3e:40:2001:db8::8000:0" or "239.255.0.5"; anything not multicast
  // fails with EINVAL.
  static Result<GroupAddress> parse(std::string_view text);

  // From the BPF maps' 16-byte form (IPv4 mapped); EINVAL if not multicast.
  static Result<GroupAddress> from(const Address16& bytes);

  const boost::asio::ip::address& address() const { return address_; }
  // The same group as the other layers' address types, without text.
  IpAddress ip() const;
  Address16 address16() const { return ip().to_address16(); }
  bool is_v6() const { return address_.is_v6(); }
  std::string to_string() const { return address_.to_string(); }
  bool operator==(const GroupAddress&) const = default;
  auto operator<=>(const GroupAddress& o) const {
    return address_ < o.address_ ? std::strong_ordering::less
           : o.address_ < address_ ? std::strong_ordering::greater
                                   : std::strong_ordering::equal;
  }

 private:
  boost::asio::ip::address address_;
};

}  // namespace joincast::daemon::catalogue
