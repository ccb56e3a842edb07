// session_manager.cpp — see session_manager.hpp.
#include "daemon/sessions/session_entry.hpp"

#include "daemon/core/log.hpp"
#include "daemon/sessions/session_limits.hpp"
#include "daemon/sessions/session_policy.hpp"
#include "media/announce/sap_bandwidth.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <random>

namespace joincast::daemon::sessions {

using namespace std::chrono;

Address16 group_key(const catalogue::GroupAddress& g) {
  Address16 a{};
  if (g.is_v6()) {
    auto b = g.address().to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.begin());
  } else {
    a[10] = a[11] = 0xff;
    auto b = g.address().to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.begin() + 12);
  }
  return a;
}

// Membership's groups are multicast by construction.
catalogue::GroupAddress key_group(const Address16& a) {
  auto g = catalogue::GroupAddress::from(a);
  return g ? g.value() : catalogue::GroupAddress{};
}

namespace {

milliseconds backoff(milliseconds initial, milliseconds max, unsigned failures) {
  // "Equal jitter": a random delay in [d/2, d], d doubling per failure.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  auto d = initial;
  for (unsigned i = 1; i < failures && d < max; ++i) d *= 2;
  d = std::min(d, max);
  std::uniform_int_distribution<std::int64_t> pick(d.count() / 2, d.count());
  return milliseconds(pick(rng));
}

}  // namespace

SessionManager::SessionManager(boost::asio::io_context& io, const SessionsSection& config, SessionEnvironment env,
                               core::ControlServer& control)
    : io_(io),
      config_(config),
      clock_(env.clock),
      catalogue_(env.catalogue),
      listeners_(env.listeners),
      routes_(env.routes),
      make_engine_(std::move(env.make_engine)),
      control_(control),
      receiver_budget_(std::make_shared<media::ReceiverBudget>(config.rtcp_receivers_total)) {}

SessionManager::~SessionManager() { stop(); }

Result<void> SessionManager::start() {
  register_commands();
  catalogue_.on_dvb_failure(
      [this](const media::DvbCarrier& carrier, const Error& f) { on_dvb_failure(carrier, f); });
  if (config_.interface.empty()) {
    core::log::info("sessions: no sessions.interface configured; joins start no streams");
    return success();
  }
  return start_engine();
}

Result<void> SessionManager::start_engine() {
  auto engine = make_engine_(config_.threads, [this](const media::SessionEvent& ev) {
    // A worker thread: hand it to the daemon's thread.
    boost::asio::post(io_, [this, ev] { on_media_event(ev); });
  });
  if (!engine) return std::move(engine).error().context("the media engine cannot start");
  engine_ = std::move(engine).value();
  std::string note = engine_->sender_note();
  core::log::info("sessions: streams leave by {} ({} worker thread{}{})", config_.interface, engine_->threads(),
            engine_->threads() == 1 ? "" : "s", note.empty() ? ", io_uring" : ", " + note);

  // Groups that have listeners already (pinned maps kept them over a restart).
  for (const auto& g : listeners_.groups_with_listeners())
    if (!media::is_sap_well_known_group(key_group(g).address())) on_listener(g);
  return success();
}

Result<void> SessionManager::reload(const SessionsSection& config) {
  bool restart = config.interface != config_.interface || config.threads != config_.threads;
  SessionsSection next = config;
  if (restart && engine_) {
    next.interface = config_.interface;
    next.threads = config_.threads;
  }
  if (!engine_ && !next.interface.empty()) {
    // The first sessions.interface: the engine must start, or nothing of
    // this section applies.
    SessionsSection running = std::move(config_);
    config_ = next;
    if (auto r = start_engine(); !r) {
      config_ = std::move(running);
      return r;
    }
  } else {
    if (restart && !entries_.empty())
      core::log::warning("sessions: interface or threads changed; running sessions keep the old ones until they stop");
    config_ = next;
  }
  receiver_budget_->set_limit(config_.rtcp_receivers_total);  // running sessions keep their per-session cap
  // Policies and limits may now let waiting groups start, and the
  // directories a failed one's URL came from may have changed.
  start_waiting();
  for (const auto& [k, e] : entries_)
    if (e->state == State::failed) schedule(k, kEvaluate);
  return success();
}

void SessionManager::stop() {
  if (stopping_) return;
  stopping_ = true;
  std::vector<Address16> keys;
  for (const auto& [k, e] : entries_) keys.push_back(k);
  for (const auto& k : keys) stop_session(k, "joincastd is stopping");
  engine_.reset();  // joins the workers after the deletions went out
}

