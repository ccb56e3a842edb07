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
// every zone allowed to see it). A legacy unicast query (source port not
// 5353) is carried the same way and answered by unicast to its sender with
// what comes back (legacy_unicast.hpp). Each sender is rate-limited
// (source_rate_limit.hpp); a second reflector on the links is found by the
// records it copies between zones and its traffic is not relayed
// (reflector_watch.hpp), and a message with the bytes it has just sent
// into the zone is another relay's copy, not relayed (relayed_copies.hpp:
// two relays on the same links do not loop); the services each zone announces are listed
// (service_table.hpp). Counters per zone and zone pair.
#pragma once

#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/core/module.hpp"
#include "daemon/lan/mdns/asked_questions.hpp"
#include "daemon/lan/mdns/mdns_config.hpp"
#include "daemon/lan/mdns/mdns_plan.hpp"
#include "daemon/lan/mdns/mdns_policy.hpp"
#include "daemon/lan/mdns/mdns_sockets.hpp"
#include "daemon/lan/mdns/reflector_watch.hpp"
#include "daemon/lan/mdns/relayed_copies.hpp"
#include "daemon/lan/mdns/service_table.hpp"
#include "daemon/lan/mdns/source_rate_limit.hpp"

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
    std::uint64_t legacy_answers = 0;  // unicast replies to `to`'s legacy queries made of `from`'s responses
  };
  struct ZoneCounters {
    std::uint64_t received = 0, malformed = 0, own = 0;
    std::uint64_t rate_limited = 0, reflected = 0, legacy_queries = 0;
    std::uint64_t relayed_copies = 0;  // another relay's copies of what this one sent into the zone
    std::string last_malformed;  // what was wrong with the last one, and its sender
  };
  struct LegacyAsk {  // a legacy query of zone `asker` carried into zone `owner`
    std::size_t asker, owner;
    int ifindex;
    IpAddress source;
    std::uint16_t port, id;
    std::vector<Question> questions;  // as the querier asked
    std::vector<Question> forwarded;  // those carried into `owner`
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
  void relay_query(const MdnsSocket& socket, const Message& m, std::size_t from, const Datagram* legacy);
  void relay_response(const MdnsSocket& socket, const Message& m, std::size_t from);
  bool answer_legacy(const Message& m, std::size_t from, Clock::time_point now);
  void learn(std::size_t owner, std::size_t asker, const Message& m, Clock::time_point now);
  void log_reflectors(Clock::time_point now);
  void log_reflector(const ReflectorWatch::Reflector& r) const;
  void send_to_zone(const MdnsSocket& socket, std::size_t zone, const Message& m);
  bool is_own_address(const IpAddress& a) const;
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
  AskedQuestions asked_;  // forwarded questions, for stateful mode
  std::vector<Learned> learned_;
  std::vector<LegacyAsk> legacy_;
  SourceRateLimit rate_;
  ReflectorWatch reflectors_;
  RelayedCopies copies_;  // what was sent into each zone, to know another relay's copies of it
  ServiceTable services_;
  Clock::time_point last_expired_{}, last_reflector_log_{};
  std::vector<std::string> pending_logged_;
};

}  // namespace joincast::daemon::lan::mdns
