// stream_engine.hpp — the media engine as the session state machine uses
// it: start a stream from a source, announce one dvblast sends, stop it,
// read its statistics. The daemon's is media::MediaEngine
// (daemon/app/session_environment.hpp); unit tests use a fake.
#pragma once

#include "common/result.hpp"
#include "media/engine/media_engine.hpp"

#include <functional>
#include <memory>
#include <string>

namespace joincast::daemon::sessions {

class StreamEngine {
 public:
  virtual ~StreamEngine() = default;
  // Errors name the input ("interface eth9 does not exist").
  virtual Result<media::SessionId> start(const media::SessionConfig& config,
                                         media::MediaEngine::SourceFactory make_source) = 0;
  virtual Result<media::SessionId> announce(const media::SessionConfig& config, const media::RtpMapping& mapping) = 0;
  virtual void listener_appeared(media::SessionId id) = 0;
  // A host joined a well-known SAP group: the streams of its scope are
  // announced there (media::MediaEngine::well_known_joined). How many.
  virtual std::size_t well_known_joined(const boost::asio::ip::address& sap_group) = 0;
  // SAP deletion, RTCP BYE (not with StopMode::restart); a `stopped`
  // event follows.
  virtual void stop(media::SessionId id, media::StopMode mode) = 0;
  virtual Result<media::SessionStats> stats(media::SessionId id) const = 0;
  virtual unsigned threads() const = 0;
  // Empty when io_uring is in use, otherwise why not.
  virtual std::string sender_note() const = 0;
};

// Makes the engine when sessions start (and on a reload that configures
// sessions.interface for the first time). on_event is called on any
// thread.
using StreamEngineFactory = std::function<Result<std::unique_ptr<StreamEngine>>(
    unsigned threads, std::function<void(const media::SessionEvent&)> on_event)>;

}  // namespace joincast::daemon::sessions