SessionManager::Entry* SessionManager::find(const Address16& group) {
  auto it = entries_.find(group);
  return it == entries_.end() ? nullptr : it->second.get();
}

SessionManager::Entry& SessionManager::entry_for(const Address16& group) {
  auto& slot = entries_[group];
  if (!slot) {
    slot = std::make_unique<Entry>(clock_, group);
    slot->group = key_group(group);
  }
  return *slot;
}

bool SessionManager::active(const Entry& e) const {
  return e.state == State::starting || e.state == State::running || e.state == State::grace;
}

void SessionManager::on_membership(const membership::MembershipEvent& ev) {
  if (!engine_ || stopping_) return;
  const Address16& g = ev.group;
  if (auto a = key_group(g).address(); media::is_sap_well_known_group(a)) {
    // Not a station: a player listening for announcements. Every stream of
    // that scope is announced there at once, within the SAP bandwidth
    // (docs/sessions.md, "Discovery of running streams").
    // A group's first listener comes as listener_joined and group_up
    // together: announce once, on the group_up (which also stands alone
    // when membership recovers lost events); each later host's join is a
    // listener_joined of its own.
    const bool joined = ev.kind == membership::MembershipEvent::Kind::group_up ||
                        (ev.kind == membership::MembershipEvent::Kind::listener_joined && ev.listeners > 1);
    if (joined) {
      auto n = engine_->well_known_joined(a);
      core::log::debug("sessions: a host joined the SAP group {}: {} stream{} announced there", key_group(g).to_string(), n,
                 n == 1 ? "" : "s");
    }
    return;
  }
  // The group's listener count as membership last reported it (`joincast
  // sessions`: listeners by membership, whatever the players do with RTCP).
  if (ev.kind == membership::MembershipEvent::Kind::group_down) listener_counts_.erase(g);
  else listener_counts_[g] = ev.listeners;
  switch (ev.kind) {
    case membership::MembershipEvent::Kind::group_up:
    case membership::MembershipEvent::Kind::listener_joined:
      on_listener(g);
      break;
    case membership::MembershipEvent::Kind::listener_left:
      if (Entry* e = find(g); e && ev.listeners > 0)
        schedule(g, e->state == State::waiting ? kEvaluate : kRoutes);  // a policy may hinge on who is left
      break;
    case membership::MembershipEvent::Kind::group_down:
      on_group_down(g);
      break;
  }
}

void SessionManager::on_listener(const Address16& group) {
  if (!engine_) return;
  Entry* found = find(group);
  if (!found) {
    // The entry appears when it is looked at, with its reason if it waits.
    schedule(group, kCreate | kEvaluate);
    return;
  }
  Entry& e = *found;
  if (e.state == State::grace) {
    // RFC-less but expected: a listener back within the grace period finds
    // the stream still running, or still starting if it had not started
    // when the last one left (the grace timer replaced the start timeout).
    e.timer->cancel();
    e.state = e.started_at ? State::running : State::starting;
    e.since = clock_.now();
    if (e.state == State::starting) arm_start_timeout(e);
    core::log::info("session {}: a listener is back; the stream goes on", e.group.to_string());
    publish(e, "listener-back");
  }
  if (e.media && (e.state == State::running || e.state == State::starting)) engine_->listener_appeared(*e.media);
  schedule(group, e.state == State::waiting ? kEvaluate : kRoutes);  // a new interface may be allowed by policy
}

void SessionManager::on_group_down(const Address16& group) {
  Entry* e = find(group);
  if (!e) return;
  if (e->state == State::waiting || e->state == State::retrying || e->state == State::failed) {
    // Nothing runs for it: forget it.
    release(*e);
    entries_.erase(group);
    return;
  }
  if (e->state == State::grace) return;
  e->state = State::grace;
  e->since = clock_.now();
  core::log::info("session {}: last listener left; stopping in {} ms unless one comes back", e->group.to_string(),
            config_.grace.count());
  publish(*e, "grace", fmt::format("{} ms", config_.grace.count()));
  e->timer->start(config_.grace, [this, group] {
    stop_session(group, "no listeners");
  });
}

std::set<int> SessionManager::listener_interfaces(const Address16& group) const {
  if (index_) {
    auto it = index_->find(group);
    return it == index_->end() ? std::set<int>{} : it->second;
  }
  return listeners_.listener_interfaces(group);
}

