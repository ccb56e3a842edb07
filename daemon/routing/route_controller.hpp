// route_controller.hpp — joincastd's multicast routing module: what
// smcrouted and the hand-written startup scripts did, over netlink.
//
// It follows interfaces and addresses live, computes a RoutingPlan from
// the [routing] section, the routes added at runtime and the interfaces
// present, and makes the kernel match it: VIFs/MIFs on demand, (S,G) MFC
// entries, (*,G) templates resolved on the kernel's no-cache upcalls into
// (S,G) entries that expire when idle, group block routes in the table the
// kernel consults first (the ff00::/8 ambiguity fix), `ip mrule`s for a
// non-default table, static joins, bridge MDB entries and snooping
// settings. Each change is a diff against what is installed, so a reload
// touches only what changed and a flowing (S,G) keeps flowing.
//
// Operator actions (start, SIGHUP reload, `route add/del`) are
// transactions: they are checked first (a route that would need a 33rd
// VIF is refused with that reason) and undone if the kernel refuses a
// step, so nothing is left half-applied. Changes the network makes (an
// interface appears, goes, is renumbered) are applied as far as possible;
// what has to wait is listed as pending in `joincast routes`.
//
// The membership module borrows the mroute socket's IGMP/MLD delivery
// through subscribe_membership() when BPF cannot load.
#pragma once

#include "daemon/core/control_server.hpp"
#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/routing_config.hpp"
#include "daemon/routing/kernel/mroute_family.hpp"
#include "daemon/routing/kernel/static_joins.hpp"
#include "daemon/routing/kernel/transaction.hpp"
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

namespace joincast::daemon {

class RouteController {
 public:
  RouteController(boost::asio::io_context& io, ControlServer& control, RoutingSection config);
  ~RouteController();
  RouteController(const RouteController&) = delete;
  RouteController& operator=(const RouteController&) = delete;

  // Reads the interfaces, registers the control commands and applies the
  // configuration. False (after logging why) if it cannot be applied: the
  // daemon must not run half-routed.
  bool start();
  // Removes what joincastd installed (routes, rules, MDB entries, joins;
  // closing the mroute sockets flushes VIFs and MFC entries).
  void stop();
  // Applies a new [routing] section. False (logged; the old one stays in
  // force, untouched) if it cannot be applied.
  bool reload(const RoutingSection& next);

  const RoutingSection& config() const { return config_; }
  // For `status`: a summary line's worth.
  nlohmann::json status() const;

  // ---- streams joincast sends itself ---------------------------------
  // Routes the stream joincast sends to `group` from interface `from`
  // (its multicast loopback copy enters the routing as if received there)
  // to the interfaces `to`: a (*,G) template, resolved on the first packet.
  // A later call for the same group replaces the outputs; an empty `to`
  // removes the route. Returns why it cannot be installed, if it cannot;
  // nothing is half-applied then. Only with a [routing] section.
  std::optional<std::string> route_stream(const IpAddress& group, const std::string& from,
                                          std::vector<std::string> to);
  bool enabled() const { return config_.enabled && started_; }

  // ---- the membership fallback -------------------------------------
  // Keeps a membership handler registered; dropping it stops delivery,
  // releases the VIFs it pinned and leaves the report groups.
  class MembershipSubscription {
   public:
    MembershipSubscription() = default;
    MembershipSubscription(MembershipSubscription&&) noexcept = default;
    MembershipSubscription& operator=(MembershipSubscription&& other) noexcept;
    ~MembershipSubscription();
    void reset();
    explicit operator bool() const { return id_ != 0; }

   private:
    friend class RouteController;
    MembershipSubscription(std::weak_ptr<RouteController*> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
    std::weak_ptr<RouteController*> owner_;
    std::uint64_t id_ = 0;
  };

  // Delivers every IGMP (family AF_INET) or MLD (AF_INET6) packet that
  // arrives on one of `interfaces` to `handler`, read from the multicast
  // routing socket. The interfaces may be missing: they are served from
  // when they appear. For IPv4 each gets a VIF (IGMPv1/v2 reports to a
  // routable group reach the socket only through multicast forwarding);
  // on each, the socket joins 224.0.0.22 and 224.0.0.2, or ff02::16 and
  // ff02::2, where IGMPv3/MLDv2 reports and leaves/dones are sent. The
  // router's own reports, looped back to the socket, are not delivered (TC
  // ingress would not see them either). Fails if
  // the socket cannot be opened (another daemon owns the table: set
  // routing.table) or the VIFs would exceed 32.
  Result<MembershipSubscription> subscribe_membership(int family, std::vector<std::string> interfaces,
                                                      netlink::MrouteSocket::MembershipHandler handler);

