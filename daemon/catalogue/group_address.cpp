// group_address.cpp — see group_address.hpp.
#include "daemon/catalogue/group_address.hpp"

namespace joincast::daemon {

Result<GroupAddress> GroupAddress::parse(std::string_view text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec || !a.is_multicast()) return errno_error(EINVAL);
  return GroupAddress(a);
}

}  // namespace joincast::daemon