Result<void> SessionManager::policy_allows(const Entry& e, const std::set<int>& interfaces) const {
  PolicySubject subject{e.resolved && std::holds_alternative<catalogue::DvbTarget>(e.resolved->target), e.directory,
                        e.group.address()};
  std::vector<std::string> names;
  for (int ifindex : interfaces) names.push_back(listeners_.interface_name(ifindex));
  return sessions::policy_allows(config_.policies, subject, names);
}

Result<void> SessionManager::within_limits(const Entry& e) const {
  unsigned total = 0, same = 0;
  for (const auto& [k, other] : entries_) {
    if (other.get() == &e || !active(*other)) continue;
    total++;
    if (other->directory == e.directory) same++;
  }
  return sessions::within_limits(config_, e.directory, total, same);
}

void SessionManager::wait(Entry& e, const std::string& reason, milliseconds retry_after, const char* kind) {
  bool changed = e.state != State::waiting || e.reason != reason;
  release(e);
  e.state = State::waiting;
  e.since = clock_.now();
  e.reason = reason;
  e.reason_kind = kind;
  if (changed) {
    errors_[kind]++;
    core::log::notice("session {}: not started: {}", e.group.to_string(), reason);
    publish(e, "waiting", reason);
  }
  auto key = e.key;
  e.timer->start(retry_after, [this, key] {
    if (Entry* x = find(key); x && x->state == State::waiting) schedule(key, kEvaluate);
  });
}

void SessionManager::schedule(const Address16& group, unsigned what) {
  auto [it, fresh] = pending_.try_emplace(group);
  if (fresh) it->second.since = clock_.now();
  it->second.what |= what;
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(io_, [this] { run_pending(); });
}

void SessionManager::run_pending() {
  // Membership events come in bursts (a report of many records, a ring
  // buffer read, a flood): they are handled together, after the burst, with
  // one walk of the listener map instead of one per event, which a few
  // thousand groups turn into minutes of syscalls.
  flush_posted_ = false;
  auto pending = std::move(pending_);
  pending_.clear();
  if (stopping_ || !engine_) return;
  index_ = listeners_.listeners();
  for (const auto& [group, p] : pending) {
    Entry* e = find(group);
    if (!e) {
      if (!(p.what & kCreate)) continue;
      e = &entry_for(group);
      e->first_listener = p.since;
      evaluate(*e);  // forgets it again if its listeners are gone already
      continue;
    }
    if ((p.what & kEvaluate) && (e->state == State::waiting || e->state == State::retrying || e->state == State::failed))
      evaluate(*e);
    else if (p.what & kRoutes) update_routes(*e);
  }
  index_.reset();
}

void SessionManager::evaluate(Entry& e) {
  auto interfaces = listener_interfaces(e.key);
  if (interfaces.empty()) {
    // Listeners left while we were deciding.
    Address16 key = e.key;
    release(e);
    entries_.erase(key);
    return;
  }
  auto resolved = catalogue_.resolve(e.group);
  if (!resolved) {
    // Directories refresh: a number unknown now may be listed later.
    wait(e, resolved.error().message(), config_.retry_max, "resolve");
    return;
  }
  e.resolved = resolved.value();
  if (const auto* t = std::get_if<catalogue::InternetTarget>(&e.resolved->target)) {
    e.directory = t->directory;
    e.service = t->info.name.empty() ? fmt::format("station {} of {}", t->station, t->directory) : t->info.name;
  } else {
    const auto& d = std::get<catalogue::DvbTarget>(e.resolved->target);
    e.directory = "dvb";
    e.service = d.name.empty() ? fmt::format("DVB service {}", d.service_id) : d.name;
  }
  if (auto allowed = policy_allows(e, interfaces); !allowed) {
    wait(e, allowed.error().message(), config_.retry_max, "policy");
    return;
  }
  if (auto room = within_limits(e); !room) {
    wait(e, room.error().message(), config_.retry_max, "limit");
    return;
  }
  start_session(e);
}

bool SessionManager::starting(const Entry& e) {
  // Also during a grace period that began before the stream started: the
  // start goes on, so that a listener coming back finds it.
  return e.state == State::starting || (e.state == State::grace && !e.started_at);
}

void SessionManager::arm_start_timeout(Entry& e) {
  // No first packet within start_timeout is a failure like any other.
  const Address16 key = e.key;
  const std::uint64_t gen = e.generation;
  e.timer->start(config_.start_timeout, [this, key, gen] {
    Entry* x = find(key);
    if (!x || x->generation != gen || x->state != State::starting) return;
    // The source's own last failure says why (the station's 404, an HLS
    // playlist without audio, ...); it goes with the source on release.
    std::string why = fmt::format("nothing was sent within {} s of starting", config_.start_timeout.count() / 1000);
    if (x->source_status) {
      auto s = x->source_status->get();
      if (!s.reason.empty()) why += "; the source: " + s.reason;
    }
    fail(*x, why, "start-timeout");
  });
}

