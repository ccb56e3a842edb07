// link.cpp — see link.hpp.
#include "netlink/link.hpp"

#include "netlink/attributes.hpp"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <array>

namespace joincast::netlink {

namespace {

constexpr auto link_policy = [] {
  std::array<AttributeRule, IFLA_LINKINFO + 1> p{};
  p[IFLA_ADDRESS] = {MNL_TYPE_BINARY};
  p[IFLA_IFNAME] = {MNL_TYPE_NUL_STRING};
  p[IFLA_MTU] = {MNL_TYPE_U32};
  p[IFLA_MASTER] = {MNL_TYPE_U32};
  p[IFLA_OPERSTATE] = {MNL_TYPE_U8};
  p[IFLA_LINKINFO] = {MNL_TYPE_NESTED};
  return p;
}();

constexpr auto linkinfo_policy = [] {
  std::array<AttributeRule, IFLA_INFO_DATA + 1> p{};
  p[IFLA_INFO_KIND] = {MNL_TYPE_STRING};
  p[IFLA_INFO_DATA] = {MNL_TYPE_NESTED};
  return p;
}();

constexpr auto bridge_policy = [] {
  std::array<AttributeRule, IFLA_BR_MCAST_MLD_VERSION + 1> p{};
  p[IFLA_BR_MCAST_ROUTER] = {MNL_TYPE_U8};
  p[IFLA_BR_MCAST_SNOOPING] = {MNL_TYPE_U8};
  p[IFLA_BR_MCAST_QUERY_USE_IFADDR] = {MNL_TYPE_U8};
  p[IFLA_BR_MCAST_QUERIER] = {MNL_TYPE_U8};
  p[IFLA_BR_MCAST_MEMBERSHIP_INTVL] = {MNL_TYPE_U64};
  p[IFLA_BR_MCAST_QUERY_INTVL] = {MNL_TYPE_U64};
  p[IFLA_BR_MCAST_QUERY_RESPONSE_INTVL] = {MNL_TYPE_U64};
  p[IFLA_BR_MCAST_IGMP_VERSION] = {MNL_TYPE_U8};
  p[IFLA_BR_MCAST_MLD_VERSION] = {MNL_TYPE_U8};
  return p;
}();

Result<BridgeMulticast> parse_bridge(const nlattr* data) {
  auto a = parse_nested(data, bridge_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  BridgeMulticast b;
  if (auto v = t.u8(IFLA_BR_MCAST_SNOOPING)) b.snooping = *v != 0;
  if (auto v = t.u8(IFLA_BR_MCAST_QUERIER)) b.querier = *v != 0;
  if (auto v = t.u8(IFLA_BR_MCAST_IGMP_VERSION)) b.igmp_version = *v;
  if (auto v = t.u8(IFLA_BR_MCAST_MLD_VERSION)) b.mld_version = *v;
  if (auto v = t.u8(IFLA_BR_MCAST_ROUTER)) b.router = *v;
  if (auto v = t.u8(IFLA_BR_MCAST_QUERY_USE_IFADDR)) b.query_use_ifaddr = *v != 0;
  b.query_interval_cs = t.u64(IFLA_BR_MCAST_QUERY_INTVL);
  b.query_response_interval_cs = t.u64(IFLA_BR_MCAST_QUERY_RESPONSE_INTVL);
  b.membership_interval_cs = t.u64(IFLA_BR_MCAST_MEMBERSHIP_INTVL);
  return b;
}

}  // namespace

bool BridgeMulticast::empty() const { return *this == BridgeMulticast{}; }

bool Link::up() const { return flags & IFF_UP; }
bool Link::multicast() const { return flags & IFF_MULTICAST; }

Message dump_links() {
  Message m(RTM_GETLINK, NLM_F_DUMP);
  m.put_header<ifinfomsg>().ifi_family = AF_UNSPEC;
  return m;
}

Message get_link(const std::string& name) {
  Message m(RTM_GETLINK, 0);
  m.put_header<ifinfomsg>().ifi_family = AF_UNSPEC;
  m.put_string(IFLA_IFNAME, name);
  return m;
}

Message set_bridge_multicast(int ifindex, const BridgeMulticast& s) {
  Message m(RTM_NEWLINK, 0);
  auto& ifi = m.put_header<ifinfomsg>();
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  auto info = m.begin_nest(IFLA_LINKINFO);
  m.put_string(IFLA_INFO_KIND, "bridge");
  auto data = m.begin_nest(IFLA_INFO_DATA);
  if (s.snooping) m.put_u8(IFLA_BR_MCAST_SNOOPING, *s.snooping);
  if (s.querier) m.put_u8(IFLA_BR_MCAST_QUERIER, *s.querier);
  if (s.igmp_version) m.put_u8(IFLA_BR_MCAST_IGMP_VERSION, *s.igmp_version);
  if (s.mld_version) m.put_u8(IFLA_BR_MCAST_MLD_VERSION, *s.mld_version);
  if (s.router) m.put_u8(IFLA_BR_MCAST_ROUTER, *s.router);
  if (s.query_use_ifaddr) m.put_u8(IFLA_BR_MCAST_QUERY_USE_IFADDR, *s.query_use_ifaddr);
  if (s.query_interval_cs) m.put_u64(IFLA_BR_MCAST_QUERY_INTVL, *s.query_interval_cs);
  if (s.query_response_interval_cs) m.put_u64(IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, *s.query_response_interval_cs);
  if (s.membership_interval_cs) m.put_u64(IFLA_BR_MCAST_MEMBERSHIP_INTVL, *s.membership_interval_cs);
  m.end_nest(data);
  m.end_nest(info);
  return m;
}

Result<Link> parse_link(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) return Errc::malformed_message;
  const auto* ifi = family_header<ifinfomsg>(nlh);
  if (!ifi) return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(ifinfomsg), link_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  Link link;
  link.ifindex = ifi->ifi_index;
  link.flags = ifi->ifi_flags;
  link.deleted = nlh->nlmsg_type == RTM_DELLINK;
  auto name = t.string(IFLA_IFNAME);
  if (!name || name->empty() || ifi->ifi_index <= 0) return Errc::malformed_message;
  link.name = std::string(*name);
  link.mtu = t.u32(IFLA_MTU).value_or(0);
  link.master = static_cast<int>(t.u32(IFLA_MASTER).value_or(0));
  link.operstate = t.u8(IFLA_OPERSTATE).value_or(0);
  if (auto mac = t.bytes(IFLA_ADDRESS); mac.size() == link.mac.size())
    std::copy(mac.begin(), mac.end(), link.mac.begin());
  if (const nlattr* info = t.get(IFLA_LINKINFO)) {
    auto li = parse_nested(info, linkinfo_policy);
    if (!li) return li.error();
    if (auto kind = li.value().string(IFLA_INFO_KIND)) link.kind = std::string(*kind);
    if (link.kind == "bridge") {
      if (const nlattr* data = li.value().get(IFLA_INFO_DATA)) {
        auto b = parse_bridge(data);
        if (!b) return b.error();
        link.bridge = b.value();
      } else {
        link.bridge = BridgeMulticast{};
      }
    }
  }
  return link;
}

}  // namespace joincast::netlink
