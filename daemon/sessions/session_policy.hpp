// session_policy.hpp — [[policy]]: which downstream interfaces may start
// what (docs/configuration.md). A join on an interface a policy names
// starts a session only if the service matches one of the policy's allow
// items; interfaces no policy names may start anything. The allow items
// are parsed once, when the configuration is read, into typed rules.
#pragma once

#include "common/result.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace joincast::daemon::sessions {

struct AllowAll {};
struct AllowInternet {};
struct AllowDvb {};
struct AllowDirectory {
  std::string name;
};
// A group prefix such as "ff3e:40:2001:db8:d0be:f00d:8000:0/112" or
// "239.255.0.0/24".
struct AllowPrefix {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // the first 4 for IPv4
  unsigned length = 0;
  bool contains(const boost::asio::ip::address& group) const;
};
using AllowItem = std::variant<AllowAll, AllowInternet, AllowDvb, AllowDirectory, AllowPrefix>;

// "all", "internet", "dvb", "directory:NAME", or a multicast group prefix.
Result<AllowItem> parse_allow(const std::string& text);

struct PolicyRule {
  std::vector<std::string> interfaces;
  std::vector<AllowItem> allow;
  std::string origin;  // "file:line"
};

// What a policy looks at: the service a group resolved to.
struct PolicySubject {
  bool dvb = false;
  std::string directory;  // its directory's name (internet stations)
  boost::asio::ip::address group;
};

bool allows(const PolicyRule& rule, const PolicySubject& subject);

// Whether the listeners on `interfaces` may start subject (one allowed
// interface is enough); if not, std::errc::permission_denied with a message
// naming the interfaces and the policies that refuse it.
Result<void> policy_allows(const std::vector<PolicyRule>& policies, const PolicySubject& subject,
                           const std::vector<std::string>& interfaces);

}  // namespace joincast::daemon::sessions
