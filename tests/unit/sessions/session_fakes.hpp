// session_fakes.hpp — a session state machine with everything around it
// faked: a clock moved by hand, a catalogue of made-up services, a listener
// map set by the test, no routes, and a media engine that only records.
// No root, no sockets, no time passes.
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"
#include "daemon/sessions/session_manager.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <unistd.h>
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace joincast::daemon::testing {

using namespace std::chrono_literals;

class FakeClock final : public sessions::SessionClock {
 public:
  explicit FakeClock(boost::asio::io_context& io) : io_(io) {}
  Clock::time_point now() const override { return now_; }
  std::unique_ptr<sessions::SessionTimer> timer() override {
    auto slot = std::make_shared<Slot>();
    slots_.push_back(slot);
    return std::make_unique<Timer>(*this, slot);
  }
  // Moves time on by d, firing every timer that falls due on the way (and
  // running what they post) in order.
  void advance(std::chrono::milliseconds d) {
    auto target = now_ + d;
    for (;;) {
      std::shared_ptr<Slot> next;
      for (auto it = slots_.begin(); it != slots_.end();) {
        auto s = it->lock();
        if (!s) {
          it = slots_.erase(it);
          continue;
        }
        if (s->due && *s->due <= target && (!next || *s->due < *next->due)) next = s;
        ++it;
      }
      if (!next) break;
      now_ = *next->due;
      next->due.reset();
      auto fire = std::move(next->fire);
      fire();  // may destroy the timer
      settle();
    }
    now_ = target;
    settle();
  }
  void settle() {
    io_.restart();
    io_.poll();
  }

 private:
  struct Slot {
    std::optional<Clock::time_point> due;
    std::function<void()> fire;
  };
  struct Timer final : sessions::SessionTimer {
    Timer(FakeClock& c, std::shared_ptr<Slot> s) : clock(c), slot(std::move(s)) {}
    void start(std::chrono::milliseconds after, std::function<void()> fire) override {
      slot->due = clock.now_ + after;
      slot->fire = std::move(fire);
    }
    void cancel() override {
      slot->due.reset();
      slot->fire = nullptr;
    }
    FakeClock& clock;
    std::shared_ptr<Slot> slot;
  };
  boost::asio::io_context& io_;
  Clock::time_point now_ = Clock::time_point{} + 1000s;
  std::vector<std::weak_ptr<Slot>> slots_;
};

class FakeEngine final : public sessions::StreamEngine {
 public:
  struct Stream {
    media::SessionConfig config;
    bool announce_only = false;
    bool stopped = false;
    unsigned listener_announcements = 0;
  };
  explicit FakeEngine(std::function<void(const media::SessionEvent&)> on_event) : on_event_(std::move(on_event)) {}

  Result<media::SessionId> start(const media::SessionConfig& config, media::MediaEngine::SourceFactory) override {
    streams[next_].config = config;
    return next_++;
  }
  Result<media::SessionId> announce(const media::SessionConfig& config, const media::RtpMapping&) override {
    streams[next_].config = config;
    streams[next_].announce_only = true;
    return next_++;
  }
  void listener_appeared(media::SessionId id) override { streams[id].listener_announcements++; }
  std::size_t well_known_joined(const boost::asio::ip::address& g) override {
    well_known_joins.push_back(g);
    return streams.size();
  }
  std::vector<boost::asio::ip::address> well_known_joins;
  void stop(media::SessionId id, media::StopMode) override {
    streams[id].stopped = true;
    emit(id, media::SessionEvent::Kind::stopped);
  }
  Result<media::SessionStats> stats(media::SessionId id) const override {
    media::SessionStats s;
    s.id = id;
    s.codec = "mp3";
    s.sdp = "v=0\r\n";
    return s;
  }
  unsigned threads() const override { return 1; }
  std::string sender_note() const override { return {}; }

  // What a worker would report.
  void emit(media::SessionId id, media::SessionEvent::Kind kind, std::error_code ec = {}, std::string message = {}) {
    on_event_({id, kind, ec, std::move(message)});
  }
  // The newest stream, which the test drives.
  media::SessionId last() const { return streams.empty() ? 0 : streams.rbegin()->first; }
  std::size_t running() const {
    std::size_t n = 0;
    for (const auto& [id, s] : streams) n += !s.stopped;
    return n;
  }

  std::map<media::SessionId, Stream> streams;

 private:
  std::function<void(const media::SessionEvent&)> on_event_;
  media::SessionId next_ = 1;
};

class FakeCatalogue final : public sessions::SessionCatalogue {
 public:
  explicit FakeCatalogue(boost::asio::io_context& io) : io_(io) {}

  void add_station(const std::string& group, const std::string& directory, const std::string& url) {
    auto g = catalogue::GroupAddress::parse(group);
    REQUIRE(g);
    catalogue::InternetTarget t;
    t.directory = directory;
    t.info.name = directory + " station " + group;
    t.info.url = url;
    services_[group] = {g.value(), {static_cast<std::uint32_t>(services_.size() + 1)}, t};
  }
  static media::DvbCarrier carrier() {
    media::DvbCarrier c;
    c.name = "test carrier";
    c.frequency_khz = 11426500;
    c.symbol_rate = 27500000;
    return c;
  }
  void add_dvb(const std::string& group, std::uint16_t service_id) {
    auto g = catalogue::GroupAddress::parse(group);
    REQUIRE(g);
    catalogue::DvbTarget t;
    t.carrier = carrier();
    t.service_id = service_id;
    t.name = "DVB " + std::to_string(service_id);
    services_[group] = {g.value(), {(1u << 30) | service_id}, t};
  }

  Result<catalogue::ResolvedService> resolve(const catalogue::GroupAddress& group) const override {
    auto it = services_.find(group.to_string());
    if (it == services_.end()) return invalid("group " + group.to_string() + ": no service");
    return it->second;
  }
  void play_url(const catalogue::InternetTarget& target, catalogue::directories::Directory::PlayHandler done) override {
    boost::asio::post(io_, [done, url = target.info.url] { done({}, url); });
  }
  Result<media::SourcePlan> plan_source(const std::string& url) const override {
    return media::plan_source(url, nullptr);
  }
  void start_dvb(const catalogue::DvbTarget&, const catalogue::GroupAddress& group, unsigned, media::DvbTuner::Done done) override {
    dvb_started.push_back(group.to_string());
    dvb_pending.push_back(std::move(done));
  }
  void stop_dvb(const catalogue::DvbTarget&, const catalogue::GroupAddress& group, unsigned, media::DvbTuner::Done done) override {
    dvb_stopped.push_back(group.to_string());
    boost::asio::post(io_, [done] { done({}); });
  }
  void on_dvb_failure(media::DvbTuner::FailureHandler handler) override { dvb_failure_ = std::move(handler); }
  // dvblast of carrier died after it had started.
  void dvb_died(const media::DvbCarrier& carrier, const std::string& reason) {
    REQUIRE(dvb_failure_);
    dvb_failure_(carrier, {make_error_code(media::SourceErrc::tuner_failed), reason});
  }
  media::DvbStreamDescription describe_dvb(const catalogue::DvbTarget& target) const override {
    media::DvbStreamDescription d;
    d.name = target.name;
    return d;
  }

  // dvblast answers the oldest start.
  void finish_dvb_start(const Error& f = {}) {
    REQUIRE(!dvb_pending.empty());
    auto done = std::move(dvb_pending.front());
    dvb_pending.erase(dvb_pending.begin());
    done(f);
  }

  std::vector<std::string> dvb_started, dvb_stopped;
  std::vector<media::DvbTuner::Done> dvb_pending;

 private:
  boost::asio::io_context& io_;
  std::map<std::string, catalogue::ResolvedService> services_;
  media::DvbTuner::FailureHandler dvb_failure_;
};

class FakeListeners final : public sessions::ListenerView {
 public:
  Index listeners() const override { return index; }
  std::set<int> listener_interfaces(const Address16& group) const override {
    auto it = index.find(group);
    return it == index.end() ? std::set<int>{} : it->second;
  }
  std::vector<Address16> groups_with_listeners() const override {
    std::vector<Address16> out;
    for (const auto& [g, ifs] : index) out.push_back(g);
    return out;
  }
  // eth1, eth2, ... by index; the sessions' interface "uplink" is 100.
  std::string interface_name(int ifindex) const override {
    return ifindex == 100 ? "uplink" : "eth" + std::to_string(ifindex);
  }
  unsigned interface_index(const std::string& name) const override { return name == "uplink" ? 100 : 0; }

  Index index;
};

class NoRoutes final : public sessions::StreamRoutes {
 public:
  bool enabled() const override { return false; }
  Result<void> route(const catalogue::GroupAddress&, const std::string&, std::vector<std::string>) override { return success(); }
};

// What the daemon's log (stderr) says while it lives.
class LogCapture {
 public:
  LogCapture() : file_(std::tmpfile()), saved_(::dup(2)) {
    std::fflush(stderr);
    ::dup2(::fileno(file_), 2);
  }
  ~LogCapture() {
    restore();
    std::fclose(file_);
  }
  std::string text() {
    std::fflush(stderr);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, file_)) out.append(buf, n);
    return out;
  }
  std::size_t count(const std::string& needle) {
    std::string t = text();
    std::size_t n = 0;
    for (auto at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_;
};

// The manager in its fake world.
struct SessionLab {
  boost::asio::io_context io;
  FakeClock clock{io};
  FakeCatalogue catalogue{io};
  FakeListeners listeners;
  NoRoutes routes;
  core::ControlServer control{io, "/nonexistent/joincast-test.sock", 0600, ""};
  sessions::SessionsSection config;
  FakeEngine* engine = nullptr;
  bool engine_fails = false;
  std::unique_ptr<sessions::SessionManager> manager;

  SessionLab() {
    config.interface = "uplink";
    config.grace = 2s;
    config.retry_initial = 2s;
    config.retry_max = 60s;
    config.start_timeout = 20s;
  }
  // Events the manager posted while stopping are dropped with the io_context.
  ~SessionLab() { manager.reset(); }

  sessions::StreamEngineFactory factory() {
    return [this](unsigned, std::function<void(const media::SessionEvent&)> on_event)
               -> Result<std::unique_ptr<sessions::StreamEngine>> {
      if (engine_fails) return Error(std::errc::too_many_files_open, "io_uring_queue_init: Too many open files");
      auto e = std::make_unique<FakeEngine>(std::move(on_event));
      engine = e.get();
      return std::unique_ptr<sessions::StreamEngine>(std::move(e));
    };
  }
  void start() {
    manager = std::make_unique<sessions::SessionManager>(io, config, sessions::SessionEnvironment{clock, catalogue, listeners, routes, factory()},
                                               control);
    REQUIRE(manager->start());
    clock.settle();
  }

  static Address16 key(const std::string& group) {
    auto a = membership::loader::parse_address(group);
    REQUIRE(a);
    return *a;
  }
  void event(const std::string& group, membership::MembershipEvent::Kind kind, int ifindex) {
    membership::MembershipEvent e;
    e.kind = kind;
    e.ifindex = ifindex;
    auto k = key(group);
    e.group = k;
    e.listeners = static_cast<unsigned>(listeners.index.count(k) ? listeners.index[k].size() : 0);
    manager->on_membership(e);
    clock.settle();
  }
  void join(const std::string& group, int ifindex) {
    auto k = key(group);
    bool first = !listeners.index.count(k);
    listeners.index[k].insert(ifindex);
    event(group, first ? membership::MembershipEvent::Kind::group_up : membership::MembershipEvent::Kind::listener_joined, ifindex);
  }
  void leave(const std::string& group) {
    listeners.index.erase(key(group));
    event(group, membership::MembershipEvent::Kind::group_down, 0);
  }
  // The group's entry in `joincast sessions`, or null.
  nlohmann::json session(const std::string& group) const {
    auto all = manager->sessions_json();
    for (const auto& s : all["sessions"])
      if (s["group"] == group) return s;
    return nullptr;
  }
  std::string state(const std::string& group) const {
    auto s = session(group);
    return s.is_null() ? "gone" : s["state"].get<std::string>();
  }
  std::string reason(const std::string& group) const {
    auto s = session(group);
    return s.is_null() || !s.contains("reason") ? "" : s["reason"].get<std::string>();
  }
  // The engine says the newest stream sent its first packet.
  void on_air() {
    REQUIRE(engine);
    engine->emit(engine->last(), media::SessionEvent::Kind::started);
    clock.settle();
  }
};

}  // namespace joincast::daemon::testing
