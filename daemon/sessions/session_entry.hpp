// session_entry.hpp — what SessionManager knows about one group: its state,
// what it resolved to, its media session or DVB service, and its timers.
// Shared by the files of daemon/sessions/ only.
#pragma once

#include "daemon/sessions/session_manager.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace joincast::daemon::sessions {

struct SessionManager::Entry {
  Entry(SessionClock& clock, const Address16& k)
      : key(k), timer(clock.timer()), since(clock.now()), first_listener(since) {}
  Address16 key;
  catalogue::GroupAddress group;
  State state = State::waiting;
  std::string reason;       // why it waits or failed last, for people
  std::string reason_kind;  // "resolve", "policy", "limit", "source", ...
  std::string service;      // "Test tone 440 Hz (MP3)", "DVB 0xf00d on 11426500 kHz H"
  std::string directory;    // directory name, or "dvb"
  std::optional<catalogue::ResolvedService> resolved;
  std::optional<media::SessionId> media;
  std::shared_ptr<media::SourceStatusBox> source_status;
  std::string url;
  bool dvb_running = false;
  unsigned failures = 0;
  std::uint64_t generation = 0;  // async answers for an older attempt are ignored
  std::vector<std::string> routed_to;
  std::unique_ptr<SessionTimer> timer;  // grace, retry, start timeout
  Clock::time_point since;  // of the current state
  Clock::time_point first_listener;
  std::optional<Clock::time_point> started_at;
};

// The listener map's key of a group, and back.
Address16 group_key(const catalogue::GroupAddress& g);
catalogue::GroupAddress key_group(const Address16& a);

}  // namespace joincast::daemon::sessions
