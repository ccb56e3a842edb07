// group_address.cpp — see group_address.hpp.
#include "daemon/catalogue/group_address.hpp"

namespace joincast::daemon {

Result<GroupAddress> GroupAddress::parse(std::string_view text) {
  // A group names no interface: a zone id ("ff32::%-8", "ff02::1%eth0")
  // would not survive to_string() and parse() back.
  if (text.find('%') != std::string_view::npos) return errno_error(EINVAL);
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec || !a.is_multicast() || (a.is_v6() && a.to_v6().scope_id() != 0)) return errno_error(EINVAL);
  return GroupAddress(a);
}

}  // namespace joincast::daemon
