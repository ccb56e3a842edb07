// route_controller.hpp — joincastd's multicast routing module: what
// smcrouted and the hand-written startup scripts did, over netlink.
//
// It follows interfaces and addresses live (the daemon's LinkWatcher), computes a RoutingPlan from
// the [routing] section, the routes added at runtime and the interfaces
// present, and makes the kernel match it: VIFs/MIFs on demand, (S,G) MFC
// entries, (*,G) templates resolved on the kernel's no-cache upcalls into
// (S,G) entries that expire when idle, group block routes in the table the
// kernel consults first (the ff00::/8 ambiguity fix), `ip mrule`s for a
// non-default table, static joins, bridge MDB entries and snooping
// settings. Each change is a diff against what is installed, so a reload
// touches only what changed and a flowing (S,G) keeps flowing.
//
// The kernel state itself is kept by the classes in kernel/ (forwarding,
// group routes and rules, static joins, bridges); this module decides what
// it should be and says what happened.
//
// Operator actions (start, SIGHUP reload, `route add/del`) are
// transactions: they are checked first (a route that would need a 33rd
// VIF is refused with that reason) and undone if the kernel refuses a
// step, so nothing is left half-applied. Changes the network makes (an
// interface appears, goes, is renumbered) are applied as far as possible;
// what has to wait is listed as pending in `joincast routes`.
//
// Other modules see it through two narrow interfaces: RouteRequests
// (owner-tagged routes: sessions' stream routes, later the proxy, SSDP,
// monitoring) and MembershipTap (the mroute socket's IGMP/MLD delivery,
// for the membership module when BPF cannot load).
#pragma once

#include "daemon/core/control_server.hpp"
#include "daemon/core/module.hpp"
#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/routing/routing_config.hpp"
#include "daemon/routing/kernel/bridge_state.hpp"
#include "daemon/routing/kernel/group_routes.hpp"
#include "daemon/routing/kernel/multicast_forwarding.hpp"
#include "daemon/routing/kernel/static_joins.hpp"
#include "daemon/routing/kernel/transaction.hpp"
#include "daemon/routing/membership_tap.hpp"
#include "daemon/routing/route_requests.hpp"
#include "daemon/routing/routing_plan.hpp"
#include "netlink/mroute_socket.hpp"
#include "netlink/route.hpp"
#include "netlink/rule.hpp"
#include "netlink/socket.hpp"
#include "netlink/vif_table.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::routing {

class RouteController final : public core::ConfiguredModule<RoutingSection>, public RouteRequests, public MembershipTap {
 public:
  // `links` is the daemon's one interface watcher; it must outlive this.
  RouteController(boost::asio::io_context& io, core::ControlServer& control, RoutingSection config, core::LinkWatcher& links);
  ~RouteController() override;

  std::string_view name() const override { return "routing"; }
  RouteController(const RouteController&) = delete;
  RouteController& operator=(const RouteController&) = delete;

  // Reads the interfaces, registers the control commands and applies the
  // configuration. Fails, with the reason, if it cannot be applied: the
  // daemon must not run half-routed.
  Result<void> start() override;
  // Removes what joincastd installed (routes, rules, MDB entries, joins;
  // closing the mroute sockets flushes VIFs and MFC entries).
  void stop() override;
  // Applies a new [routing] section. Fails (the old one stays in force,
  // untouched) if it cannot be applied.
  Result<void> reload(const RoutingSection& next) override;

  const RoutingSection& config() const { return config_; }
  // For `status`: a summary line's worth.
  nlohmann::json status() const override;

  // ---- RouteRequests: routes other modules ask for ------------------
  bool routing_enabled() const override { return enabled(); }
  Result<void> route_group(RouteOwner owner, const IpAddress& group, const std::string& from,
                           std::vector<std::string> to) override;
  bool enabled() const { return config_.enabled && started_; }

  // ---- MembershipTap: the membership fallback -------------------------
  Result<Subscription> subscribe_membership(int family, std::vector<std::string> interfaces,
                                            Handler handler) override;

 private:
  using Mode = kernel::ApplyMode;
  struct Tap {
    int family = AF_UNSPEC;
    std::vector<std::string> interfaces;
    netlink::MembershipSubscription subscription;
  };

  std::uint32_t table(int family) const;

  // Reconciliation.
  Result<void> apply(Mode mode);
  // What `plan` asks of family `fam`'s forwarding.
  kernel::FamilyForwarding forwarding_plan(const RoutingPlan& plan, int fam) const;
  Result<void> apply_group_routes(const RoutingPlan& plan, kernel::Transaction& tx);
  Result<void> apply_rules(const RoutingPlan& plan, kernel::Transaction& tx);
  std::map<int, std::set<int>> pinned() const;
  RoutingPlan make_current_plan() const;
  void schedule_reconcile();
  void reconcile_now();

  // Events.
  void on_link(const core::LinkChange& change);
  void watch_events();
  void on_events();
  // Says (logs, publishes) what the forwarding did on its own.
  void on_forwarding(const kernel::ForwardingEvent& e);
  void on_membership(int family, const netlink::MembershipPacket& p);

  // Control commands.
  nlohmann::json routes_command();
  Result<nlohmann::json> route_add_command(const nlohmann::json& request);
  Result<nlohmann::json> route_del_command(const nlohmann::json& request);
  Result<RouteRule> rule_from_request(const nlohmann::json& request, bool need_outputs) const;
  // The refusal when another owner's runtime route has rule's selector.
  std::optional<Error> other_owner(const RouteRule& rule) const;
  Result<void> add_source_specific(const RouteRule& rule);
  nlohmann::json entry_json(const netlink::MfcEntry& e, const kernel::MrouteFamily& f) const;
  void log_pending(const RoutingPlan& plan, const RoutingPlan* before);
  void unsubscribe(std::uint64_t id) override;

  boost::asio::io_context& io_;
  core::ControlServer& control_;
  RoutingSection config_;
  std::vector<RouteRule> runtime_;
  core::LinkWatcher& links_;
  const core::InterfaceTable& interfaces_;  // the watcher's
  core::LinkWatcher::Subscription link_subscription_;
  std::optional<netlink::NetlinkSocket> netlink_;
  std::optional<netlink::NetlinkSocket> events_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_watch_;  // route deletions
  RoutingPlan plan_;
  kernel::MulticastForwarding forwarding_;  // VIFs and MFC entries of both families
  kernel::StaticJoins joins_;
  kernel::BridgeState bridges_;  // MDB entries and snooping settings
  bool reconcile_scheduled_ = false;
  kernel::GroupRoutes group_routes_;  // group block routes and multicast rules
  bool started_ = false;
  bool stopping_ = false;
  std::map<std::uint64_t, Tap> taps_;
  std::uint64_t next_tap_ = 1;
  std::shared_ptr<MembershipTap*> self_;  // subscriptions hold a weak_ptr to it
};

}  // namespace joincast::daemon::routing
