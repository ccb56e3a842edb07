// mdns_config.hpp — the [mdns] section of joincast.toml: zones (a name,
// its interfaces, a trust level) and rules per ordered zone pair (which
// service types and host names one zone may discover in another).
// docs/configuration.md documents every key; docs/mdns.md shows the
// trusted/IoT example.
#pragma once

#include "daemon/core/config_reader.hpp"
#include "daemon/lan/mdns/dns_message.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::lan::mdns {

// "_ipp._tcp" as labels {"_ipp", "_tcp"}; matched case-insensitively.
struct ServiceType {
  Name name;
  std::string to_string() const { return name.to_string(); }
  bool operator==(const ServiceType&) const = default;
};

// Service types: every one, or those listed.
struct ServiceSet {
  bool all = true;
  std::vector<ServiceType> types;
  bool contains(const Name& service_type) const;
  bool empty() const { return !all && types.empty(); }
  bool operator==(const ServiceSet&) const = default;
};

struct MdnsZone {
  std::string name;
  std::vector<std::string> interfaces;
  int trust = 0;  // higher is more trusted
  // What more trusted zones may discover here when no rule names the pair.
  ServiceSet services;
  std::string origin;  // "joincast.toml:12"
  bool operator==(const MdnsZone&) const = default;
};

// Zone `from` may discover `services` and `hosts` in zone `to`: its queries
// for them go to `to`, and `to`'s answers about them come back.
struct MdnsRule {
  std::string from;
  std::string to;
  ServiceSet services;
  std::vector<Name> hosts;  // "printer.local"; A/AAAA for them cross too
  std::string origin;
  bool operator==(const MdnsRule&) const = default;
};

struct MdnsSection {
  std::vector<MdnsZone> zones;
  std::vector<MdnsRule> rules;
  // Responses go only to zones whose query for them was forwarded within
  // query_window (and announcements only to zones allowed to see them).
  bool stateful = true;
  std::chrono::milliseconds query_window{30'000};
  // Messages a second one sender may have relayed, and at once (0: no limit).
  unsigned rate = 50;
  unsigned burst = 100;
  bool enabled() const { return !zones.empty(); }
  bool operator==(const MdnsSection&) const = default;
};

// "_ipp._tcp" → the type; nullopt if it is not _name._tcp or _name._udp (RFC 6763 §7).
std::optional<ServiceType> parse_service_type(std::string_view text);
// "printer" or "printer.local" → printer.local; nullopt if not a host name.
std::optional<Name> parse_host_name(std::string_view text);

void parse_mdns_section(core::ConfigReader& r, const toml::table& root, MdnsSection& m);

}  // namespace joincast::daemon::lan::mdns
