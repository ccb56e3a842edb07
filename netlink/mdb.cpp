// mdb.cpp — see mdb.hpp.
#include "netlink/mdb.hpp"

#include "netlink/attributes.hpp"

#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/rtnetlink.h>

#include <cstring>

namespace joincast::netlink {

namespace {

constexpr auto mdb_policy = [] {
  std::array<AttributeRule, MDBA_MDB + 1> p{};
  p[MDBA_MDB] = {MNL_TYPE_NESTED};
  return p;
}();

Message mdb_message(std::uint16_t type, std::uint16_t flags, const MdbEntry& e) {
  Message m(type, flags);
  auto& bpm = m.put_header<br_port_msg>();
  bpm.family = PF_BRIDGE;
  bpm.ifindex = static_cast<std::uint32_t>(e.bridge);
  br_mdb_entry entry{};
  entry.ifindex = static_cast<std::uint32_t>(e.port);
  entry.state = e.permanent ? MDB_PERMANENT : MDB_TEMPORARY;
  entry.vid = e.vid;
  if (e.group.is_v4()) {
    std::memcpy(&entry.addr.u.ip4, e.group.data(), 4);
    entry.addr.proto = htons(ETH_P_IP);
  } else {
    std::memcpy(&entry.addr.u.ip6, e.group.data(), 16);
    entry.addr.proto = htons(ETH_P_IPV6);
  }
  m.put(MDBA_SET_ENTRY, &entry, sizeof entry);
  if (e.source) {
    auto nest = m.begin_nest(MDBA_SET_ENTRY_ATTRS);
    m.put_address(MDBE_ATTR_SOURCE, *e.source);
    m.end_nest(nest);
  }
  return m;
}

// MDBA_MDB_ENTRY_INFO holds a struct br_mdb_entry followed, after
// alignment, by MDBA_MDB_EATTR_* attributes.
Result<void> parse_entry_info(const nlattr* info, int bridge, std::vector<MdbEntry>& out) {
  auto payload = payload_of(info);
  if (payload.size() < sizeof(br_mdb_entry)) return Errc::malformed_message;
  br_mdb_entry raw;
  std::memcpy(&raw, payload.data(), sizeof raw);
  MdbEntry e;
  e.bridge = bridge;
  e.port = static_cast<int>(raw.ifindex);
  e.vid = raw.vid;
  e.permanent = raw.state == MDB_PERMANENT;
  if (raw.addr.proto == htons(ETH_P_IP)) {
    e.group = IpAddress::v4(in_addr{raw.addr.u.ip4});
  } else if (raw.addr.proto == htons(ETH_P_IPV6)) {
    e.group = IpAddress::v6(raw.addr.u.ip6);
  } else {
    return success();  // a layer-2 entry
  }
  const std::size_t attrs_at = nl_align(sizeof(br_mdb_entry));
  if (payload.size() > attrs_at) {
    auto r = for_each_attribute(payload.subspan(attrs_at), [&](const nlattr* a) -> Result<void> {
      const std::uint16_t type = mnl_attr_get_type(a);
      if (type == MDBA_MDB_EATTR_SOURCE) {
        auto s = IpAddress::from_bytes(e.group.family(), payload_of(a));
        if (!s) return Errc::malformed_message;
        e.source = *s;
      } else if (type == MDBA_MDB_EATTR_RTPROT) {
        if (mnl_attr_validate(a, MNL_TYPE_U8) < 0) return Errc::malformed_message;
        e.protocol = mnl_attr_get_u8(a);
      }
      return success();
    });
    if (!r) return r;
  }
  out.push_back(e);
  return success();
}

}  // namespace

Message new_mdb(const MdbEntry& e) {
  Message m = mdb_message(RTM_NEWMDB, NLM_F_CREATE | NLM_F_EXCL, e);
  m.tolerate({EEXIST});
  return m;
}

Message del_mdb(const MdbEntry& e) {
  Message m = mdb_message(RTM_DELMDB, 0, e);
  m.tolerate({ENOENT});
  return m;
}

Message dump_mdb() {
  Message m(RTM_GETMDB, NLM_F_DUMP);
  m.put_header<br_port_msg>().family = PF_BRIDGE;
  return m;
}

Result<std::vector<MdbEntry>> parse_mdb(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWMDB && nlh->nlmsg_type != RTM_DELMDB) return Errc::malformed_message;
  const auto* bpm = family_header<br_port_msg>(nlh);
  if (!bpm) return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(br_port_msg), mdb_policy);
  if (!a) return a.error();
  std::vector<MdbEntry> out;
  const nlattr* mdb = a.value().get(MDBA_MDB);
  if (!mdb) return out;
  const int bridge = static_cast<int>(bpm->ifindex);
  auto walked = for_each_attribute(payload_of(mdb), [&](const nlattr* entry) -> Result<void> {
    if (mnl_attr_get_type(entry) != MDBA_MDB_ENTRY) return success();
    return for_each_attribute(payload_of(entry), [&](const nlattr* info) -> Result<void> {
      if (mnl_attr_get_type(info) != MDBA_MDB_ENTRY_INFO) return success();
      return parse_entry_info(info, bridge, out);
    });
  });
  if (!walked) return walked.error();
  return out;
}

}  // namespace joincast::netlink
