// address.cpp — see address.hpp.
#include "netlink/address.hpp"

#include "netlink/attributes.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <array>

namespace joincast::netlink {

namespace {

constexpr auto address_policy = [] {
  std::array<AttributeRule, IFA_FLAGS + 1> p{};
  p[IFA_ADDRESS] = {MNL_TYPE_BINARY, 4, 16};
  p[IFA_LOCAL] = {MNL_TYPE_BINARY, 4, 16};
  p[IFA_FLAGS] = {MNL_TYPE_U32};
  return p;
}();

Message address_message(std::uint16_t type, std::uint16_t flags, const InterfaceAddress& a) {
  Message m(type, flags);
  auto& ifa = m.put_header<ifaddrmsg>();
  ifa.ifa_family = static_cast<std::uint8_t>(a.family());
  ifa.ifa_prefixlen = a.prefix_length;
  ifa.ifa_scope = a.scope;
  ifa.ifa_index = static_cast<std::uint32_t>(a.ifindex);
  // No peer: local and address are the same, as `ip addr add` sends them.
  m.put_address(IFA_LOCAL, a.address);
  m.put_address(IFA_ADDRESS, a.address);
  if (a.flags) m.put_u32(IFA_FLAGS, a.flags);
  return m;
}

}  // namespace

bool InterfaceAddress::usable_global() const {
  return scope == RT_SCOPE_UNIVERSE && !(flags & (IFA_F_TENTATIVE | IFA_F_DEPRECATED | IFA_F_DADFAILED));
}

Message dump_addresses(int family) {
  Message m(RTM_GETADDR, NLM_F_DUMP);
  m.put_header<ifaddrmsg>().ifa_family = static_cast<std::uint8_t>(family);
  return m;
}

Message new_address(const InterfaceAddress& a) {
  Message m = address_message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, a);
  m.tolerate({EEXIST});
  return m;
}

Message del_address(const InterfaceAddress& a) {
  Message m = address_message(RTM_DELADDR, 0, a);
  m.tolerate({EADDRNOTAVAIL, ENOENT});
  return m;
}

Result<InterfaceAddress> parse_address(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) return Errc::malformed_message;
  const auto* ifa = family_header<ifaddrmsg>(nlh);
  if (!ifa) return Errc::malformed_message;
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(ifaddrmsg), address_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  InterfaceAddress out;
  out.ifindex = static_cast<int>(ifa->ifa_index);
  out.prefix_length = ifa->ifa_prefixlen;
  out.scope = ifa->ifa_scope;
  out.flags = t.u32(IFA_FLAGS).value_or(ifa->ifa_flags);
  out.deleted = nlh->nlmsg_type == RTM_DELADDR;
  // IPv4 point-to-point links put the peer in IFA_ADDRESS; IFA_LOCAL is
  // ours. IPv6 sends IFA_LOCAL only for point-to-point, with IFA_ADDRESS
  // the peer's, so the same rule holds.
  const std::uint16_t which = t.has(IFA_LOCAL) ? IFA_LOCAL : IFA_ADDRESS;
  auto address = t.address(which, ifa->ifa_family);
  if (!address) return Errc::malformed_message;
  if (out.prefix_length > address->max_prefix()) return Errc::malformed_message;
  out.address = *address;
  return out;
}

}  // namespace joincast::netlink
