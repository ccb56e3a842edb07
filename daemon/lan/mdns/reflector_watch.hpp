// reflector_watch.hpp — notices a second reflector on the zones' links (an
// avahi-daemon with enable-reflector=yes on a host joined to two zones, or
// another relay) by the traffic it duplicates. A unique record (one sent
// with the cache-flush bit, RFC 6762 §10.2: SRV, TXT, A, AAAA) is owned by
// one host on one link; when the same record (name, type, class, data)
// arrives in a second zone from another sender within `copy_window` of
// being seen in the first, that sender is carrying it across. Once it has
// done so `min_copies` times it is a reflector: reported, and its traffic
// is not relayed (relaying the copies it makes of the relay's own output
// is how two reflectors loop). It stays one until `hold` has passed
// without a copy. A host with interfaces in two zones announcing the same
// service on both looks the same and is reported the same way.
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

class ReflectorWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr auto copy_window = std::chrono::seconds(5);
  static constexpr auto hold = std::chrono::minutes(5);
  static constexpr std::uint64_t min_copies = 2;
  static constexpr std::size_t max_records = 8192;
  static constexpr std::size_t max_suspects = 256;

  struct Reflector {
    IpAddress address;
    std::size_t zone = 0;         // where its copies arrive
    std::size_t origin_zone = 0;  // where what it copied was seen first
    std::uint64_t copies = 0;     // records seen copied
    std::uint64_t dropped = 0;    // its messages not relayed since it was found
    Clock::time_point first_copy, last_copy;
    bool confirmed() const { return copies >= min_copies; }
  };

  enum class Verdict {
    original,  // nothing copied (or not yet enough to tell)
    found,     // this message made `source` a reflector
    copy,      // `source` is a reflector
  };

  // A response from `source` in `zone`.
  Verdict observe(const Message& response, std::size_t zone, const IpAddress& source, Clock::time_point now);
  // Any message from `source` in `zone`: true (and counted) if a reflector sent it.
  bool drop(const IpAddress& source, std::size_t zone, Clock::time_point now);
  // The reflectors in force (confirmed, and within `hold` of their last copy).
  std::vector<Reflector> reflectors(Clock::time_point now) const;
  void expire(Clock::time_point now);
  void clear() { seen_.clear(), suspects_.clear(); }

 private:
  struct Seen {
    std::size_t zone;
    IpAddress source;
    Clock::time_point at;
  };
  Reflector* find(const IpAddress& source, std::size_t zone);
  std::map<std::string, Seen> seen_;  // record key → where and from whom it was first seen
  std::vector<Reflector> suspects_;
};

// The identity of a record for comparing copies: its name (lower case),
// type, class and data; TTL and cache-flush bit left out.
std::string record_key(const Record& r);

}  // namespace joincast::daemon::lan::mdns
