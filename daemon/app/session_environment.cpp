// session_environment.cpp — see session_environment.hpp.
#include "daemon/app/session_environment.hpp"

#include "daemon/core/log.hpp"
#include "daemon/membership/loader/membership_json.hpp"

#include <boost/system/system_error.hpp>
#include <net/if.h>

namespace joincast::daemon::app {

// ---------------------------------------------------------------- catalogue

Result<catalogue::ResolvedService> CatalogueSessions::resolve(const catalogue::GroupAddress& group) const {
  return catalogue_.resolve(group);
}

void CatalogueSessions::play_url(const catalogue::InternetTarget& target, catalogue::directories::Directory::PlayHandler done) {
  catalogue_.play_url(target, std::move(done));
}

Result<media::SourcePlan> CatalogueSessions::plan_source(const std::string& url) const {
  return media::plan_source(url, catalogue_.http());
}

void CatalogueSessions::start_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                                  media::DvbTuner::Done done) {
  catalogue_.start_dvb(target, group, ifindex, std::move(done));
}

void CatalogueSessions::stop_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                                 media::DvbTuner::Done done) {
  catalogue_.stop_dvb(target, group, ifindex, std::move(done));
}

media::DvbStreamDescription CatalogueSessions::describe_dvb(const catalogue::DvbTarget& target) const {
  return catalogue_.describe_dvb(target);
}

// ---------------------------------------------------------------- listeners

sessions::ListenerView::Index MembershipListeners::listeners() const { return membership_.listener_interfaces(); }

std::set<int> MembershipListeners::listener_interfaces(const Address16& group) const {
  auto all = membership_.listener_interfaces();
  auto it = all.find(group);
  return it == all.end() ? std::set<int>{} : it->second;
}

std::vector<Address16> MembershipListeners::groups_with_listeners() const { return membership_.active_groups(); }

std::string MembershipListeners::interface_name(int ifindex) const { return interfaces_.name(ifindex); }

unsigned MembershipListeners::interface_index(const std::string& name) const {
  return static_cast<unsigned>(interfaces_.ifindex(name).value_or(0));
}

// ------------------------------------------------------------------- routes

Result<void> RoutedStreams::route(const catalogue::GroupAddress& group, const std::string& from, std::vector<std::string> to) {
  return routes_.route_group(routing::RouteOwner::session, group.ip(), from, std::move(to));
}

// -------------------------------------------------------------------- media

namespace {

class MediaStreamEngine final : public sessions::StreamEngine {
 public:
  explicit MediaStreamEngine(std::unique_ptr<media::MediaEngine> engine) : engine_(std::move(engine)) {}

  Result<media::SessionId> start(const media::SessionConfig& config,
                                 media::MediaEngine::SourceFactory make_source) override {
    return engine_->start(config, std::move(make_source));
  }
  Result<media::SessionId> announce(const media::SessionConfig& config, const media::RtpMapping& mapping) override {
    return engine_->announce(config, mapping);
  }
  // The session may have ended on its own just now: its event is on the way.
  void listener_appeared(media::SessionId id) override { (void)engine_->listener_appeared(id); }
  std::size_t well_known_joined(const boost::asio::ip::address& g) override { return engine_->well_known_joined(g); }
  void stop(media::SessionId id, media::StopMode mode) override { (void)engine_->stop(id, mode); }
  Result<media::SessionStats> stats(media::SessionId id) const override { return engine_->stats(id); }
  unsigned threads() const override { return engine_->threads(); }
  std::string sender_note() const override { return engine_->sender_note(); }

 private:
  std::unique_ptr<media::MediaEngine> engine_;
};

}  // namespace

sessions::StreamEngineFactory media_engine_factory() {
  return [](unsigned threads,
            std::function<void(const media::SessionEvent&)> on_event) -> Result<std::unique_ptr<sessions::StreamEngine>> {
    media::EngineOptions options;
    options.threads = threads;
    options.on_event = std::move(on_event);
    options.ffmpeg_log = [](int level, std::string_view text) {
      (void)level;
      core::log::debug("ffmpeg: {}", text);
    };
    Result<std::unique_ptr<media::MediaEngine>> engine = Error(std::errc::io_error);
    try {
      engine = media::MediaEngine::create(std::move(options));
    } catch (const boost::system::system_error& e) {
      // Asio throws when it cannot make a worker's io_context or reactor
      // (EMFILE, ENOMEM): converted here, at the boundary.
      return Error(std::error_code(e.code()), e.what());
    } catch (const std::system_error& e) {
      return Error(e.code(), e.what());
    }
    if (!engine) return engine.error();
    return std::unique_ptr<sessions::StreamEngine>(std::make_unique<MediaStreamEngine>(std::move(engine).value()));
  };
}

}  // namespace joincast::daemon::app
