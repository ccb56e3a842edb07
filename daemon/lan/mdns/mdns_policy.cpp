// mdns_policy.cpp — see mdns_policy.hpp.
#include "daemon/lan/mdns/mdns_policy.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::lan::mdns {

namespace {

bool contains(const std::vector<Name>& names, const Name& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

// May `a` (from's access to the owner) see a record or ask a question about `name`?
bool name_allowed(const Access& a, const Name& name, std::uint16_t type, const std::vector<Name>& hosts) {
  if (!is_local(name)) return false;
  const ServiceName s = classify(name);
  switch (s.kind) {
    case ServiceName::Kind::enumeration:
      return type == rr::ptr || type == rr::any ? !a.services.empty() : false;
    case ServiceName::Kind::type:
    case ServiceName::Kind::instance:
      return a.services.contains(s.type);
    case ServiceName::Kind::other:
      // A host name: its addresses (and NSEC saying it has no others).
      if (type != rr::a && type != rr::aaaa && type != rr::any && type != rr::nsec) return false;
      return contains(a.hosts, name) || contains(hosts, name);
  }
  return false;
}

}  // namespace

bool is_local(const Name& name) { return !name.labels.empty() && label_equal(name.labels.back(), "local"); }

ServiceName classify(const Name& name) {
  const auto& l = name.labels;
  if (!is_local(name)) return {};
  const std::size_t n = l.size();
  // ... _service . _tcp|_udp . local
  if (n < 3) return {};
  if (n == 4 && label_equal(l[0], "_services") && label_equal(l[1], "_dns-sd") && label_equal(l[2], "_udp"))
    return {ServiceName::Kind::enumeration, {}};
  if (!label_equal(l[n - 2], "_tcp") && !label_equal(l[n - 2], "_udp")) return {};
  if (l[n - 3].empty() || l[n - 3][0] != '_') return {};
  Name type{{l[n - 3], l[n - 2]}};
  if (n == 3) return {ServiceName::Kind::type, type};
  // _printer._sub._ipp._tcp.local: a subtype is the type's (RFC 6763 §7.1).
  if (n == 5 && label_equal(l[1], "_sub")) return {ServiceName::Kind::type, type};
  if (n == 4) return {ServiceName::Kind::instance, type};
  return {};
}

bool is_link_local(const IpAddress& a) {
  const std::uint8_t* b = a.data();
  if (a.is_v4()) return b[0] == 169 && b[1] == 254;
  if (a.is_v6()) return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
  return false;
}

Policy::Policy(const MdnsSection& config) {
  for (const auto& z : config.zones) names_.push_back(z.name);
  const std::size_t n = names_.size();
  access_.resize(n * n);
  for (std::size_t from = 0; from < n; ++from)
    for (std::size_t to = 0; to < n; ++to) {
      if (from == to) continue;
      Access& a = access_[from * n + to];
      auto rule = std::find_if(config.rules.begin(), config.rules.end(), [&](const MdnsRule& r) {
        return r.from == names_[from] && r.to == names_[to];
      });
      if (rule != config.rules.end()) {
        a.services = rule->services;
        a.hosts = rule->hosts;
      } else if (config.zones[from].trust > config.zones[to].trust) {
        a.services = config.zones[to].services;
      }
    }
}

Filtered filter_query(const Policy& policy, const Message& query, std::size_t from, std::size_t to,
                      const std::vector<Name>& learned) {
  Filtered out;
  const Access& a = policy.access(from, to);
  if (!a.any()) {
    out.reason = fmt::format("zone {} may discover nothing in zone {}", policy.zone_name(from), policy.zone_name(to));
    return out;
  }
  if (!query.authorities.empty()) {
    out.reason = "a probe (records in the authority section) stays on its link";
    return out;
  }
  out.message.id = query.id;
  out.message.flags = query.flags;
  for (const auto& q : query.questions) {
    if (name_allowed(a, q.name, q.type, learned))
      out.message.questions.push_back(q);
    else
      ++out.removed;
  }
  if (out.message.questions.empty()) {
    out.reason = fmt::format("no question zone {} may ask in zone {}", policy.zone_name(from), policy.zone_name(to));
    return out;
  }
  // Known answers (RFC 6762 §7.1) stay behind: they are what the asking
  // zone's cache holds, its own hosts' services among them (a browse for
  // _ssh._tcp lists the asker's own SSH as known), so carried across they
  // would tell the other zone what is here. The other side then answers in
  // full; that costs bytes, not correctness.
  out.removed += query.answers.size();
  out.removed += query.additionals.size();  // OPT and the like are per hop
  out.forward = true;
  return out;
}

std::vector<Name> allowed_hosts(const Policy& policy, const Message& response, std::size_t owner, std::size_t asker) {
  const Access& a = policy.access(asker, owner);
  std::vector<Name> hosts;
  for (const auto* list : {&response.answers, &response.additionals})
    for (const auto& r : *list) {
      const SrvData* srv = std::get_if<SrvData>(&r.data);
      if (!srv || r.type != rr::srv || !name_allowed(a, r.name, r.type, {})) continue;
      if (is_local(srv->target) && !contains(hosts, srv->target)) hosts.push_back(srv->target);
    }
  return hosts;
}

Filtered filter_response(const Policy& policy, const Message& response, std::size_t owner, std::size_t asker,
                         const std::vector<Name>& learned) {
  Filtered out;
  const Access& a = policy.access(asker, owner);
  if (!a.any()) {
    out.reason = fmt::format("zone {} may discover nothing in zone {}", policy.zone_name(asker), policy.zone_name(owner));
    return out;
  }
  std::vector<Name> hosts = allowed_hosts(policy, response, owner, asker);
  hosts.insert(hosts.end(), learned.begin(), learned.end());
  out.message.id = response.id;
  out.message.flags = response.flags;
  auto keep = [&](const Record& r) {
    if (!name_allowed(a, r.name, r.type, hosts)) return false;
    if (const auto* addr = std::get_if<AddressData>(&r.data)) return !is_link_local(addr->address);
    // A PTR of the enumeration or of a type points at a type or an
    // instance: that must be allowed too (a subtype PTR to another type).
    if (const auto* target = std::get_if<NameData>(&r.data); target && r.type == rr::ptr) {
      const ServiceName t = classify(target->target);
      return t.kind != ServiceName::Kind::other && a.services.contains(t.type);
    }
    return true;
  };
  for (const auto& r : response.answers) {
    if (keep(r))
      out.message.answers.push_back(r);
    else
      ++out.removed;
  }
  for (const auto& r : response.additionals) {
    if (keep(r))
      out.message.additionals.push_back(r);
    else
      ++out.removed;
  }
  out.removed += response.authorities.size();
  // The questions a response may repeat (RFC 6762 §6: ignored by
  // receivers) are left out: they say what someone asked.
  out.removed += response.questions.size();
  if (out.message.answers.empty()) {
    out.reason = fmt::format("no answer zone {} may see from zone {}", policy.zone_name(asker), policy.zone_name(owner));
    return out;
  }
  out.forward = true;
  return out;
}

}  // namespace joincast::daemon::lan::mdns
