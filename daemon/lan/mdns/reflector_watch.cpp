// reflector_watch.cpp — see reflector_watch.hpp.
#include "daemon/lan/mdns/reflector_watch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace joincast::daemon::lan::mdns {

namespace {

void add_name(std::string& out, const Name& n) {
  for (const auto& l : n.labels) {
    out += static_cast<char>(l.size());
    for (char c : l) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out += '\0';
}

struct DataKey {
  std::string& out;
  void operator()(const OpaqueData& d) const { out.append(d.bytes.begin(), d.bytes.end()); }
  void operator()(const NameData& d) const { add_name(out, d.target); }
  void operator()(const SrvData& d) const {
    out += fmt::format("{}:{}:{}:", d.priority, d.weight, d.port);
    add_name(out, d.target);
  }
  void operator()(const TxtData& d) const {
    for (const auto& s : d.strings) {
      out += static_cast<char>(s.size());
      out += s;
    }
  }
  void operator()(const AddressData& d) const { out += d.address.to_string(); }
  void operator()(const NsecData& d) const {
    add_name(out, d.next);
    out.append(d.type_bitmaps.begin(), d.type_bitmaps.end());
  }
};

}  // namespace

std::string record_key(const Record& r) {
  std::string out;
  add_name(out, r.name);
  out += fmt::format("{}/{}=", r.type, r.klass);
  std::visit(DataKey{out}, r.data);
  return out;
}

ReflectorWatch::Reflector* ReflectorWatch::find(const IpAddress& source, std::size_t zone) {
  for (auto& s : suspects_)
    if (s.address == source && s.zone == zone) return &s;
  return nullptr;
}

ReflectorWatch::Verdict ReflectorWatch::observe(const Message& response, std::size_t zone, const IpAddress& source,
                                                Clock::time_point now) {
  Reflector* known = find(source, zone);
  const bool was = known && known->confirmed() && now - known->last_copy <= hold;
  for (const auto* list : {&response.answers, &response.additionals})
    for (const auto& r : *list) {
      // Unique records only (goodbyes, TTL 0, are the owner's too).
      if (!r.cache_flush || r.ttl == 0) continue;
      if (r.type != rr::srv && r.type != rr::txt && r.type != rr::a && r.type != rr::aaaa) continue;
      std::string key = record_key(r);
      auto it = seen_.find(key);
      if (it == seen_.end() || now - it->second.at > copy_window) {
        if (it != seen_.end())
          it->second = {zone, source, now};
        else if (seen_.size() < max_records)
          seen_.emplace(std::move(key), Seen{zone, source, now});
        continue;
      }
      Seen& first = it->second;
      if (first.source == source || first.zone == zone) {
        // The owner again (or on another link of its zone): the window
        // follows its latest sending.
        if (first.source == source) first.at = now;
        continue;
      }
      // The same unique record from another sender in another zone.
      if (!known) {
        if (suspects_.size() >= max_suspects) continue;
        suspects_.push_back({source, zone, first.zone, 0, 0, now, now});
        known = &suspects_.back();
      }
      ++known->copies;
      known->origin_zone = first.zone;
      known->last_copy = now;
    }
  if (!known || !known->confirmed()) return Verdict::original;
  if (!was) return Verdict::found;
  return Verdict::copy;
}

bool ReflectorWatch::drop(const IpAddress& source, std::size_t zone, Clock::time_point now) {
  Reflector* r = find(source, zone);
  if (!r || !r->confirmed() || now - r->last_copy > hold) return false;
  ++r->dropped;
  return true;
}

std::vector<ReflectorWatch::Reflector> ReflectorWatch::reflectors(Clock::time_point now) const {
  std::vector<Reflector> out;
  for (const auto& s : suspects_)
    if (s.confirmed() && now - s.last_copy <= hold) out.push_back(s);
  return out;
}

void ReflectorWatch::expire(Clock::time_point now) {
  std::erase_if(seen_, [&](const auto& e) { return now - e.second.at > copy_window; });
  std::erase_if(suspects_, [&](const Reflector& s) {
    return s.confirmed() ? now - s.last_copy > hold : now - s.last_copy > copy_window * 12;
  });
}

}  // namespace joincast::daemon::lan::mdns