void SessionManager::start_session(Entry& e) {
  release(e);
  e.state = State::starting;
  e.since = clock_.now();
  // Unique across entries: an answer for a stopped group's entry must not
  // match a new entry for the same group.
  const std::uint64_t gen = e.generation = ++generations_;
  const Address16 key = e.key;
  core::log::info("session {}: starting {} ({})", e.group.to_string(), e.service, e.directory);
  publish(e, "starting");

  arm_start_timeout(e);

  if (std::holds_alternative<catalogue::DvbTarget>(e.resolved->target)) {
    start_dvb(e);
    return;
  }
  catalogue_.play_url(std::get<catalogue::InternetTarget>(e.resolved->target),
                      [this, key, gen](const Error& failure, std::string url) {
                        Entry* x = find(key);
                        if (!x || x->generation != gen || !starting(*x)) return;
                        if (failure) fail(*x, failure.message(), "source");
                        else start_media(*x, url);
                      });
}

void SessionManager::start_media(Entry& e, const std::string& url) {
  auto plan = catalogue_.plan_source(url);
  if (!plan) {
    give_up(e, plan.error().message(), "source");  // the URL is wrong, not the station's state
    return;
  }
  const auto& target = std::get<catalogue::InternetTarget>(e.resolved->target);
  media::SessionConfig cfg;
  cfg.group = e.group.address();
  cfg.interface = config_.interface;
  if (!config_.source_address.empty()) cfg.source_address = boost::asio::ip::make_address(config_.source_address);
  cfg.hop_limit = config_.hop_limit;
  // DESIGN: the station's own icy-name, StreamTitle and StreamUrl drive
  // s=, i= and u=; the directory's listing fills in what it does not send.
  cfg.fallback_metadata.station_name = target.info.name;
  cfg.fallback_metadata.genre = target.info.genre;
  cfg.fallback_metadata.url = target.info.homepage;
  cfg.sap.interval = config_.sap_interval;
  cfg.sap.well_known_group = config_.sap_well_known;
  cfg.sap.well_known_min_interval = config_.sap_well_known_floor;
  cfg.receiver_limits = receiver_limits();
  cfg.continuity_file = continuity_file(e.group);
  // Routing a locally sent stream works on its multicast loopback copy.
  cfg.multicast_loop = config_.route && routes_.enabled();
  auto id = engine_->start(cfg, plan.value().factory);
  if (!id) {
    fail(e, id.error().message(), "media");
    return;
  }
  e.url = url;
  e.media = id.value();
  e.source_status = plan.value().status;
  by_media_[id.value()] = e.key;
  engine_->listener_appeared(id.value());  // announce as soon as the SDP is known
}

void SessionManager::on_media_event(const media::SessionEvent& ev) {
  auto it = by_media_.find(ev.id);
  if (it == by_media_.end()) return;
  Entry* e = find(it->second);
  if (!e || !e->media || *e->media != ev.id) {
    by_media_.erase(it);
    return;
  }
  switch (ev.kind) {
    case media::SessionEvent::Kind::started: {
      if (!starting(*e)) return;
      e->started_at = clock_.now();
      if (e->state == State::starting) {  // in grace, the grace timer runs on
        e->timer->cancel();
        e->state = State::running;
        e->since = *e->started_at;
      }
      e->failures = 0;
      e->reason.clear();
      started_total_++;
      auto ms = duration_cast<milliseconds>(clock_.now() - e->first_listener).count();
      std::string codec;
      if (auto s = engine_->stats(ev.id)) codec = s.value().codec;
      core::log::info("session {}: on air: {} ({}), {} ms after the first join", e->group.to_string(), e->service,
                codec.empty() ? "?" : codec, ms);
      publish(*e, "on-air", fmt::format("{}, {} ms after the first join", codec.empty() ? "?" : codec, ms));
      update_routes(*e);
      break;
    }
    case media::SessionEvent::Kind::ended:
      fail(*e, "the station's stream ended", "source");
      break;
    case media::SessionEvent::Kind::failed: {
      std::string reason = source_failure(*e, ev.message.empty() ? ev.error.message() : ev.message);
      if (media::is_permanent(ev.error)) give_up(*e, reason, "source");
      else fail(*e, reason, "source");
      break;
    }
    case media::SessionEvent::Kind::stopped:
      by_media_.erase(it);
      break;
  }
}