 private:
  using Mode = ApplyMode;
  using Family = MrouteFamily;
  using Installed = InstalledEntry;
  using Dynamic = DynamicEntry;
  struct Tap {
    int family = AF_UNSPEC;
    std::vector<std::string> interfaces;
    netlink::MembershipSubscription subscription;
  };

  Family& family(int f) { return families_[f == AF_INET ? 0 : 1]; }
  const Family& family(int f) const { return families_[f == AF_INET ? 0 : 1]; }
  std::uint32_t table(int family) const;

  // Reconciliation.
  std::optional<std::string> apply(Mode mode);
  std::optional<std::string> apply_family(Family& f, const RoutingPlan& plan, Transaction& tx);
  std::optional<std::string> apply_group_routes(const RoutingPlan& plan, Transaction& tx);
  std::optional<std::string> apply_rules(const RoutingPlan& plan, Transaction& tx);
  std::optional<std::string> apply_joins(const RoutingPlan& plan, Transaction& tx);
  std::optional<std::string> apply_report_joins(Family& f, Transaction& tx);
  std::optional<std::string> apply_mdb(const RoutingPlan& plan, Transaction& tx);
  std::optional<std::string> apply_bridges(const RoutingPlan& plan, Transaction& tx);
  std::map<int, std::set<int>> pinned() const;
  RoutingPlan make_current_plan() const;
  Result<void> write_mfc(Family& f, const MfcKey& key, const Installed& entry) {
    return f.write(*netlink_, table(f.family), key, entry);
  }
  Result<void> erase_mfc(Family& f, const MfcKey& key) { return f.erase(*netlink_, table(f.family), key); }
  std::optional<std::string> open_socket(Family& f);
  void close_socket(Family& f);
  void remove_group_routes(std::uint8_t protocol, std::uint32_t table_id);
  void remove_rules(std::uint8_t protocol);
  void schedule_reconcile();
  void reconcile_now();

  // Events.
  bool read_interfaces();
  void watch_events();
  void on_events();
  void watch_socket(Family& f);
  void on_upcall(Family& f, const netlink::Upcall& u);
  void on_membership(int family, const netlink::MembershipPacket& p);
  void schedule_expiry();
  void expire();

  // Control commands.
  nlohmann::json routes_command();
  nlohmann::json route_add_command(const nlohmann::json& request);
  nlohmann::json route_del_command(const nlohmann::json& request);
  RouteRule rule_from_request(const nlohmann::json& request, bool need_outputs) const;
  std::optional<std::string> add_source_specific(const RouteRule& rule);
  nlohmann::json entry_json(const netlink::MfcEntry& e, const Family& f) const;
  void log_pending(const RoutingPlan& plan, const RoutingPlan* before);
  void unsubscribe(std::uint64_t id);

  boost::asio::io_context& io_;
  ControlServer& control_;
  RoutingSection config_;
  std::vector<RouteRule> runtime_;
  InterfaceTable interfaces_;
  std::optional<netlink::NetlinkSocket> netlink_;
  std::optional<netlink::NetlinkSocket> events_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> events_watch_;
  std::array<Family, 2> families_{{Family{AF_INET}, Family{AF_INET6}}};
  RoutingPlan plan_;
  StaticJoins joins_;
  std::vector<netlink::MdbEntry> mdb_installed_;
  std::map<int, netlink::BridgeMulticast> bridge_originals_;  // what we found before changing it
  boost::asio::steady_timer expiry_timer_;
  bool reconcile_scheduled_ = false;
  // What the last apply left in the kernel's routes and rules. While it is
  // still what the plan wants and nothing may have removed it (an
  // interface event, one of our routes deleted), nothing is dumped: a
  // runtime route add stays cheap.
  std::vector<netlink::Route> applied_group_routes_;
  std::vector<netlink::Rule> applied_rules_;
  bool group_routes_dirty_ = true;
  bool rules_dirty_ = true;
  bool started_ = false;
  bool stopping_ = false;
  std::map<std::uint64_t, Tap> taps_;
  std::uint64_t next_tap_ = 1;
  std::shared_ptr<RouteController*> self_;  // subscriptions hold a weak_ptr to it
};

}  // namespace joincast::daemon
