// service_table.cpp — see service_table.hpp.
#include "daemon/lan/mdns/service_table.hpp"

#include "daemon/lan/mdns/mdns_policy.hpp"

#include <algorithm>
#include <cctype>

namespace joincast::daemon::lan::mdns {

namespace {

std::string lower(const Name& n) {
  std::string s = n.to_string();
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void ServiceTable::observe(const Message& response, std::size_t zone, const IpAddress& source, Clock::time_point now) {
  // A TTL may say 136 years; the list keeps an entry a day at most
  // without hearing of it again (the bound on its size does the rest).
  auto until = [&](const Record& r) { return now + std::chrono::seconds(std::min<std::uint32_t>(r.ttl, max_ttl)); };
  auto instance = [&](const Name& name, const Name& type) -> Instance* {
    Key k{zone, lower(name)};
    auto it = instances_.find(k);
    if (it == instances_.end()) {
      if (instances_.size() >= max_instances) return nullptr;
      it = instances_.emplace(std::move(k), Instance{name, type, {}, 0, source, now}).first;
    }
    it->second.source = source;
    return &it->second;
  };
  for (const auto* list : {&response.answers, &response.additionals})
    for (const auto& r : *list) {
      if (r.type == rr::ptr) {
        const auto* target = std::get_if<NameData>(&r.data);
        const ServiceName owner = classify(r.name);
        if (!target || owner.kind != ServiceName::Kind::type) continue;
        const ServiceName t = classify(target->target);
        if (t.kind != ServiceName::Kind::instance) continue;
        if (r.ttl == 0) {
          instances_.erase({zone, lower(target->target)});
          continue;
        }
        if (Instance* i = instance(target->target, t.type)) i->until = std::max(i->until, until(r));
      } else if (r.type == rr::srv) {
        const auto* srv = std::get_if<SrvData>(&r.data);
        const ServiceName owner = classify(r.name);
        if (!srv || owner.kind != ServiceName::Kind::instance) continue;
        if (r.ttl == 0) {
          instances_.erase({zone, lower(r.name)});
          continue;
        }
        if (Instance* i = instance(r.name, owner.type)) {
          i->host = srv->target;
          i->port = srv->port;
          i->until = std::max(i->until, until(r));
        }
      } else if (r.type == rr::a || r.type == rr::aaaa) {
        const auto* a = std::get_if<AddressData>(&r.data);
        if (!a) continue;
        Key k{zone, lower(r.name)};
        auto it = hosts_.find(k);
        if (it == hosts_.end()) {
          if (r.ttl == 0 || hosts_.size() >= max_hosts) continue;
          it = hosts_.emplace(std::move(k), std::vector<Address>{}).first;
        }
        auto& addrs = it->second;
        // A cache-flush record replaces the records of its type received
        // more than a second before it (RFC 6762 §10.2): the others of the
        // same response stay.
        if (r.cache_flush)
          std::erase_if(addrs, [&](const Address& x) {
            return x.address.is_v4() == (r.type == rr::a) && x.seen + std::chrono::seconds(1) < now;
          });
        auto same = std::find_if(addrs.begin(), addrs.end(), [&](const Address& x) { return x.address == a->address; });
        if (r.ttl == 0) {
          if (same != addrs.end()) addrs.erase(same);
        } else if (same != addrs.end()) {
          same->until = until(r);
          same->seen = now;
        } else if (addrs.size() < 16) {
          addrs.push_back({a->address, until(r), now});
        }
      }
    }
}

std::vector<ServiceTable::Service> ServiceTable::services(std::size_t zone, Clock::time_point now) const {
  std::vector<Service> out;
  for (const auto& [k, i] : instances_) {
    if (k.first != zone || i.until <= now) continue;
    Service s{zone, i.instance, i.type, i.host, i.port, {}, i.source};
    if (!i.host.labels.empty())
      if (auto h = hosts_.find({zone, lower(i.host)}); h != hosts_.end())
        for (const auto& a : h->second)
          if (a.until > now) s.addresses.push_back(a.address);
    std::sort(s.addresses.begin(), s.addresses.end());
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Service& a, const Service& b) {
    const std::string at = lower(a.type), bt = lower(b.type);
    return at != bt ? at < bt : lower(a.instance) < lower(b.instance);
  });
  return out;
}

bool ServiceTable::has_instance(std::size_t zone, const Name& instance, Clock::time_point now) const {
  auto it = instances_.find({zone, lower(instance)});
  return it != instances_.end() && it->second.until > now;
}

void ServiceTable::expire(Clock::time_point now) {
  std::erase_if(instances_, [&](const auto& e) { return e.second.until <= now; });
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    std::erase_if(it->second, [&](const Address& a) { return a.until <= now; });
    it = it->second.empty() ? hosts_.erase(it) : std::next(it);
  }
}

}  // namespace joincast::daemon::lan::mdns
