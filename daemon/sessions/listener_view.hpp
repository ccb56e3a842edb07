// listener_view.hpp — who listens where, as the session state machine
// sees it: the groups with listeners and the interfaces they are on, and
// the interfaces' names. The daemon's reads the membership maps
// (daemon/app/session_environment.hpp); unit tests use a fake.
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace joincast::daemon::sessions {

class ListenerView {
 public:
  // Group -> interfaces with listeners, from one walk of the listener map.
  using Index = std::map<Address16, std::set<int>>;
  virtual ~ListenerView() = default;
  virtual Index listeners() const = 0;
  virtual std::set<int> listener_interfaces(const Address16& group) const = 0;
  // Groups that have listeners now (kept over a restart by pinned maps).
  virtual std::vector<Address16> groups_with_listeners() const = 0;
  virtual std::string interface_name(int ifindex) const = 0;
  // 0 when there is no such interface.
  virtual unsigned interface_index(const std::string& name) const = 0;
};

}  // namespace joincast::daemon::sessions
