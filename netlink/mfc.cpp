// mfc.cpp — see mfc.hpp.
#include "netlink/mfc.hpp"

#include "netlink/attributes.hpp"

#include <netinet/in.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#include <linux/rtnetlink.h>

#include <cstring>

namespace joincast::netlink {

namespace {

constexpr auto mfc_policy = [] {
  std::array<AttributeRule, RTA_EXPIRES + 1> p{};
  p[RTA_DST] = {MNL_TYPE_BINARY, 4, 16};
  p[RTA_SRC] = {MNL_TYPE_BINARY, 4, 16};
  p[RTA_IIF] = {MNL_TYPE_U32};
  p[RTA_MULTIPATH] = {MNL_TYPE_BINARY};
  p[RTA_TABLE] = {MNL_TYPE_U32};
  p[RTA_MFC_STATS] = {MNL_TYPE_BINARY, sizeof(rta_mfc_stats)};
  p[RTA_EXPIRES] = {MNL_TYPE_U64};
  return p;
}();

constexpr auto report4_policy = [] {
  std::array<AttributeRule, IPMRA_CREPORT_TABLE + 1> p{};
  p[IPMRA_CREPORT_MSGTYPE] = {MNL_TYPE_U8};
  p[IPMRA_CREPORT_VIF_ID] = {MNL_TYPE_U32};
  p[IPMRA_CREPORT_SRC_ADDR] = {MNL_TYPE_BINARY, 4};
  p[IPMRA_CREPORT_DST_ADDR] = {MNL_TYPE_BINARY, 4};
  p[IPMRA_CREPORT_TABLE] = {MNL_TYPE_U32};
  return p;
}();

constexpr auto report6_policy = [] {
  std::array<AttributeRule, IP6MRA_CREPORT_DST_ADDR + 1> p{};
  p[IP6MRA_CREPORT_MSGTYPE] = {MNL_TYPE_U8};
  p[IP6MRA_CREPORT_MIF_ID] = {MNL_TYPE_U32};
  p[IP6MRA_CREPORT_SRC_ADDR] = {MNL_TYPE_BINARY, 16};
  p[IP6MRA_CREPORT_DST_ADDR] = {MNL_TYPE_BINARY, 16};
  return p;
}();

// nlmsghdr, rtmsg, five u32/address attributes and 32 next hops: 320
// bytes; thousands of these are built at once, so no more than needed.
constexpr std::size_t mfc4_capacity = 384;

Message mfc4_message(std::uint16_t type, std::uint16_t flags, std::uint32_t table, const IpAddress& source,
                     const IpAddress& group) {
  Message m(type, flags, mfc4_capacity);
  auto& rtm = m.put_header<rtmsg>();
  // The kernel insists on exactly these header values (rtm_to_ipmr_mfcc).
  rtm.rtm_family = RTNL_FAMILY_IPMR;
  rtm.rtm_dst_len = 32;
  rtm.rtm_src_len = 32;
  rtm.rtm_type = RTN_MULTICAST;
  rtm.rtm_scope = RT_SCOPE_UNIVERSE;
  rtm.rtm_protocol = RTPROT_MROUTED;
  rtm.rtm_table = static_cast<std::uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC);
  m.put_u32(RTA_TABLE, table);
  m.put_address(RTA_SRC, source);
  m.put_address(RTA_DST, group);
  return m;
}

}  // namespace

const char* upcall_kind_name(UpcallKind k) {
  switch (k) {
    case UpcallKind::nocache: return "nocache";
    case UpcallKind::wrong_vif: return "wrong_vif";
    case UpcallKind::whole_packet: return "whole_packet";
    case UpcallKind::wrong_vif_whole: return "wrong_vif_whole";
  }
  return "unknown";
}

Message new_mfc4(std::uint32_t table, const IpAddress& source, const IpAddress& group, int iif_ifindex,
                 const VifTtls& ttls) {
  Message m = mfc4_message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, table, source, group);
  m.put_u32(RTA_IIF, static_cast<std::uint32_t>(iif_ifindex));
  // The kernel reads RTA_MULTIPATH positionally: the n-th next hop's
  // rtnh_hops is the TTL threshold of VIF n, whatever its rtnh_ifindex.
  // So the array runs up to the highest output VIF, with zeros between.
  std::size_t count = 0;
  for (std::size_t v = 0; v < ttls.size(); ++v)
    if (ttls[v]) count = v + 1;
  // No output at all (a stop filter) is no RTA_MULTIPATH: the kernel's
  // policy wants at least one next hop in it.
  if (count == 0) return m;
  auto nest = m.begin_nest(RTA_MULTIPATH);
  for (std::size_t v = 0; v < count; ++v) {
    auto* nh = static_cast<rtnexthop*>(m.append_raw(sizeof(rtnexthop)));
    if (!nh) break;
    nh->rtnh_len = sizeof(rtnexthop);
    nh->rtnh_hops = ttls[v];
  }
  m.end_nest(nest);
  return m;
}

