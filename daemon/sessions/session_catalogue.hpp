// session_catalogue.hpp — what the session state machine asks the
// catalogue: what a group plays, the URL of a station (a radio-browser
// click), the source for that URL, and the DVB services dvblast sends. The
// daemon's is the Catalogue (daemon/app/session_environment.hpp); unit
// tests use a fake.
#pragma once

#include "common/result.hpp"
#include "daemon/catalogue/catalogue.hpp"
#include "media/source/source_factory.hpp"

#include <string>

namespace joincast::daemon::sessions {

class SessionCatalogue {
 public:
  virtual ~SessionCatalogue() = default;
  // What group stands for, or why nothing (naming the group).
  virtual Result<catalogue::ResolvedService> resolve(const catalogue::GroupAddress& group) const = 0;
  virtual void play_url(const catalogue::InternetTarget& target, catalogue::directories::Directory::PlayHandler done) = 0;
  // How to make url's source; an error names the URL. A plan's error is
  // permanent: the URL will not play however often it is tried.
  virtual Result<media::SourcePlan> plan_source(const std::string& url) const = 0;
  virtual void start_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                         media::DvbTuner::Done done) = 0;
  virtual void stop_dvb(const catalogue::DvbTarget& target, const catalogue::GroupAddress& group, unsigned ifindex,
                        media::DvbTuner::Done done) = 0;
  virtual media::DvbStreamDescription describe_dvb(const catalogue::DvbTarget& target) const = 0;
  // A dvblast that died after it had started: every service of its
  // carrier has stopped. The handler is where that failure is logged.
  virtual void on_dvb_failure(media::DvbTuner::FailureHandler handler) = 0;
};

}  // namespace joincast::daemon::sessions
