// rule.cpp — see rule.hpp.
#include "netlink/rule.hpp"

#include "netlink/attributes.hpp"

#include <array>

namespace joincast::netlink {

namespace {

constexpr auto rule_policy = [] {
  std::array<AttributeRule, FRA_PROTOCOL + 1> p{};
  p[FRA_DST] = {MNL_TYPE_BINARY, 4, 16};
  p[FRA_SRC] = {MNL_TYPE_BINARY, 4, 16};
  p[FRA_IIFNAME] = {MNL_TYPE_NUL_STRING};
  p[FRA_OIFNAME] = {MNL_TYPE_NUL_STRING};
  p[FRA_PRIORITY] = {MNL_TYPE_U32};
  p[FRA_TABLE] = {MNL_TYPE_U32};
  p[FRA_PROTOCOL] = {MNL_TYPE_U8};
  return p;
}();

// The address family of a rule's selectors: IPMR rules carry IPv4 ones.
int address_family(int rule_family) {
  switch (rule_family) {
    case RTNL_FAMILY_IPMR: return AF_INET;
    case RTNL_FAMILY_IP6MR: return AF_INET6;
    default: return rule_family;
  }
}

Message rule_message(std::uint16_t type, std::uint16_t flags, const Rule& r) {
  Message m(type, flags);
  auto& h = m.put_header<fib_rule_hdr>();
  h.family = static_cast<std::uint8_t>(r.family);
  h.action = r.action;
  h.table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
  m.put_u32(FRA_TABLE, r.table);
  m.put_u32(FRA_PRIORITY, r.priority);
  if (r.protocol != RTPROT_UNSPEC) m.put_u8(FRA_PROTOCOL, r.protocol);
  if (!r.iif.empty()) m.put_string(FRA_IIFNAME, r.iif);
  if (!r.oif.empty()) m.put_string(FRA_OIFNAME, r.oif);
  if (r.source) {
    h.src_len = static_cast<std::uint8_t>(r.source->length());
    m.put_address(FRA_SRC, r.source->address());
  }
  if (r.destination) {
    h.dst_len = static_cast<std::uint8_t>(r.destination->length());
    m.put_address(FRA_DST, r.destination->address());
  }
  return m;
}

}  // namespace

Message new_rule(const Rule& r) {
  Message m = rule_message(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r);
  m.tolerate({EEXIST});
  return m;
}

Message del_rule(const Rule& r) {
  Message m = rule_message(RTM_DELRULE, 0, r);
  m.tolerate({ENOENT});
  return m;
}

Message dump_rules(int family) {
  Message m(RTM_GETRULE, NLM_F_DUMP);
  m.put_header<fib_rule_hdr>().family = static_cast<std::uint8_t>(family);
  return m;
}

Result<Rule> parse_rule(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWRULE && nlh->nlmsg_type != RTM_DELRULE) return Errc::malformed_message;
  const auto* h = family_header<fib_rule_hdr>(nlh);
  if (!h) return Errc::malformed_message;
  auto a = parse_attributes(nlh, sizeof(fib_rule_hdr), rule_policy);
  if (!a) return a.error();
  const Attributes& t = a.value();
  Rule r;
  r.family = h->family;
  r.action = h->action;
  r.table = t.u32(FRA_TABLE).value_or(h->table);
  r.priority = t.u32(FRA_PRIORITY).value_or(0);
  r.protocol = t.u8(FRA_PROTOCOL).value_or(RTPROT_UNSPEC);
  if (auto s = t.string(FRA_IIFNAME)) r.iif = std::string(*s);
  if (auto s = t.string(FRA_OIFNAME)) r.oif = std::string(*s);
  const int af = address_family(r.family);
  if (t.has(FRA_SRC)) {
    auto s = t.address(FRA_SRC, af);
    if (!s || h->src_len > s->max_prefix()) return Errc::malformed_message;
    r.source = IpPrefix(*s, h->src_len);
  }
  if (t.has(FRA_DST)) {
    auto d = t.address(FRA_DST, af);
    if (!d || h->dst_len > d->max_prefix()) return Errc::malformed_message;
    r.destination = IpPrefix(*d, h->dst_len);
  }
  return r;
}

}  // namespace joincast::netlink