Message del_mfc4(std::uint32_t table, const IpAddress& source, const IpAddress& group) {
  Message m = mfc4_message(RTM_DELROUTE, 0, table, source, group);
  m.tolerate({ENOENT});
  return m;
}

Message dump_mfc(int family, std::uint32_t table) {
  if (table == 0) table = default_mroute_table(family);
  Message m(RTM_GETROUTE, NLM_F_DUMP);
  auto& rtm = m.put_header<rtmsg>();
  rtm.rtm_family = family == AF_INET6 ? RTNL_FAMILY_IP6MR : RTNL_FAMILY_IPMR;
  rtm.rtm_table = static_cast<std::uint8_t>(table < 256 ? table : RT_TABLE_UNSPEC);
  m.put_u32(RTA_TABLE, table);
  return m;
}

Result<MfcEntry> parse_mfc(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) return Errc::malformed_message;
  const auto* rtm = family_header<rtmsg>(nlh);
  if (!rtm) return Errc::malformed_message;
  int family;
  if (rtm->rtm_family == RTNL_FAMILY_IPMR) family = AF_INET;
  else if (rtm->rtm_family == RTNL_FAMILY_IP6MR) family = AF_INET6;
  else return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(rtmsg), mfc_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  MfcEntry e;
  e.family = family;
  e.table = t.u32(RTA_TABLE).value_or(rtm->rtm_table);
  e.protocol = rtm->rtm_protocol;
  e.resolved = !(rtm->rtm_flags & RTNH_F_UNRESOLVED);
  auto source = t.has(RTA_SRC) ? t.address(RTA_SRC, family) : IpAddress::any(family);
  auto group = t.address(RTA_DST, family);
  if (!source || !group) return Errc::malformed_message;
  e.source = *source;
  e.group = *group;
  e.iif = static_cast<int>(t.u32(RTA_IIF).value_or(0));
  auto mp = t.bytes(RTA_MULTIPATH);
  std::size_t off = 0;
  while (off + sizeof(rtnexthop) <= mp.size()) {
    rtnexthop nh;
    std::memcpy(&nh, mp.data() + off, sizeof nh);
    if (nh.rtnh_len < sizeof(rtnexthop) || off + nh.rtnh_len > mp.size()) return Errc::malformed_message;
    e.oifs.push_back({nh.rtnh_ifindex, nh.rtnh_hops});
    off += RTNH_ALIGN(nh.rtnh_len);
  }
  if (off < mp.size() && mp.size() - off >= sizeof(rtnexthop)) return Errc::malformed_message;
  if (auto stats = t.bytes(RTA_MFC_STATS); !stats.empty()) {
    rta_mfc_stats s;
    std::memcpy(&s, stats.data(), sizeof s);
    e.packets = s.mfcs_packets;
    e.bytes = s.mfcs_bytes;
    e.wrong_if = s.mfcs_wrong_if;
  }
  e.idle_cs = t.u64(RTA_EXPIRES).value_or(0);
  return e;
}

Result<Upcall> parse_cache_report(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWCACHEREPORT) return Errc::malformed_message;
  const auto* gen = family_header<rtgenmsg>(nlh);
  if (!gen) return Errc::malformed_message;
  Upcall u;
  std::uint8_t type;
  if (gen->rtgen_family == RTNL_FAMILY_IPMR) {
    auto a = parse_attributes(nlh, sizeof(rtgenmsg), report4_policy);
    if (!a) return a.error();
    const Attributes& t = a.value();
    auto kind = t.u8(IPMRA_CREPORT_MSGTYPE);
    auto vif = t.u32(IPMRA_CREPORT_VIF_ID);
    auto src = t.address(IPMRA_CREPORT_SRC_ADDR, AF_INET);
    auto dst = t.address(IPMRA_CREPORT_DST_ADDR, AF_INET);
    if (!kind || !vif || !src || !dst) return Errc::malformed_message;
    u.family = AF_INET;
    type = *kind;
    u.vif = *vif;
    u.source = *src;
    u.group = *dst;
    u.table = t.u32(IPMRA_CREPORT_TABLE);
  } else if (gen->rtgen_family == RTNL_FAMILY_IP6MR) {
    auto a = parse_attributes(nlh, sizeof(rtgenmsg), report6_policy);
    if (!a) return a.error();
    const Attributes& t = a.value();
    auto kind = t.u8(IP6MRA_CREPORT_MSGTYPE);
    auto mif = t.u32(IP6MRA_CREPORT_MIF_ID);
    auto src = t.address(IP6MRA_CREPORT_SRC_ADDR, AF_INET6);
    auto dst = t.address(IP6MRA_CREPORT_DST_ADDR, AF_INET6);
    if (!kind || !mif || !src || !dst) return Errc::malformed_message;
    u.family = AF_INET6;
    type = *kind;
    u.vif = *mif;
    u.source = *src;
    u.group = *dst;
  } else {
    return Errc::malformed_message;
  }
  if (type < 1 || type > 4) return Errc::malformed_message;
  u.kind = static_cast<UpcallKind>(type);
  return u;
}

}  // namespace joincast::netlink
