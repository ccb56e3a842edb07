// rule.hpp — policy-routing rules over rtnetlink, for the unicast FIB
// (AF_INET, AF_INET6) and for multicast routing (RTNL_FAMILY_IPMR,
// RTNL_FAMILY_IP6MR: `ip mrule`), which is how traffic reaches a
// multicast routing table other than the default one.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <optional>
#include <string>

namespace joincast::netlink {

struct Rule {
  int family = AF_INET;  // AF_INET, AF_INET6, RTNL_FAMILY_IPMR, RTNL_FAMILY_IP6MR
  std::uint32_t priority = 0;
  std::uint32_t table = RT_TABLE_MAIN;
  std::uint8_t action = FR_ACT_TO_TBL;
  std::uint8_t protocol = RTPROT_UNSPEC;
  std::string iif;  // FRA_IIFNAME: matches by name, so it may precede the interface
  std::string oif;  // FRA_OIFNAME
  std::optional<IpPrefix> source;
  std::optional<IpPrefix> destination;

  bool operator==(const Rule&) const = default;
};

// NLM_F_CREATE | NLM_F_EXCL; EEXIST (the same rule is there) is success.
Message new_rule(const Rule& r);
// ENOENT (no such rule) is success.
Message del_rule(const Rule& r);
Message dump_rules(int family);
Result<Rule> parse_rule(const nlmsghdr* nlh);

}  // namespace joincast::netlink
