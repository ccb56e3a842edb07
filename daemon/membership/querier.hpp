// querier.hpp — the MLDv2/IGMPv3 querier (RFC 3810 §7, RFC 3376 §6).
//
// Per interface and family: general queries at startup (startup query
// count at the startup query interval) and then every query interval, as
// long as no other querier with a lower address has been heard within the
// other querier present timeout (§7.6.2's election: lowest address wins).
// After an MLDv1 Done, IGMPv2 Leave or a BLOCK that may empty an INCLUDE
// listener, it sends last-listener queries (count × interval) and then
// asks the backend to forget the host unless it reported since (§7.6.2).
// After an explicit MLDv2/IGMPv3 leave (TO_IN({}), IS_IN({})) the host is
// forgotten at once, but the same group-specific queries still go out
// (§7.4.2, RFC 3376 §6.4.2): snooping bridges and switches between us and
// the hosts prune a port only when such a query goes unanswered there.
#pragma once

#include "daemon/core/interface_table.hpp"
#include "daemon/membership/membership_config.hpp"
#include "daemon/membership/membership_backend.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace joincast::daemon::membership {

// The intervals another router's query implies for a non-querier: RFC 3810
// §9.4-9.5 (RFC 3376 §8.4-8.5) with that querier's robustness and query
// interval adopted (§5.1.9-10; v1/v2 queries carry neither, so ours stand
// in) and its Maximum Response Delay as the response interval when longer
// than ours, since hosts answer within it. Never shorter than the configured
// ones: listeners must not be aged out between the other querier's queries,
// and its slower cadence must not read as its absence.
struct AdoptedIntervals {
  std::chrono::milliseconds listener_interval;
  std::chrono::milliseconds other_querier_timeout;
};
AdoptedIntervals adopted_intervals(const MembershipTimers& timers, const jc_querier& heard);

class Querier {
 public:
  // `interfaces` (the daemon's LinkWatcher table) gives each port the
  // address it queries from.
  Querier(boost::asio::io_context& io, const MembershipSection& config, MembershipBackend& backend,
          const core::InterfaceTable& interfaces);
  ~Querier();

  void add_interface(int ifindex, const std::string& name);
  void remove_interface(int ifindex);
  // Timers or enabled families changed (SIGHUP).
  void reconfigure(const MembershipSection& config);

  // A leave that needs verifying (JC_EV_LEAVE_PENDING).
  void on_leave_pending(const jc_event& event);
  // A host left explicitly (JC_EV_LISTENER_LEAVE with JC_LEFT_REPORT):
  // group-specific queries for the snooping devices on the link.
  void on_explicit_leave(const jc_event& event);
  // Another router's query was heard (JC_EV_QUERY_SEEN): re-run the election.
  void on_query_seen(const jc_event& event);

  // How long a listener on (ifindex, family) may go without reporting. The
  // configured listener_interval, unless another router is the querier and
  // its own cadence is slower: a non-querier adopts the querier's
  // robustness and query interval (RFC 3376 §4.1.6-7, RFC 3810 §5.1.9-10),
  // and hosts answer within the querier's Maximum Response Delay, not ours.
  std::chrono::milliseconds listener_interval(int ifindex, int family) const;

  nlohmann::json status() const;

 private:
  struct Port;  // one interface, one family
  struct PendingLeave;

  void schedule_general(Port& port, std::chrono::milliseconds after);
  void general_tick(Port& port);
  bool elect(Port& port);
  bool send_query(Port& port, const Address16& group);
  void last_listener_tick(const std::shared_ptr<PendingLeave>& leave);
  Port* port(int ifindex, int family);
  const Port* port(int ifindex, int family) const;

  boost::asio::io_context& io_;
  MembershipSection config_;
  MembershipBackend& backend_;
  const core::InterfaceTable& interfaces_;
  UniqueFd igmp_socket_;
  UniqueFd mld_socket_;
  std::map<std::pair<int, int>, std::unique_ptr<Port>> ports_;  // (ifindex, family)
  std::map<std::tuple<int, Address16, Address16>, std::shared_ptr<PendingLeave>> leaves_;
};

}  // namespace joincast::daemon::membership
