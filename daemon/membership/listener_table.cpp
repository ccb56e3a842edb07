// listener_table.cpp — see listener_table.hpp. Mirrors apply_record() and
// jc_forget in bpf/membership.bpf.c; keep them in step.
#include "daemon/membership/listener_table.hpp"

#include <cstring>

namespace joincast::daemon::membership {

bool group_trackable(const Address16& g, bool link_local_too) {
  if (loader::is_ipv4_mapped(g.data())) {
    if ((g[12] & 0xf0) != 0xe0) return false;
    // 224.0.0.0/24 is link-local control (RFC 5771 §4).
    return link_local_too || !(g[12] == 224 && g[13] == 0 && g[14] == 0);
  }
  if (g[0] != 0xff) return false;
  unsigned scope = g[1] & 0x0f;
  if (scope <= 1) return false;  // interface-local is never reported
  return link_local_too || scope > 2;
}

jc_listener_key ListenerTable::key_of(const ListenerId& id) {
  jc_listener_key k{};
  k.ifindex = std::get<0>(id);
  std::memcpy(k.group, std::get<1>(id).data(), 16);
  std::memcpy(k.host, std::get<2>(id).data(), 16);
  return k;
}

void ListenerTable::event(const Origin& o, std::uint8_t type, const Address16& group, const Address16& host,
                          std::uint8_t record, std::uint8_t mode, std::uint8_t reason, std::uint32_t listeners) {
  jc_event e{};
  e.time_ns = o.now_ns;
  e.ifindex = o.ifindex;
  e.type = type;
  e.version = o.version;
  e.record_type = record;
  e.reason = reason;
  e.listeners = listeners;
  e.vlan = o.vlan;
  e.filter_mode = mode;
  std::memcpy(e.group, group.data(), 16);
  std::memcpy(e.host, host.data(), 16);
  if (emit_) emit_(e);
}

std::uint32_t ListenerTable::add(const Address16& group, int delta, std::uint64_t now) {
  auto [it, created] = groups_.try_emplace(group);
  jc_group& g = it->second;
  if (created) {
    std::memcpy(g.group, group.data(), 16);
    g.first_join_ns = now;
  }
  if (delta > 0) {
    if (g.listeners == 0) g.first_join_ns = now;
    g.listeners++;
  } else if (g.listeners > 0) {
    g.listeners--;
  }
  g.last_change_ns = now;
  return g.listeners;
}

bool ListenerTable::quotas_take(std::uint32_t ifindex, const Address16& host) {
  auto h = std::make_pair(ifindex, host);
  if (quotas_.per_host && host_groups_[h] >= quotas_.per_host) {
    counters_.host_quota++;
    return false;
  }
  if (quotas_.per_interface && interface_groups_[ifindex] >= quotas_.per_interface) {
    if (host_groups_[h] == 0) host_groups_.erase(h);
    counters_.interface_quota++;
    return false;
  }
  host_groups_[h]++;
  interface_groups_[ifindex]++;
  return true;
}

void ListenerTable::quotas_give(std::uint32_t ifindex, const Address16& host) {
  if (auto h = host_groups_.find({ifindex, host}); h != host_groups_.end() && --h->second == 0) host_groups_.erase(h);
  if (auto i = interface_groups_.find(ifindex); i != interface_groups_.end() && --i->second == 0)
    interface_groups_.erase(i);
}

bool ListenerTable::apply(const Origin& o, const wire::Record& rec) {
  if (!group_trackable(rec.group, track_link_local_)) {
    counters_.records_skipped++;
    return false;
  }
  enum { none, join, leave, pending } act = none;
  std::uint8_t mode = 0;
  switch (rec.type) {
    case JC_REC_IS_EX:
    case JC_REC_TO_EX:
    case JC_REC_V1_REPORT:
      act = join;
      mode = JC_MODE_EXCLUDE;
      break;
    case JC_REC_IS_IN:
    case JC_REC_TO_IN:
      mode = JC_MODE_INCLUDE;
      act = rec.sources ? join : leave;  // INCLUDE({}) is "not listening"
      break;
    case JC_REC_ALLOW:
      mode = JC_MODE_INCLUDE;
      act = rec.sources ? join : none;
      break;
    case JC_REC_BLOCK:
      act = rec.sources ? pending : none;
      break;
    case JC_REC_V1_LEAVE:
      act = pending;
      break;
    default:
      break;
  }
  if (act == none) {
    counters_.records_skipped++;
    return false;
  }
  ListenerId id{o.ifindex, rec.group, o.host};
  auto it = listeners_.find(id);

  if (act == join) {
    if (it != listeners_.end()) {
      jc_listener& l = it->second;
      if (!(rec.type == JC_REC_ALLOW && l.filter_mode == JC_MODE_EXCLUDE)) l.filter_mode = mode;
      l.last_report_ns = o.now_ns;
      l.leave_ns = 0;
      l.version = o.version;
      l.sources = rec.sources;
      l.record_type = rec.type;
    } else {
      if (!quotas_take(o.ifindex, o.host)) {
        counters_.records_skipped++;
        return false;
      }
      jc_listener l{};
      l.first_report_ns = l.last_report_ns = o.now_ns;
      l.vlan = o.vlan;
      l.filter_mode = mode;
      l.version = o.version;
      l.sources = rec.sources;
      l.record_type = rec.type;
      listeners_.emplace(id, l);
      std::uint32_t n = add(rec.group, 1, o.now_ns);
      event(o, JC_EV_LISTENER_JOIN, rec.group, o.host, rec.type, mode, 0, n);
      if (n == 1) event(o, JC_EV_GROUP_UP, rec.group, o.host, rec.type, mode, 0, n);
    }
    counters_.records++;
    return true;
  }
  if (act == leave) {
    if (it != listeners_.end()) {
      std::uint8_t old_mode = it->second.filter_mode;
      listeners_.erase(it);
      quotas_give(o.ifindex, o.host);
      std::uint32_t n = add(rec.group, -1, o.now_ns);
      event(o, JC_EV_LISTENER_LEAVE, rec.group, o.host, rec.type, old_mode, JC_LEFT_REPORT, n);
      if (n == 0) event(o, JC_EV_GROUP_DOWN, rec.group, o.host, rec.type, old_mode, JC_LEFT_REPORT, 0);
    }
    counters_.records++;
    return true;
  }
  // pending: BLOCK matters only to an INCLUDE listener (docs/membership.md).
  counters_.records++;
  if (rec.type == JC_REC_BLOCK) {
    if (it == listeners_.end()) return true;  // blocks sources of nothing we know
    if (it->second.filter_mode == JC_MODE_EXCLUDE) {
      jc_listener& l = it->second;  // still listening: a refresh
      l.last_report_ns = o.now_ns;
      l.leave_ns = 0;
      l.version = o.version;
      l.sources = rec.sources;
      l.record_type = rec.type;
      return true;
    }
  }
  // A v1 leave may come from a host we never heard (v1 hosts suppress each
  // other's reports): only a group with members is queried (RFC 2236 §3).
  auto g = groups_.find(rec.group);
  std::uint32_t count = g != groups_.end() ? g->second.listeners : 0;
  if (it == listeners_.end() && count == 0) return true;
  if (it != listeners_.end() && it->second.leave_ns == 0) it->second.leave_ns = o.now_ns;
  event(o, JC_EV_LEAVE_PENDING, rec.group, o.host, rec.type, it != listeners_.end() ? it->second.filter_mode : 0, 0,
        count);
  return true;
}

void ListenerTable::note_query(const Origin& o, int family, std::uint32_t max_resp_ms, std::uint8_t qrv,
                               std::uint32_t qqi_s) {
  auto key = std::make_pair(o.ifindex, static_cast<std::uint32_t>(family));
  auto it = queriers_.find(key);
  bool changed = it == queriers_.end() || std::memcmp(it->second.addr, o.host.data(), 16) != 0;
  jc_querier q{};
  q.last_seen_ns = o.now_ns;
  std::memcpy(q.addr, o.host.data(), 16);
  q.max_resp_ms = max_resp_ms;
  q.qqi_s = qqi_s;
  q.version = o.version;
  q.qrv = qrv;
  queriers_[key] = q;
  counters_.queries++;
  if (changed) event(o, JC_EV_QUERY_SEEN, Address16{}, o.host, 0, 0, 0, 0);
}

MembershipBackend::ForgetOutcome ListenerTable::forget(const jc_listener_key& key,
                                                       std::uint64_t unless_reported_after_ns,
                                                       jc_leave_reason reason, std::uint64_t now_ns) {
  Address16 group, host;
  std::memcpy(group.data(), key.group, 16);
  std::memcpy(host.data(), key.host, 16);
  auto it = listeners_.find({key.ifindex, group, host});
  if (it == listeners_.end()) return MembershipBackend::ForgetOutcome::absent;
  if (it->second.last_report_ns > unless_reported_after_ns) return MembershipBackend::ForgetOutcome::kept;
  Origin o{now_ns, key.ifindex, host, it->second.version, it->second.vlan};
  std::uint8_t mode = it->second.filter_mode;
  listeners_.erase(it);
  quotas_give(key.ifindex, host);
  std::uint32_t n = add(group, -1, now_ns);
  event(o, JC_EV_LISTENER_LEAVE, group, host, 0, mode, static_cast<std::uint8_t>(reason), n);
  if (n == 0) event(o, JC_EV_GROUP_DOWN, group, host, 0, mode, static_cast<std::uint8_t>(reason), 0);
  return MembershipBackend::ForgetOutcome::forgotten;
}

bool ListenerTable::collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) {
  Address16 group;
  std::memcpy(group.data(), key.group, 16);
  auto it = groups_.find(group);
  if (it == groups_.end() || it->second.listeners != 0 || it->second.last_change_ns > idle_since_ns) return false;
  groups_.erase(it);
  return true;
}

std::vector<loader::ListenerEntry> ListenerTable::listeners() const {
  std::vector<loader::ListenerEntry> out;
  for (const auto& [id, l] : listeners_) out.push_back({key_of(id), l});
  return out;
}

std::vector<loader::GroupEntry> ListenerTable::groups() const {
  std::vector<loader::GroupEntry> out;
  for (const auto& [g, v] : groups_) {
    loader::GroupEntry e{};
    std::memcpy(e.key.group, g.data(), 16);
    e.value = v;
    out.push_back(e);
  }
  return out;
}

std::vector<loader::QuerierEntry> ListenerTable::queriers() const {
  std::vector<loader::QuerierEntry> out;
  for (const auto& [k, q] : queriers_) out.push_back({{k.first, k.second}, q});
  return out;
}

}  // namespace joincast::daemon::membership
