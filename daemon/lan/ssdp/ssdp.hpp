// ssdp.hpp — the SSDP module: UPnP/SSDP discovery between the interfaces
// of each [[ssdp.zone]] (docs/ssdp.md). It loads bpf/ssdp.bpf.c, which does
// all the packet work in TC ingress, and keeps the program's interface
// entries in step with the zones and the interfaces the LinkWatcher sees:
// an interface that appears is attached, one that goes is forgotten, an
// address or MAC change rewrites its entry. Interfaces not there yet are
// pending, not an error.
//
// `joincast ssdp` (the "ssdp" command) shows the zones, the counters and
// the devices heard per interface (USN, NT, SERVER, LOCATION, last seen);
// another relay's copies or our own copies coming back are logged at most
// once a minute, when the rate-limit buckets of sources silent for a
// minute are also deleted.
//
// An on-demand interface (`on_demand`) gets copies only while a host there
// has joined the SSDP group of the copy's family: the daemon says when the
// membership module saw a host join or leave one (listeners_changed()), and
// the module writes who listens where into the program's entries.
#pragma once

#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/core/module.hpp"
#include "daemon/lan/ssdp/loader/ssdp_program.hpp"
#include "daemon/lan/ssdp/ssdp_config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>

namespace joincast::daemon::lan::ssdp {

class Ssdp final : public core::ConfiguredModule<SsdpSection> {
 public:
  // Groups with listeners and the interfaces they are on (the membership
  // module's listener_interfaces()).
  using Listeners = std::function<std::map<Address16, std::set<int>>()>;
  Ssdp(boost::asio::io_context& io, SsdpSection config, std::string pin_root, core::ControlServer& control,
       core::LinkWatcher& links, Listeners listeners = {});
  ~Ssdp() override;

  std::string_view name() const override { return "ssdp"; }
  // Nothing without a zone; otherwise loads the program (an error if it
  // cannot be) and attaches to the zones' interfaces that exist.
  Result<void> start() override;
  Result<void> reload(const SsdpSection& next) override;
  void stop() override;
  nlohmann::json status() const override;
  void collect_metrics(core::MetricsWriter& w) const override;

  // A host joined or left an SSDP group somewhere: the on-demand
  // interfaces' entries are brought up to date.
  void listeners_changed();

 private:
  struct Member {
    std::size_t zone = 0;
    int ifindex = 0;  // 0: pending
    std::string error;  // why it is not attached, if it is not
  };
  // Makes the program's entries match the zones and the interface table.
  void reconcile();
  Result<void> apply_interface(const Zone& zone, std::size_t zone_index, const std::string& name, int ifindex);
  void forget(const std::string& name);
  void watch_loops();
  // The devices table: a socket on 239.255.255.250:1900 joined on every
  // attached interface, fed by what the devices send on their own network.
  void open_listener();
  void listen();
  void on_datagram(int ifindex, std::string_view datagram);
  void join(int ifindex, bool on);
  // enum jc_ssdp_listening bits of ifindex, from listening_.
  std::uint8_t listening(int ifindex) const;
  void refresh_listening();

  struct Device {
    std::string nt, server, location;
    std::chrono::steady_clock::time_point last_seen;
    unsigned max_age = 0;
  };

  boost::asio::io_context& io_;
  SsdpSection config_;
  std::string pin_root_;
  core::ControlServer& control_;
  core::LinkWatcher& links_;
  core::LinkWatcher::Subscription link_subscription_;
  std::unique_ptr<SsdpProgram> program_;
  std::map<std::string, Member> members_;  // by interface name
  boost::asio::steady_timer loop_timer_;
  std::map<std::pair<std::uint32_t, std::string>, std::uint64_t> reported_;  // (ifindex, counter) -> count logged
  std::unique_ptr<boost::asio::ip::udp::socket> listener_;
  std::map<int, std::map<std::string, Device>> devices_;  // ifindex -> USN -> device
  std::size_t device_count_ = 0;
  bool commands_added_ = false;
  Listeners listeners_;
  std::map<int, std::uint8_t> listening_;  // ifindex -> jc_ssdp_listening bits, non-zero only
};

// 239.255.255.250, ff02::c or ff05::c (IPv4-mapped or IPv6).
bool is_ssdp_group(const Address16& group);

// The "ssdp" command's answer from counters and the configured zones: per
// zone its interfaces with their state and counters (both directions).
nlohmann::json ssdp_json(const SsdpSection& config, const std::vector<CounterEntry>& counters,
                         const std::map<std::string, int>& ifindex_of,
                         const std::map<std::string, std::string>& errors);

}  // namespace joincast::daemon::lan::ssdp
