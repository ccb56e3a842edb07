// service_table.hpp — what each zone has announced, as the relay sees it:
// the service instances (from PTR records of a type, RFC 6763 §4.1), where
// they run (SRV) and the addresses of those hosts (A/AAAA), with the
// sender and the zone they were seen in. Records leave with their TTL or
// a goodbye (TTL 0, RFC 6762 §10.1). `joincast mdns` lists it, and the
// relay keeps a zone's questions about its own instances at home. Bounded.
#pragma once

#include "common/ip_address.hpp"
#include "daemon/lan/mdns/dns_message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace joincast::daemon::lan::mdns {

class ServiceTable {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t max_instances = 4096;
  static constexpr std::size_t max_hosts = 4096;
  static constexpr std::uint32_t max_ttl = 86'400;  // seconds

  struct Service {
    std::size_t zone = 0;
    Name instance;  // Printer._ipp._tcp.local
    Name type;      // _ipp._tcp
    Name host;      // printer.local (empty until the SRV is seen)
    std::uint16_t port = 0;
    std::vector<IpAddress> addresses;
    IpAddress source;  // the last sender of its records
  };

  // A response from `source` in `zone`.
  void observe(const Message& response, std::size_t zone, const IpAddress& source, Clock::time_point now);
  // The instances seen in `zone` and alive at `now`, sorted by type and name.
  std::vector<Service> services(std::size_t zone, Clock::time_point now) const;
  bool has_instance(std::size_t zone, const Name& instance, Clock::time_point now) const;
  void expire(Clock::time_point now);
  void clear() { instances_.clear(), hosts_.clear(); }

 private:
  struct Instance {
    Name instance, type, host;
    std::uint16_t port = 0;
    IpAddress source;
    Clock::time_point until;
  };
  struct Address {
    IpAddress address;
    Clock::time_point until, seen;
  };
  using Key = std::pair<std::size_t, std::string>;  // zone, lower-case name
  std::map<Key, Instance> instances_;
  std::map<Key, std::vector<Address>> hosts_;
};

}  // namespace joincast::daemon::lan::mdns
