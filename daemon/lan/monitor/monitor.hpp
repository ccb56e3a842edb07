// monitor.hpp — the monitor module: monitoring traffic that switches send
// to multicast groups (NTP requests to 224.0.1.1, syslog and SNMP traps to
// the management subnet's RFC 6034 group) reaches the daemons on this
// router that listen on the wildcard address, with no firewall rule.
//
// For each [[monitor]] entry and interface it joins the group on exactly
// that interface (so snooping switches deliver it and the kernel accepts
// it for the local sockets: IP_MULTICAST_ALL), source-specific where the
// allowed senders are single hosts; puts bpf/monitor.bpf.c on the
// interface, which counts the datagrams, drops those of senders not
// allowed, and rewrites NTP requests to the interface's own address so the
// NTP server answers them; and says whether anything listens on the port.
// Interfaces and addresses are followed through the LinkWatcher: a group
// derived from a subnet moves when the interface is renumbered.
#pragma once

#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/core/module.hpp"
#include "daemon/lan/monitor/monitor_config.hpp"
#include "daemon/lan/monitor/monitor_plan.hpp"
#include "daemon/lan/monitor/monitor_program.hpp"
#include "daemon/lan/monitor/udp_sockets.hpp"
#include "daemon/routing/kernel/static_joins.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace joincast::daemon::lan::monitor {

class Monitor final : public core::ConfiguredModule<MonitorSection> {
 public:
  Monitor(boost::asio::io_context& io, core::ControlServer& control, MonitorSection config, core::LinkWatcher& links);
  ~Monitor() override;

  std::string_view name() const override { return "monitor"; }
  // Loads the BPF program (only when there are entries) and applies them.
  Result<void> start() override;
  Result<void> reload(const MonitorSection& next) override;
  void stop() override;
  // null without [[monitor]] entries.
  nlohmann::json status() const override;
  void collect_metrics(core::MetricsWriter& w) const override;

 private:
  using Key = std::tuple<int, IpAddress, std::uint16_t>;
  struct Active {
    Binding binding;
    std::uint32_t id = 0;           // counters slot
    std::vector<routing::kernel::PlannedJoin> joins;  // held now
    std::string error;              // why it is not (fully) in force
  };

  // Makes the kernel match the plan for the interfaces as they are now.
  void reconcile();
  void activate(const Binding& b, Active& a);
  void deactivate(Active& a);
  std::vector<routing::kernel::PlannedJoin> joins_for(const Binding& b) const;
  jc_mon_entry entry_for(const Binding& b, std::uint32_t id) const;
  void check_listeners();
  void schedule_listener_check();
  nlohmann::json binding_json(const Active& a, const std::vector<BoundUdp>* bound) const;

  boost::asio::io_context& io_;
  core::ControlServer& control_;
  MonitorSection config_;
  core::LinkWatcher& links_;
  core::LinkWatcher::Subscription link_subscription_;
  std::unique_ptr<MonitorProgram> program_;
  routing::kernel::StaticJoins joins_;
  std::map<Key, Active> active_;
  std::vector<PendingGroup> pending_;
  std::set<std::uint32_t> free_ids_;
  std::uint32_t next_id_ = 0;
  std::set<Key> unheard_;  // bindings whose port nothing listened on at the last check
  boost::asio::steady_timer listener_timer_;
  bool started_ = false;
};

}  // namespace joincast::daemon::lan::monitor
