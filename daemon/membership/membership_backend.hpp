// membership_backend.hpp — where membership state lives and how it changes.
// Two implementations: BpfMembership (the TC program and its pinned maps)
// and SocketMembership (reports read from the multicast routing socket and
// kept in userspace, where BPF cannot load). Both speak in the ABI's
// structs so the rest of the daemon does not care which one runs.
#pragma once

#include "common/result.hpp"
#include "daemon/membership/loader/membership_maps.hpp"

#include <functional>
#include <string>
#include <vector>

namespace joincast::daemon::membership {

class MembershipBackend {
 public:
  // Called for every event, on the daemon's io_context thread.
  using EventHandler = std::function<void(const jc_event&)>;
  enum class ForgetOutcome { forgotten, absent, kept };

  virtual ~MembershipBackend() = default;

  virtual const char* name() const = 0;  // "bpf" or "socket"
  // Starts watching ifindex for reports and queries.
  virtual Result<void> attach(int ifindex) = 0;
  virtual Result<void> detach(int ifindex) = 0;

  virtual Result<std::vector<loader::ListenerEntry>> listeners() const = 0;
  virtual Result<std::vector<loader::GroupEntry>> groups() const = 0;
  virtual Result<std::vector<loader::QuerierEntry>> queriers() const = 0;
  virtual Result<jc_counters> counters() const = 0;

  // Removes a listener unless it reported after unless_reported_after_ns.
  virtual Result<ForgetOutcome> forget(const jc_listener_key& key, std::uint64_t unless_reported_after_ns,
                                       jc_leave_reason reason) = 0;
  // Deletes an empty group unchanged since idle_since_ns; true if deleted.
  virtual Result<bool> collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) = 0;
  // Delivers events that were waiting when the backend started (a previous
  // daemon's, left in the pinned ring buffer); nothing for most backends.
  virtual void deliver_pending() {}
};

}  // namespace joincast::daemon::membership
