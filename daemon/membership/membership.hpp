// membership.hpp — the daemon's membership module: picks the backend (the
// eBPF TC program, or the multicast routing socket where BPF cannot load),
// attaches it to the configured interfaces as they appear, ages listeners
// out (RFC 3810 §7.4: the Multicast Address Listening Interval), runs the
// querier, publishes events on the control socket and answers "groups" and
// "membership" requests.
#pragma once

#include "daemon/membership/membership_config.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/membership/membership_backend.hpp"
#include "daemon/membership/membership_event.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/core/module.hpp"
#include "daemon/membership/querier.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

namespace joincast::daemon::routing {
class MembershipTap;
}  // namespace joincast::daemon::routing

namespace joincast::daemon::membership {

class Membership final : public core::ConfiguredModule<MembershipSection> {
 public:
  // routes lends its multicast routing socket to the fallback backend;
  // links (the daemon's interface watcher) says when interfaces come and go.
  Membership(boost::asio::io_context& io, const MembershipSection& config, core::ControlServer& control,
             routing::MembershipTap& routes, core::LinkWatcher& links);
  ~Membership() override;

  std::string_view name() const override { return "membership"; }
  // Loads the backend and attaches to the interfaces present. Fails if the
  // configured backend cannot start.
  Result<void> start() override;
  // SIGHUP: attach to new interfaces, detach from removed ones, new timers.
  Result<void> reload(const MembershipSection& config) override;
  void stop() override;
  nlohmann::json status() const override;
  void collect_metrics(core::MetricsWriter& w) const override;

  // Other modules (sessions, proxy) follow membership through this.
  using Observer = std::function<void(const MembershipEvent&)>;
  void observe(Observer observer) { observers_.push_back(std::move(observer)); }
  // Groups that have listeners now (after a restart: those the pinned maps
  // kept), and the interfaces each group's listeners are on.
  std::vector<Address16> active_groups() const;
  std::map<Address16, std::set<int>> listener_interfaces() const;

  Result<nlohmann::json> groups(bool include_empty = false) const;

 private:
  struct Interface {
    std::string name;
    int ifindex = 0;  // 0: not present (pending)
    bool attached = false;
    std::string error;
  };

  Result<void> start_backend();
  Result<void> use_socket_backend(const std::string& why);
  void on_event(const jc_event& e);
  void sync_interfaces();
  void schedule_aging();
  void age();
  void check_counters();
  // After the ring buffer lost events: compare the groups map with the
  // group-up/down transitions delivered and deliver the missing ones.
  void reconcile_groups();

  boost::asio::io_context& io_;
  MembershipSection config_;
  core::ControlServer& control_;
  routing::MembershipTap& routes_;  // the mroute socket, for the socket backend
  core::LinkWatcher& links_;
  core::LinkWatcher::Subscription link_subscription_;
  std::unique_ptr<MembershipBackend> backend_;
  std::unique_ptr<Querier> querier_;
  std::map<std::string, Interface> interfaces_;
  std::vector<Observer> observers_;
  boost::asio::steady_timer aging_timer_;
  boost::asio::steady_timer attach_retry_;  // after a failed attach; missing interfaces wait for links_
  // Listeners found in pinned maps at start are aged from this time, not
  // from their last report: while no daemon ran, nobody queried them.
  std::uint64_t started_ns_ = 0;
  std::string backend_note_;
  // Empty while the bpf backend's maps are pinned where a restart finds
  // them; else what is wrong (the bpffs unmounted, the pins removed).
  // Asked by status and reload, not polled.
  std::string pins_problem() const;
  // Counters at the last check, and when each kind was last warned about.
  jc_counters last_counters_{};
  std::map<std::string, std::chrono::steady_clock::time_point> last_warning_;
  // Groups whose group-up was delivered and group-down not yet.
  std::set<Address16> up_;
};

}  // namespace joincast::daemon::membership
