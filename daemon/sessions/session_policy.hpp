// session_policy.hpp — [[policy]]: which downstream interfaces may start
// what (docs/configuration.md). A join on an interface a policy names
// starts a session only if the service matches one of the policy's allow
// items; interfaces no policy names may start anything.
#pragma once

#include "daemon/sessions/session_config.hpp"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon {

// What a policy looks at: the service a group resolved to.
struct PolicySubject {
  bool dvb = false;
  std::string directory;  // its directory's name (internet stations)
  boost::asio::ip::address group;
};

// Why the listeners on `interfaces` may not start subject, or nothing when
// one of them may (one allowed interface is enough).
std::optional<std::string> policy_refusal(const std::vector<PolicyRule>& policies, const PolicySubject& subject,
                                          const std::vector<std::string>& interfaces);

}  // namespace joincast::daemon