std::string SessionManager::source_failure(const Entry& e, const std::string& message) {
  // The session's event carries only the error code's text ("server closed
  // the stream" for a refused connection, "HTTP error status" for a 500);
  // an HTTP source that gave up keeps the sentence that says what happened,
  // URL included.
  if (!e.source_status) return message;
  auto status = e.source_status->get();
  if (status.state != media::SourceStatus::State::failed || status.reason.empty()) return message;
  return status.reason;
}

void SessionManager::record_failure(Entry& e, State next, const std::string& reason, const char* kind) {
  release(e);
  errors_[kind]++;
  e.failures++;
  e.state = next;
  e.since = clock_.now();
  e.reason = reason;
  e.reason_kind = kind;
}

void SessionManager::fail(Entry& e, const std::string& reason, const char* kind) {
  record_failure(e, State::retrying, reason, kind);
  auto delay = backoff(config_.retry_initial, config_.retry_max, e.failures);
  core::log::warning("session {} ({}): {}; retrying in {:.1f} s", e.group.to_string(), e.service, reason,
               static_cast<double>(delay.count()) / 1000.0);
  publish(e, "failed", fmt::format("{}; retrying in {:.1f} s", reason, static_cast<double>(delay.count()) / 1000.0));
  const Address16 key = e.key;
  e.timer->start(delay, [this, key] {
    if (Entry* x = find(key); x && x->state == State::retrying) schedule(key, kEvaluate);
  });
}

void SessionManager::give_up(Entry& e, const std::string& reason, const char* kind) {
  record_failure(e, State::failed, reason, kind);
  core::log::warning("session {} ({}): {}; not retried", e.group.to_string(), e.service, reason);
  publish(e, "failed", reason + "; not retried");
}

void SessionManager::release(Entry& e) {
  e.timer->cancel();
  // SAP deletion, BYE; "stopped" follows. When joincastd itself stops, the
  // streams are expected back after it restarts (docs/sessions.md,
  // "Restart continuity"): players keep the announcement and see a gap.
  if (e.media && engine_) engine_->stop(*e.media, stopping_ ? media::StopMode::restart : media::StopMode::end);
  e.media.reset();
  e.source_status.reset();
  if (e.dvb_running && e.resolved) {
    unsigned ifindex = listeners_.interface_index(config_.interface);
    std::string group = e.group.to_string();
    catalogue_.stop_dvb(std::get<catalogue::DvbTarget>(e.resolved->target), e.group, ifindex,
                        [group](const Error& f) {
                          if (f) core::log::warning("session {}: stopping the DVB service: {}", group, f.message());
                        });
  }
  e.dvb_running = false;
  if (!e.routed_to.empty() && routes_.enabled()) {
    if (auto r = routes_.route(e.group, config_.interface, {}); !r)
      core::log::warning("session {}: removing its route failed: {}", e.group.to_string(), r.error().message());
  }
  e.routed_to.clear();
  e.started_at.reset();
}

void SessionManager::stop_session(const Address16& group, const std::string& why) {
  Entry* e = find(group);
  if (!e) return;
  bool was_active = active(*e);
  if (was_active) publish(*e, "stopped", why);
  std::string name = e->group.to_string(), service = e->service;
  auto uptime = e->started_at ? duration_cast<seconds>(clock_.now() - *e->started_at).count() : 0;
  release(*e);
  entries_.erase(group);
  if (was_active) core::log::info("session {}: stopped ({}) after {} s: {}", name, why, uptime, service);
  if (!stopping_) start_waiting();  // a slot is free
}

void SessionManager::start_waiting() {
  for (const auto& [k, e] : entries_)
    if (e->state == State::waiting) schedule(k, kEvaluate);
}

void SessionManager::update_routes(Entry& e) {
  if (!config_.route || !routes_.enabled() || !(e.state == State::running || e.state == State::grace)) return;
  std::vector<std::string> to;
  for (int ifindex : listener_interfaces(e.key)) {
    std::string name = listeners_.interface_name(ifindex);
    if (name != config_.interface) to.push_back(name);
  }
  std::sort(to.begin(), to.end());
  if (to == e.routed_to) return;
  if (auto r = routes_.route(e.group, config_.interface, to); !r) {
    core::log::warning("session {}: cannot route the stream to {}: {}", e.group.to_string(),
                 to.empty() ? std::string("nowhere") : fmt::format("{}", fmt::join(to, ", ")), r.error().message());
    return;
  }
  e.routed_to = std::move(to);
}

}  // namespace joincast::daemon::sessions
