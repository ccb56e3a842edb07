// multicast_forwarding.hpp — the kernel's multicast forwarding of both
// address families as joincastd drives it: per family the mroute socket,
// the VIFs/MIFs, the (S,G) entries of the multicast forwarding cache
// (IPv4 over rtnetlink in batches, IPv6 and VIF 31 by socket option), the
// report-group joins of the membership tap; the kernel's no-cache upcalls,
// resolved into (S,G) entries by the routing plan's (*,G) templates, and
// the expiry of those entries when idle.
//
// What to forward comes from the routing module: a FamilyForwarding per
// family for each apply (undone through the Transaction on failure) and a
// Matcher for the templates. What happens on its own (an upcall resolved,
// an entry expired, a socket read failed) goes back as ForwardingEvents for
// the module to log and publish; this class logs nothing.
#pragma once

#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/kernel/mfc_key.hpp"
#include "daemon/routing/kernel/mroute_family.hpp"
#include "daemon/routing/kernel/transaction.hpp"
#include "netlink/mroute_socket.hpp"
#include "netlink/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace joincast::daemon::routing::kernel {

// An MFC entry as the plan wants it.
struct WantedEntry {
  int iif = 0;
  OifMap oifs;
  EntryKind kind = EntryKind::route;
  std::string origin;
};

// A (*,G) template of the plan that matches an (S,G); the plan owns what
// these point to.
struct TemplateMatch {
  const OifMap* oifs = nullptr;
  const std::string* origin = nullptr;
  const std::string* description = nullptr;
};
using Matcher = std::function<std::optional<TemplateMatch>(int family, std::string_view iif, const IpAddress& source,
                                                           const IpAddress& group)>;

// One family's part of a plan.
struct FamilyForwarding {
  std::map<int, std::uint8_t> vifs;    // ifindex -> threshold: the interfaces that need a VIF
  std::map<MfcKey, WantedEntry> routes;  // the configured (S,G) entries
  bool templates = false;              // (*,G) templates wait for upcalls
  bool tap = false;                    // the membership tap reads this family's socket
  std::set<int> report_interfaces;     // where the tap joins the report groups
};

// Something the forwarding did on its own, for the module to say.
struct ForwardingEvent {
  enum class Kind {
    opened,          // the family's table was opened
    closed,          // and closed
    read_failed,     // reading the mroute socket failed (error)
    unknown_vif,     // an upcall for a VIF we did not make (vif)
    other_upcall,    // an upcall that is not a no-cache one (detail: its kind)
    install_failed,  // an upcall's (S,G) could not be installed (error)
    resolved,        // an upcall's (S,G) resolved by a template
    stop,            // installed as a stop filter: no template matches
    dump_failed,     // the MFC could not be read for expiry (error)
    expire_failed,   // an idle entry could not be removed (error)
    expired,         // an idle entry was removed
  };
  ForwardingEvent(Kind what, int address_family) : kind(what), family(address_family) {}
  Kind kind;
  int family;
  std::uint32_t table = 0;
  MfcKey key;
  std::string iif;
  OifMap oifs;
  std::optional<TemplateMatch> match;
  unsigned vif = 0;
  std::string detail;
  Error error;
};

class MulticastForwarding {
 public:
  using Table = std::function<std::uint32_t(int family)>;
  using EventHandler = std::function<void(const ForwardingEvent&)>;
  using Configured = std::function<bool(const MfcKey&)>;

  // `interfaces` must outlive this. `table` names the multicast routing
  // table of a family; `match` and `configured` answer for the plan in
  // force (upcalls); `on_event` hears what happens on its own.
  MulticastForwarding(boost::asio::io_context& io, const core::InterfaceTable& interfaces, Table table, Matcher match,
                      Configured configured, EventHandler on_event);
  MulticastForwarding(const MulticastForwarding&) = delete;
  MulticastForwarding& operator=(const MulticastForwarding&) = delete;

  // The rtnetlink socket MFC entries are written and read over; it must
  // outlive this, and be given before anything else is asked.
  void attach(netlink::NetlinkSocket& nl) { nl_ = &nl; }

  // Makes family `fam` forward as `want` says (its routes, then the
  // dynamic entries `match` still resolves), opening the socket when
  // something needs it and closing it after commit when nothing does.
  Result<void> apply(int fam, FamilyForwarding want, const Matcher& match, Transaction& tx);
  // One configured (S,G) on its own (a runtime `route add`): opens the
  // socket and adds the VIFs of `vifs` as needed, writes the entry and
  // returns it; installed() records it once the transaction commits.
  Result<InstalledEntry> install(const MfcKey& key, const std::map<int, std::uint8_t>& vifs, const WantedEntry& want,
                                 Transaction& tx);
  void installed(const MfcKey& key, const InstalledEntry& entry);

  // Closes a family's socket (which flushes its table), or both.
  void close(int fam);
  void close_all();
  // The device is gone: the kernel dropped its memberships.
  void forget_interface(int ifindex);
  // Forgets the (S,G)s learned from upcalls (stopping).
  void forget_dynamic();

  // Removes (S,G)s learned from upcalls once idle for `expiry` (0: never).
  void schedule_expiry(std::chrono::milliseconds expiry);
  void cancel_expiry();

  MrouteFamily& family(int fam) { return families_[fam == AF_INET ? 0 : 1]; }
  const MrouteFamily& family(int fam) const { return families_[fam == AF_INET ? 0 : 1]; }
  const std::array<MrouteFamily, 2>& families() const { return families_; }

 private:
  Result<void> open(MrouteFamily& f);
  void watch(MrouteFamily& f);
  Result<void> write(MrouteFamily& f, const MfcKey& key, const InstalledEntry& entry) {
    return f.write(*nl_, table_(f.family), key, entry);
  }
  Result<void> erase(MrouteFamily& f, const MfcKey& key) { return f.erase(*nl_, table_(f.family), key); }
  Result<void> apply_report_joins(MrouteFamily& f, const std::set<int>& want, Transaction& tx);
  void on_upcall(MrouteFamily& f, const netlink::Upcall& u);
  void expire();
  void event(const ForwardingEvent& e) {
    if (on_event_) on_event_(e);
  }

  boost::asio::io_context& io_;
  netlink::NetlinkSocket* nl_ = nullptr;
  const core::InterfaceTable& interfaces_;
  Table table_;
  Matcher match_;
  Configured configured_;
  EventHandler on_event_;
  std::array<MrouteFamily, 2> families_{{MrouteFamily{AF_INET}, MrouteFamily{AF_INET6}}};
  boost::asio::steady_timer expiry_timer_;
  std::chrono::milliseconds expiry_{0};
};

}  // namespace joincast::daemon::routing::kernel
