// session_environment.hpp — the real world the session state machine runs
// against (daemon/sessions/session_manager.hpp): the Catalogue, the
// membership maps, the RouteController and media::MediaEngine behind the
// interfaces sessions/ declares. The daemon owns one of these.
#pragma once

#include "daemon/catalogue/catalogue.hpp"
#include "daemon/membership/membership.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/routing/route_requests.hpp"
#include "daemon/sessions/session_manager.hpp"

#include <boost/asio/io_context.hpp>

namespace joincast::daemon::app {

class CatalogueSessions final : public sessions::SessionCatalogue {
 public:
  explicit CatalogueSessions(catalogue::Catalogue& catalogue) : catalogue_(catalogue) {}
  Result<catalogue::ResolvedService> resolve(const catalogue::GroupAddress& group) const override;
  void play_url(const catalogue::InternetTarget& target, catalogue::directories::Directory::PlayHandler done) override;
  Result<media::SourcePlan> plan_source(const std::string& url) const override;
  void start_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                 media::DvbTuner::Done done) override;
  void stop_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                media::DvbTuner::Done done) override;
  media::DvbStreamDescription describe_dvb(const catalogue::DvbTarget& target) const override;
  void on_dvb_failure(media::DvbTuner::FailureHandler handler) override {
    catalogue_.on_dvb_failure(std::move(handler));
  }

 private:
  catalogue::Catalogue& catalogue_;
};

class MembershipListeners final : public sessions::ListenerView {
 public:
  MembershipListeners(membership::Membership& membership, const core::InterfaceTable& interfaces)
      : membership_(membership), interfaces_(interfaces) {}
  Index listeners() const override;
  std::set<int> listener_interfaces(const Address16& group) const override;
  std::vector<Address16> groups_with_listeners() const override;
  std::string interface_name(int ifindex) const override;
  unsigned interface_index(const std::string& name) const override;

 private:
  membership::Membership& membership_;
  const core::InterfaceTable& interfaces_;  // the daemon's LinkWatcher table
};

class RoutedStreams final : public sessions::StreamRoutes {
 public:
  explicit RoutedStreams(routing::RouteRequests& routes) : routes_(routes) {}
  bool enabled() const override { return routes_.routing_enabled(); }
  Result<void> route(const catalogue::GroupAddress& group, const std::string& from, std::vector<std::string> to) override;

 private:
  routing::RouteRequests& routes_;
};

// media::MediaEngine with its FFmpeg messages in the daemon's debug log.
sessions::StreamEngineFactory media_engine_factory();

struct DaemonSessionEnvironment {
  DaemonSessionEnvironment(boost::asio::io_context& io, catalogue::Catalogue& c, membership::Membership& m, routing::RouteRequests& r,
                           const core::InterfaceTable& interfaces)
      : clock(io), catalogue(c), listeners(m, interfaces), routes(r) {}
  sessions::SessionEnvironment get() { return {clock, catalogue, listeners, routes, media_engine_factory()}; }

  sessions::AsioSessionClock clock;
  CatalogueSessions catalogue;
  MembershipListeners listeners;
  RoutedStreams routes;
};

}  // namespace joincast::daemon::app
