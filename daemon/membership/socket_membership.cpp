// socket_membership.cpp — see socket_membership.hpp.
#include "daemon/membership/socket_membership.hpp"

#include "daemon/membership/loader/membership_program.hpp"
#include "daemon/membership/membership_wire.hpp"

#include <net/if.h>

#include <cstring>

namespace joincast::daemon::membership {

SocketMembership::SocketMembership(routing::MembershipTap& routes, bool track_link_local, ListenerTable::Quotas quotas,
                                   EventHandler on_event)
    : routes_(routes), table_(std::move(on_event), track_link_local, quotas) {}

Result<void> SocketMembership::open() { return resubscribe(); }

Result<void> SocketMembership::resubscribe() {
  std::vector<std::string> names;
  for (const auto& [ifindex, name] : interfaces_) names.push_back(name);
  // The new subscriptions first, then the old ones go: no gap.
  auto v4 = routes_.subscribe_membership(AF_INET, names, [this](const netlink::MembershipPacket& p) { on_packet(p); });
  if (!v4) return v4.error();
  auto v6 = routes_.subscribe_membership(AF_INET6, names, [this](const netlink::MembershipPacket& p) { on_packet(p); });
  if (!v6) return v6.error();
  v4_ = std::move(v4).value();
  v6_ = std::move(v6).value();
  return success();
}

Result<void> SocketMembership::attach(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!::if_indextoname(static_cast<unsigned>(ifindex), name)) return last_error();
  interfaces_[ifindex] = name;
  return resubscribe();
}

Result<void> SocketMembership::detach(int ifindex) {
  if (!interfaces_.erase(ifindex)) return success();
  return resubscribe();
}

void SocketMembership::on_packet(const netlink::MembershipPacket& p) {
  jc_counters& c = table_.counters();
  c.packets++;
  auto result = p.family == AF_INET ? wire::decode_igmp(p.message) : wire::decode_mld(p.message);
  if (!result) {
    if (result.error() == wire::DecodeError::bad_checksum) c.bad_checksum++;
    else if (result.error() == wire::DecodeError::truncated) c.truncated++;
    else c.malformed++;
    return;
  }
  const wire::Decoded* decoded = &result.value();
  if (decoded->kind == wire::Decoded::Kind::other) return;
  c.messages++;
  ListenerTable::Origin origin;
  origin.now_ns = loader::monotonic_ns();
  origin.ifindex = static_cast<std::uint32_t>(p.ifindex);
  origin.version = decoded->version;
  if (p.family == AF_INET) {
    origin.host[10] = origin.host[11] = 0xff;
    std::memcpy(origin.host.data() + 12, p.source.data(), 4);
  } else {
    // RFC 3810 §5: MLD comes from a link-local source.
    if (p.source.data()[0] != 0xfe || (p.source.data()[1] & 0xc0) != 0x80) {
      c.bad_source++;
      return;
    }
    std::memcpy(origin.host.data(), p.source.data(), 16);
  }
  if (decoded->kind == wire::Decoded::Kind::query) {
    table_.note_query(origin, p.family, decoded->max_response_ms, decoded->qrv, decoded->qqi_s);
    return;
  }
  c.reports++;
  for (const auto& record : decoded->records) {
    // An IGMP record names an IPv4 group, an MLD record an IPv6 one: an
    // IPv4-mapped group inside MLD is no IPv4 listener.
    if (p.family == AF_INET6 && loader::is_ipv4_mapped(record.group.data())) {
      c.records_skipped++;
      continue;
    }
    table_.apply(origin, record);
  }
}

Result<MembershipBackend::ForgetOutcome> SocketMembership::forget(const jc_listener_key& key,
                                                                  std::uint64_t unless_reported_after_ns,
                                                                  jc_leave_reason reason) {
  return table_.forget(key, unless_reported_after_ns, reason, loader::monotonic_ns());
}

Result<bool> SocketMembership::collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) {
  return table_.collect_group(key, idle_since_ns);
}

}  // namespace joincast::daemon::membership
