// media_engine.hpp — the media library's front door: many RTP sessions in
// one process on a small pool of worker threads.
//
//   auto engine = MediaEngine::create({.threads = 2, .on_event = ...});
//   auto id = engine.value()->start(config, [](auto executor) {
//     return FileSource::open(executor, "/srv/a.mp3", {.loop = true});
//   });
//   engine->listener_appeared(*id);          // announce now
//   engine->update_metadata(*id, metadata);  // reaches the SDP within 1 s
//   engine->stats(*id);
//   engine->stop(*id);                       // SAP deletion, RTCP BYE, no more RTP
//
// Every method is thread-safe and returns at once; the work happens on the
// session's worker. Events (first packet, end, failure, stopped) arrive on
// the handler given at creation, called on a worker thread: hand them to
// your own executor. The engine installs FFmpeg's log callback (FFmpeg is
// otherwise silent; see EngineOptions::ffmpeg_log).
#pragma once

#include "media/byte_source.hpp"
#include "media/error.hpp"
#include "media/engine/session_types.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace joincast::media {

class Session;
class Worker;

struct EngineOptions {
  unsigned threads = 0;            // 0: one per core, at most 2
  unsigned ring_entries = 256;     // io_uring submission queue per worker; 0: sendmmsg() instead
  // How far ahead of its send time a packet is prepared. More rides out
  // slower wakeups; less keeps memory and stop latency down.
  std::chrono::milliseconds lead{400};
  // Packets due within this window leave together: one wakeup and one
  // io_uring submit for all sessions of a worker. A packet leaves at most
  // half of it early or late; fewer wakeups cost less CPU.
  std::chrono::microseconds send_window{4000};
  // A packet produced this late (its source stalled) re-anchors the clock
  // instead of being sent in a burst with the ones after it.
  std::chrono::milliseconds max_lateness{200};
  // A live source (an HTTP/ICY station) is sent at most lead + this
  // behind its newest data: frames are dropped when its clock runs faster
  // than ours (LiveEdge, media/rtp/pacing.hpp). Not a configuration key,
  // like the lead: the guarantee docs/media.md states.
  std::chrono::milliseconds live_slack{500};
  // RFC 2974 §3.1: what all announcements of this engine on one
  // well-known SAP group may use together, in bit/s.
  unsigned sap_well_known_bandwidth = 4000;
  std::function<void(const SessionEvent&)> on_event;
  // FFmpeg's messages at warning level or above (level, text); the last
  // one per session also shows in its stats. Unset: dropped.
  std::function<void(int level, std::string_view text)> ffmpeg_log;
};

class MediaEngine {
 public:
  // Creates a source on the executor the session will run on; a failure's
  // message may say why ("cannot open /srv/a.mp3: ...").
  using SourceFactory = std::function<Result<std::unique_ptr<ByteSource>>(boost::asio::any_io_executor)>;

  static Result<std::unique_ptr<MediaEngine>> create(EngineOptions options = {});
  // Stops every session (with SAP deletions and BYEs) and the workers.
  ~MediaEngine();
  MediaEngine(const MediaEngine&) = delete;
  MediaEngine& operator=(const MediaEngine&) = delete;

  // Starts a session. Errors that can be known now come back now: an
  // unknown interface, no usable source address, a group that is not
  // multicast or not of the source's family, sockets, the source factory.
  // The error's message is a sentence naming the input.
  Result<SessionId> start(SessionConfig config, SourceFactory make_source);
  // Announces a stream another program sends to config.group (dvblast's
  // MPEG-TS): SAP/SDP described by mapping, listeners' RTCP collected, no
  // RTP from us. Running at once; stop() deletes the announcement.
  Result<SessionId> announce(SessionConfig config, RtpMapping mapping);
  // A new listener joined the group: announce the SDP on it now.
  Result<void> listener_appeared(SessionId id);
  // A host joined a well-known SAP group (is_sap_well_known_group()):
  // every session of that scope announces there as soon as the group's
  // SAP bandwidth (EngineOptions::sap_well_known_bandwidth) allows.
  // Returns how many sessions will.
  std::size_t well_known_joined(const boost::asio::ip::address& sap_group);
  // Replaces the metadata layered over the source's own (see
  // SessionConfig::metadata).
  Result<void> update_metadata(SessionId id, StreamMetadata metadata);
  Result<SessionStats> stats(SessionId id) const;
  std::vector<SessionStats> stats() const;
  // Stops and forgets the session: no RTP after this, a SAP deletion and
  // an RTCP BYE go out (not with StopMode::restart: see there), a
  // `stopped` event follows.
  Result<void> stop(SessionId id, StopMode mode = StopMode::end);

  std::size_t session_count() const;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }
  // Empty when io_uring is in use, otherwise why not (sendmmsg is used).
  std::string sender_note() const;

 private:
  MediaEngine() = default;
  struct Entry {
    Worker* worker;
    std::shared_ptr<Session> session;
  };
  Result<Entry> find(SessionId id) const;

  EngineOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<std::size_t> well_known_ads_{0};
  std::shared_ptr<SapBandwidth> sap_bandwidth_;
  mutable std::mutex mutex_;
  std::map<SessionId, Entry> sessions_;
  SessionId next_id_ = 1;
};

}  // namespace joincast::media
