// mdns_policy.hpp — who may discover what across zones, and the filter
// that applies it to one message crossing from one zone into another. A
// pure function of the configuration, the message and what the relay has
// learned (the host names of allowed services), so every rule is tested
// without a socket.
//
// The default (no rule for the pair): a zone discovers the services a less
// trusted zone offers (its `services`, every type unless narrowed), never
// those of a zone as trusted or more. A rule for the pair replaces the
// default: it narrows it, opens the other direction on purpose, or with
// `services = []` and no hosts closes the pair.
#pragma once

#include "daemon/lan/mdns/dns_message.hpp"
#include "daemon/lan/mdns/mdns_config.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace joincast::daemon::lan::mdns {

// What zone `from` may discover in zone `to`.
struct Access {
  ServiceSet services{false, {}};
  std::vector<Name> hosts;
  bool any() const { return !services.empty() || !hosts.empty(); }
};

// A name as DNS-SD structures it (RFC 6763 §4.1, §7.1, §9).
struct ServiceName {
  enum class Kind {
    other,        // not a DNS-SD name under .local (a host name, a reverse name, …)
    enumeration,  // _services._dns-sd._udp.local
    type,         // _ipp._tcp.local, or a subtype _printer._sub._ipp._tcp.local
    instance,     // Printer._ipp._tcp.local
  };
  Kind kind = Kind::other;
  Name type;  // {"_ipp", "_tcp"} for type and instance
};
ServiceName classify(const Name& name);
bool is_local(const Name& name);  // under .local (RFC 6762 §3)

class Policy {
 public:
  explicit Policy(const MdnsSection& config);

  std::size_t zones() const { return names_.size(); }
  const std::string& zone_name(std::size_t zone) const { return names_[zone]; }
  const Access& access(std::size_t from, std::size_t to) const { return access_[from * names_.size() + to]; }

 private:
  std::vector<std::string> names_;
  std::vector<Access> access_;
};

struct Filtered {
  bool forward = false;  // false: nothing of the message may cross
  Message message;       // what crosses, when forward
  std::size_t removed = 0;  // questions and records left out
  std::string reason;       // why nothing crosses ("no question A may ask in B")
};

// A query from zone `from` about to be sent into zone `to`: only the
// questions `from` may ask there (so nothing leaks of what it asks for),
// without its known answers (they may name `from`'s own services). Probes (RFC 6762 §8.1: records
// in the authority section) stay on their link: uniqueness is per link, and
// a probe carried into another zone is how reflectors make name conflicts.
// The addresses of `learned` hosts (the SRV targets of services `from` may
// see in `to`, as the relay learned them) may be asked for too.
Filtered filter_query(const Policy& policy, const Message& query, std::size_t from, std::size_t to,
                      const std::vector<Name>& learned = {});

// A response from zone `owner` about to be sent to zone `asker`: only the
// records `asker` may see (the service types and host names of
// access(asker, owner), and the addresses of the hosts behind the allowed
// services' SRV records: in this message, or `learned` ones), and no
// link-local address (RFC 3927, RFC 4291: useless on the other side of a
// router). Cache-flush bits and TTLs are kept. Nothing crosses when no
// answer survives.
Filtered filter_response(const Policy& policy, const Message& response, std::size_t owner, std::size_t asker,
                         const std::vector<Name>& learned = {});

// The SRV targets of the services `asker` may see in `response`: the host
// names whose addresses it may then ask `owner` for.
std::vector<Name> allowed_hosts(const Policy& policy, const Message& response, std::size_t owner, std::size_t asker);

bool is_link_local(const IpAddress& a);

}  // namespace joincast::daemon::lan::mdns
