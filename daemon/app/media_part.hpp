// media_part.hpp — joincastd's media half as the composition root sees it:
// the catalogue and the session manager, with the environment they run
// against (session_environment.hpp), built from Config::media and added to
// the module list in start order. media_part.cpp builds them; in a
// routing-only build (JOINCAST_MEDIA=OFF) no_media.cpp adds nothing and
// the daemon runs without them.
#pragma once

#include "daemon/app/config.hpp"
#include "daemon/app/module_entry.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/core/link_watcher.hpp"
#include "daemon/membership/membership.hpp"
#include "daemon/membership/membership_event.hpp"
#include "daemon/routing/route_requests.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

namespace joincast::daemon::app {

// What the media modules use of the rest of the daemon.
struct MediaContext {
  boost::asio::io_context& io;
  core::ControlServer& control;
  core::LinkWatcher& links;
  membership::Membership& membership;
  routing::RouteRequests& routes;
};

class MediaPart {
 public:
  virtual ~MediaPart() = default;
  // Membership's events: a group's first listener starts its stream.
  virtual void on_membership(const membership::MembershipEvent& e) = 0;
};

// Builds the media modules from config (the daemon's own Config, which
// outlives them) and appends them to modules. Null in a build without media.
std::unique_ptr<MediaPart> add_media_part(const MediaContext& context, const Config& config,
                                          std::vector<ModuleEntry>& modules);

}  // namespace joincast::daemon::app
