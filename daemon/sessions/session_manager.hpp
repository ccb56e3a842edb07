// session_manager.hpp — a join starts a stream, the last leave stops it.
//
// Follows membership: a group going from 0 to 1 listener is resolved
// (address plan -> directory -> station, or DVB service), checked against
// the policy and the session limits, and started: an internet station as a
// media session fed by its source, a DVB service through dvblast with
// joincast's own SAP/SDP. More listeners only announce the SAP again at
// once; the last one leaving starts a grace period, after which the session
// stops with a SAP deletion, unless a listener comes back first.
//
// A session that fails (a dead station, a busy tuner, no first packet) is
// retried with exponential backoff while listeners remain; it never affects
// another session. One whose failure no retry can mend (a URL joincast
// cannot play, such as ftp://) fails at once and stays failed, with its
// reason, until its listeners leave or a reload. When joincast is also the router it routes each stream to
// the interfaces that have listeners.
//
// The state machine runs against interfaces (SessionEnvironment): a clock,
// the catalogue, the listener maps, the stream routes and the media engine.
// The daemon wires the real ones (daemon/app/session_environment.hpp);
// unit tests fake them all.
#pragma once

#include "common/result.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/core/module.hpp"
#include "daemon/sessions/listener_view.hpp"
#include "daemon/sessions/session_catalogue.hpp"
#include "daemon/sessions/session_clock.hpp"
#include "daemon/sessions/session_config.hpp"
#include "media/rtcp/receiver_table.hpp"
#include "daemon/sessions/stream_engine.hpp"
#include "daemon/sessions/stream_routes.hpp"
#include "daemon/membership/membership_event.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace joincast::daemon::sessions {

// What the state machine runs against; everything outlives the manager.
struct SessionEnvironment {
  SessionClock& clock;
  SessionCatalogue& catalogue;
  ListenerView& listeners;
  StreamRoutes& routes;
  StreamEngineFactory make_engine;
};

class SessionManager final : public core::ConfiguredModule<SessionsSection> {
 public:
  SessionManager(boost::asio::io_context& io, const SessionsSection& config, SessionEnvironment env,
                 core::ControlServer& control);
  ~SessionManager() override;

  std::string_view name() const override { return "sessions"; }

  // Registers "sessions" and "sdp", creates the media engine and starts
  // sessions for groups that already have listeners (after a restart).
  // Fails when the engine cannot start.
  Result<void> start() override;
  // Applies a new [sessions] section. Fails, changing nothing, when it is
  // the first with an interface and the media engine cannot start.
  Result<void> reload(const SessionsSection& config) override;
  // Stops every session: SAP deletions and RTCP BYEs go out.
  void stop() override;

  void on_membership(const membership::MembershipEvent& e);

  // What "sessions" answers: every group's session, state and statistics.
  nlohmann::json sessions_json() const;
  nlohmann::json summary() const;
  nlohmann::json status() const override { return summary(); }
  void collect_metrics(core::MetricsWriter& w) const override;

 private:
  enum class State { waiting, starting, running, grace, retrying, failed };
  struct Entry;
  using Clock = SessionClock::Clock;
  static constexpr unsigned kEvaluate = 1;  // resolve, check policy and limits, start
  static constexpr unsigned kRoutes = 2;    // follow the listeners' interfaces
  static constexpr unsigned kCreate = 4;    // a group's first listener: make its entry
  struct Pending {
    unsigned what = 0;
    Clock::time_point since;  // first scheduled
  };

  Result<void> start_engine();
  Entry& entry_for(const Address16& group);
  Entry* find(const Address16& group);
  void on_listener(const Address16& group);
  void on_group_down(const Address16& group);
  // Work that needs the listener map is queued and done after the current
  // burst of events, all of it on one walk of the map.
  void schedule(const Address16& group, unsigned what);
  void run_pending();
  void evaluate(Entry& e);
  void start_session(Entry& e);
  void arm_start_timeout(Entry& e);
  static bool starting(const Entry& e);
  void start_media(Entry& e, const std::string& url);
  void start_dvb(Entry& e);
  // Releases what runs and records the failure, entering `next`.
  void record_failure(Entry& e, State next, const std::string& reason, const char* kind);
  // Retried with backoff.
  void fail(Entry& e, const std::string& reason, const char* kind);
  // Not retried: trying again would fail the same way.
  void give_up(Entry& e, const std::string& reason, const char* kind);
  static std::string source_failure(const Entry& e, const std::string& message);
  void wait(Entry& e, const std::string& reason, std::chrono::milliseconds retry_after, const char* kind);
  void release(Entry& e);
  void stop_session(const Address16& group, const std::string& why);
  void start_waiting();
  void update_routes(Entry& e);
  void on_media_event(const media::SessionEvent& ev);
  void on_dvb_failure(const media::DvbCarrier& carrier, const Error& failure);

  std::set<int> listener_interfaces(const Address16& group) const;
  Result<void> policy_allows(const Entry& e, const std::set<int>& interfaces) const;
  Result<void> within_limits(const Entry& e) const;
  bool active(const Entry& e) const;
  nlohmann::json entry_json(const Entry& e) const;
  static const char* state_name(State s);
  // Tells `joincast watch` (topic "sessions") what just happened.
  void publish(const Entry& e, const char* event, const std::string& detail = {});
  // "sessions" and "sdp" (session_status.cpp).
  void register_commands();

  boost::asio::io_context& io_;
  SessionsSection config_;
  SessionClock& clock_;
  SessionCatalogue& catalogue_;
  ListenerView& listeners_;
  StreamRoutes& routes_;
  StreamEngineFactory make_engine_;
  core::ControlServer& control_;
  std::unique_ptr<StreamEngine> engine_;
  std::shared_ptr<media::ReceiverBudget> receiver_budget_;  // RTCP receivers in all sessions
  media::ReceiverLimits receiver_limits() const { return {config_.rtcp_receivers, receiver_budget_}; }
  // <state_dir>/sessions/<group>.continuity, or empty without a state dir.
  std::string continuity_file(const catalogue::GroupAddress& group) const {
    return config_.state_dir.empty() ? std::string() : config_.state_dir + "/sessions/" + group.to_string() + ".continuity";
  }
  std::map<Address16, std::unique_ptr<Entry>> entries_;
  std::map<media::SessionId, Address16> by_media_;
  std::map<Address16, unsigned> listener_counts_;  // from membership events
  std::map<std::string, std::uint64_t> errors_;  // kind -> count, for metrics
  std::map<Address16, Pending> pending_;
  bool flush_posted_ = false;
  mutable std::optional<ListenerView::Index> index_;  // while run_pending() or "sessions" runs
  std::uint64_t started_total_ = 0;
  std::uint64_t generations_ = 0;  // last Entry::generation handed out
  bool stopping_ = false;
};

}  // namespace joincast::daemon::sessions
