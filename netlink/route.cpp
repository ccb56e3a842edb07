// route.cpp — see route.hpp.
#include "netlink/route.hpp"

#include "netlink/attributes.hpp"

#include <array>

namespace joincast::netlink {

namespace {

constexpr auto route_policy = [] {
  std::array<AttributeRule, RTA_TABLE + 1> p{};
  p[RTA_DST] = {MNL_TYPE_BINARY, 4, 16};
  p[RTA_OIF] = {MNL_TYPE_U32};
  p[RTA_GATEWAY] = {MNL_TYPE_BINARY, 4, 16};
  p[RTA_PRIORITY] = {MNL_TYPE_U32};
  p[RTA_PREFSRC] = {MNL_TYPE_BINARY, 4, 16};
  p[RTA_MULTIPATH] = {MNL_TYPE_BINARY};
  p[RTA_TABLE] = {MNL_TYPE_U32};
  return p;
}();

Message route_message(std::uint16_t type, std::uint16_t flags, const Route& r) {
  Message m(type, flags);
  auto& rtm = m.put_header<rtmsg>();
  rtm.rtm_family = static_cast<std::uint8_t>(r.family());
  rtm.rtm_dst_len = static_cast<std::uint8_t>(r.destination.length());
  // Tables above 255 exist only in RTA_TABLE; rtm_table says "see there".
  rtm.rtm_table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
  rtm.rtm_protocol = r.protocol;
  rtm.rtm_scope = r.scope;
  rtm.rtm_type = r.type;
  m.put_u32(RTA_TABLE, r.table);
  if (r.destination.length() > 0) m.put_address(RTA_DST, r.destination.address());
  if (r.oif) m.put_u32(RTA_OIF, static_cast<std::uint32_t>(r.oif));
  if (r.gateway) m.put_address(RTA_GATEWAY, *r.gateway);
  if (r.priority) m.put_u32(RTA_PRIORITY, *r.priority);
  if (r.prefsrc) m.put_address(RTA_PREFSRC, *r.prefsrc);
  return m;
}

}  // namespace

Message new_route(const Route& r) { return route_message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r); }

Message del_route(const Route& r) {
  Message m = route_message(RTM_DELROUTE, 0, r);
  // IPv4 says ESRCH for a route that is not there, IPv6 ENOENT or ESRCH.
  m.tolerate({ESRCH, ENOENT});
  return m;
}

Message dump_routes(int family, std::uint32_t table, std::uint8_t protocol) {
  Message m(RTM_GETROUTE, NLM_F_DUMP);
  auto& rtm = m.put_header<rtmsg>();
  rtm.rtm_family = static_cast<std::uint8_t>(family);
  rtm.rtm_protocol = protocol;
  if (table) {
    rtm.rtm_table = static_cast<std::uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC);
    m.put_u32(RTA_TABLE, table);
  }
  return m;
}

Result<Route> parse_route(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) return Errc::malformed_message;
  const auto* rtm = family_header<rtmsg>(nlh);
  if (!rtm || (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)) return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(rtmsg), route_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  const int family = rtm->rtm_family;
  Route r;
  IpAddress dst = IpAddress::any(family);
  if (t.has(RTA_DST)) {
    auto d = t.address(RTA_DST, family);
    if (!d) return Errc::malformed_message;
    dst = *d;
  }
  if (rtm->rtm_dst_len > dst.max_prefix()) return Errc::malformed_message;
  r.destination = IpPrefix(dst, rtm->rtm_dst_len);
  r.table = t.u32(RTA_TABLE).value_or(rtm->rtm_table);
  r.type = rtm->rtm_type;
  r.protocol = rtm->rtm_protocol;
  r.scope = rtm->rtm_scope;
  r.oif = static_cast<int>(t.u32(RTA_OIF).value_or(0));
  if (t.has(RTA_GATEWAY)) {
    auto g = t.address(RTA_GATEWAY, family);
    if (!g) return Errc::malformed_message;
    r.gateway = *g;
  }
  r.priority = t.u32(RTA_PRIORITY);
  if (t.has(RTA_PREFSRC)) {
    auto s = t.address(RTA_PREFSRC, family);
    if (!s) return Errc::malformed_message;
    r.prefsrc = *s;
  }
  if (!r.oif && t.has(RTA_MULTIPATH)) {
    auto mp = t.bytes(RTA_MULTIPATH);
    if (mp.size() >= sizeof(rtnexthop)) {
      const auto* nh = reinterpret_cast<const rtnexthop*>(mp.data());
      if (nh->rtnh_len >= sizeof(rtnexthop) && nh->rtnh_len <= mp.size()) r.oif = nh->rtnh_ifindex;
    }
  }
  return r;
}

}  // namespace joincast::netlink
