// interface_table.cpp — see interface_table.hpp.
#include "daemon/core/interface_table.hpp"

#include <linux/if.h>

#include <algorithm>

namespace joincast::daemon::core {

namespace {
// Flags whose change matters to routing.
constexpr unsigned relevant_flags = IFF_UP | IFF_MULTICAST | IFF_RUNNING;
}  // namespace

bool is_interface_wildcard(std::string_view pattern) { return !pattern.empty() && pattern.back() == '+'; }

bool interface_matches(std::string_view pattern, std::string_view name) {
  if (is_interface_wildcard(pattern)) {
    pattern.remove_suffix(1);
    return name.substr(0, pattern.size()) == pattern;
  }
  return pattern == name;
}

bool InterfaceTable::apply(const netlink::Link& link) {
  if (link.deleted) {
    addresses_.erase(link.ifindex);
    return links_.erase(link.ifindex) > 0;
  }
  auto it = links_.find(link.ifindex);
  if (it == links_.end()) {
    links_.emplace(link.ifindex, link);
    return true;
  }
  netlink::Link& old = it->second;
  const bool changed = old.name != link.name || (old.flags & relevant_flags) != (link.flags & relevant_flags) ||
                       old.master != link.master || old.kind != link.kind || old.bridge != link.bridge ||
                       old.mac != link.mac;
  old = link;
  return changed;
}

bool InterfaceTable::apply(const netlink::InterfaceAddress& address) {
  auto& list = addresses_[address.ifindex];
  auto same = [&](const netlink::InterfaceAddress& a) {
    return a.address == address.address && a.prefix_length == address.prefix_length;
  };
  auto it = std::find_if(list.begin(), list.end(), same);
  if (address.deleted) {
    if (it == list.end()) return false;
    list.erase(it);
    return true;
  }
  netlink::InterfaceAddress stored = address;
  stored.deleted = false;
  if (it == list.end()) {
    list.push_back(stored);
    return true;
  }
  // A flag change (tentative -> usable, deprecated) can change which
  // prefix a group block derives from.
  const bool changed = !(*it == stored);
  *it = stored;
  return changed;
}

void InterfaceTable::clear() {
  links_.clear();
  addresses_.clear();
}

netlink::Result<void> InterfaceTable::read(netlink::NetlinkSocket& nl) {
  clear();
  auto links = nl.dump(netlink::dump_links(), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
    if (auto l = netlink::parse_link(nlh)) apply(l.value());
    return netlink::success();
  });
  if (!links) return links.error();
  return nl.dump(netlink::dump_addresses(), [&](const nlmsghdr* nlh) -> netlink::Result<void> {
    if (auto a = netlink::parse_address(nlh)) apply(a.value());
    return netlink::success();
  });
}

const netlink::Link* InterfaceTable::find(int ifindex) const {
  auto it = links_.find(ifindex);
  return it == links_.end() ? nullptr : &it->second;
}

const netlink::Link* InterfaceTable::find(std::string_view name) const {
  for (const auto& [index, link] : links_)
    if (link.name == name) return &link;
  return nullptr;
}

std::optional<int> InterfaceTable::ifindex(std::string_view name) const {
  if (const auto* l = find(name)) return l->ifindex;
  return std::nullopt;
}

std::string InterfaceTable::name(int ifindex) const {
  if (const auto* l = find(ifindex)) return l->name;
  return "if" + std::to_string(ifindex);
}

std::vector<const netlink::Link*> InterfaceTable::matching(std::string_view pattern) const {
  std::vector<const netlink::Link*> out;
  for (const auto& [index, link] : links_)
    if (interface_matches(pattern, link.name)) out.push_back(&link);
  return out;
}

const std::vector<netlink::InterfaceAddress>& InterfaceTable::addresses(int ifindex) const {
  static const std::vector<netlink::InterfaceAddress> none;
  auto it = addresses_.find(ifindex);
  return it == addresses_.end() ? none : it->second;
}

}  // namespace joincast::daemon::core
