// group_address.cpp — see group_address.hpp.
#include "daemon/catalogue/group_address.hpp"

namespace joincast::daemon::catalogue {

Result<GroupAddress> GroupAddress::parse(std::string_view text) {
  // A group names no interface: a zone id ("ff32::%-8", "ff02::1%eth0")
  // would not survive to_string() and parse() back.
  if (text.find('%') != std::string_view::npos) return errno_error(EINVAL);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec || !a.is_multicast() || (a.is_v6() && a.to_v6().scope_id() != 0)) return errno_error(EINVAL);
  return GroupAddress(a);
}

Result<GroupAddress> GroupAddress::from(const Address16& bytes) {
  IpAddress ip = IpAddress::from_address16(bytes);
  if (!ip.is_multicast()) return Error(errno_error(EINVAL), ip.to_string() + " is not a multicast group");
  if (ip.is_v4()) return GroupAddress(boost::asio::ip::address_v4({bytes[12], bytes[13], bytes[14], bytes[15]}));
  boost::asio::ip::address_v6::bytes_type b;
  std::copy(bytes.begin(), bytes.end(), b.begin());
  return GroupAddress(boost::asio::ip::address_v6(b));
}

IpAddress GroupAddress::ip() const {
  if (address_.is_v4()) {
    auto b = address_.to_v4().to_bytes();
    return *IpAddress::from_bytes(AF_INET, b);
  }
  auto b = address_.to_v6().to_bytes();
  return *IpAddress::from_bytes(AF_INET6, b);
}

}  // namespace joincast::daemon::catalogue
