// mdns_relay.hpp — the mdns module: carries mDNS between the [mdns] zones
// per the policy (mdns_policy.hpp). Two sockets on udp 5353 beside any
// responder on the router (mdns_sockets.hpp) join 224.0.0.251 and ff02::fb
// on every zone interface the plan has in force (followed through the
// LinkWatcher). A datagram from this router's own addresses is never
// relayed (its own transmissions, and a local avahi that serves each link
// itself). A query is filtered and sent into each zone it may ask; a
// response is filtered for each zone that may see it and, in stateful
// mode, goes only to the zones whose matching query was forwarded within
// the window when some zone's was (an unsolicited announcement goes to
// every zone allowed to see it). Counters per zone pair.
#pragma once

#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/core/module.hpp"
#include "daemon/lan/mdns/mdns_config.hpp"
#include "daemon/lan/mdns/mdns_plan.hpp"
#include "daemon/lan/mdns/mdns_policy.hpp"
#include "daemon/lan/mdns/mdns_sockets.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::lan::mdns {

class MdnsRelay final : public core::ConfiguredModule<MdnsSection> {
 public:
  MdnsRelay(boost::asio::io_context& io, core::ControlServer& control, MdnsSection config, core::LinkWatcher& links);
  ~MdnsRelay() override;

  std::string_view name() const override { return "mdns"; }
  Result<void> start() override;
  Result<void> reload(const MdnsSection& next) override;
  void stop() override;
  nlohmann::json status() const override;  // null without zones
  void collect_metrics(core::MetricsWriter& w) const override;

 private:
  using Clock = std::chrono::steady_clock;
  struct PairCounters {
    std::uint64_t queries_forwarded = 0, queries_filtered = 0;
    std::uint64_t responses_forwarded = 0, responses_filtered = 0, responses_unasked = 0;
    std::uint64_t records_removed = 0;
  };
  struct ZoneCounters {
    std::uint64_t received = 0, malformed = 0, own = 0;
    std::string last_malformed;  // what was wrong with the last one, and its sender
  };
  struct Asked {  // a question of zone `asker` forwarded into zone `owner`
    std::size_t asker, owner;
    Question question;
    Clock::time_point at;
  };
  struct Learned {  // a host behind an allowed SRV: its addresses may cross
    std::size_t owner, asker;
    Name host;
    Clock::time_point until;
  };
  struct Listener {
    std::optional<MdnsSocket> socket;
    std::unique_ptr<boost::asio::posix::stream_descriptor> watch;
  };

  Result<void> open_sockets();
  void close_sockets();
  void reconcile();
  void wait(Listener& l);
  void on_readable(Listener& l);
  void handle(const MdnsSocket& socket, const Datagram& d);
  void relay_query(const MdnsSocket& socket, const Message& m, std::size_t from);
  void relay_response(const MdnsSocket& socket, const Message& m, std::size_t from);
  void send_to_zone(const MdnsSocket& socket, std::size_t zone, const Message& m);
  bool is_own_address(const IpAddress& a) const;
  bool asked_for(std::size_t asker, std::size_t owner, const Message& response, Clock::time_point now) const;
  std::vector<Name> learned_hosts(std::size_t owner, std::size_t asker, Clock::time_point now) const;
  void expire(Clock::time_point now);
  PairCounters& pair(std::size_t from, std::size_t to) { return pairs_[from * policy_.zones() + to]; }

  boost::asio::io_context& io_;
  core::ControlServer& control_;
  MdnsSection config_;
  core::LinkWatcher& links_;
  Policy policy_;
  MdnsPlan plan_;
  core::LinkWatcher::Subscription link_subscription_;
  Listener v4_, v6_;
  std::vector<ZoneInterface> joined_;
  std::vector<PairCounters> pairs_;
  std::vector<ZoneCounters> zones_;
  std::vector<Asked> asked_;
  std::vector<Learned> learned_;
  std::vector<std::string> pending_logged_;
};

}  // namespace joincast::daemon::lan::mdns
