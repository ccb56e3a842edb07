// membership.cpp — see membership.hpp.
#include "daemon/membership/membership.hpp"

#include "daemon/membership/bpf_membership.hpp"
#include "daemon/core/log.hpp"
#include "daemon/membership/loader/membership_json.hpp"
#include "daemon/membership/loader/membership_maps.hpp"
#include "daemon/membership/loader/membership_program.hpp"
#include "daemon/membership/socket_membership.hpp"

#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/vfs.h>

#include <cstdarg>
#include <cstring>
#include <map>
#include <stdexcept>

namespace joincast::daemon::membership {

using namespace std::chrono;

namespace {

// libbpf reports through a print callback; its messages (the verifier's
// log among them) belong in the daemon's log, at debug level: the error
// that matters is returned by the loader and logged once with context.
int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  if (core::log::level() < core::log::Level::debug) return 0;
  va_list measure;
  va_copy(measure, args);
  int n = std::vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  if (n <= 0) return 0;
  // A verifier log is one message of many lines: log them one by one.
  std::string text(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  text.resize(static_cast<std::size_t>(n));
  std::string_view rest(text);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) core::log::debug("libbpf: {}", line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  (void)level;
  return 0;
}

}  // namespace

Membership::Membership(boost::asio::io_context& io, const MembershipSection& config, core::ControlServer& control,
                       routing::MembershipTap& routes, core::LinkWatcher& links)
    : io_(io),
      config_(config),
      control_(control),
      routes_(routes),
      links_(links),
      aging_timer_(io),
      attach_retry_(io) {}

Membership::~Membership() { stop(); }

Result<void> Membership::start() {
  started_ns_ = loader::monotonic_ns();
  libbpf_set_print(libbpf_print);
  control_.add("groups", "groups with their listener count and listeners; \"all\": true adds empty ones",
               [this](const nlohmann::json& request) { return groups(request.value("all", false)); });
  control_.add("membership", "membership backend, interfaces, querier state and counters",
               [this](const nlohmann::json&) { return status(); });
  if (config_.interfaces.empty()) {
    backend_note_ = "off: membership.interfaces is empty";
    core::log::info("membership: no interfaces configured (membership.interfaces); not tracking listeners");
    return success();
  }
  return start_backend();
}

Result<void> Membership::use_socket_backend(const std::string& why) {
  auto socket = std::make_unique<SocketMembership>(routes_, config_.track_link_local,
                                                   ListenerTable::Quotas{config_.max_groups_per_host,
                                                                         config_.max_groups_per_interface},
                                                   [this](const jc_event& e) { on_event(e); });
  if (auto r = socket->open(); !r)
    return Error(r.error().code(), fmt::format("{}, and the multicast routing socket cannot be used either: {}", why,
                                               r.error().message()));
  backend_ = std::move(socket);
  backend_note_ = "reports read from the multicast routing socket (" + why + ")";
  core::log::notice("membership: reading MLD/IGMP reports from the multicast routing socket ({})", why);
  return success();
}

Result<void> Membership::start_backend() {
  auto handler = [this](const jc_event& e) { on_event(e); };
  loader::MembershipProgram::Options options;
  options.pin_root = config_.bpf_pin_root;
  options.track_link_local = config_.track_link_local;
  options.verify_checksum = config_.verify_checksum;
  options.max_listeners = config_.max_listeners;
  options.max_groups = config_.max_groups;
  options.max_groups_per_host = config_.max_groups_per_host;
  options.max_groups_per_interface = config_.max_groups_per_interface;
  options.event_buffer = config_.event_buffer;

  if (config_.backend == MembershipSection::Backend::socket) {
    if (auto r = use_socket_backend("membership.backend is \"socket\""); !r) return r;
  } else if (auto bpf = BpfMembership::create(io_, options, handler); !bpf) {
    std::string why = fmt::format(
        "the eBPF program could not be loaded with maps pinned under {}: {}{}{}", config_.bpf_pin_root,
        bpf.error().message(),
        bpf.error() == std::errc::permission_denied
            ? " (the verifier refused it or a capability is missing; --log-level debug shows the verifier's log)"
            : "",
        "");
    if (config_.backend == MembershipSection::Backend::bpf) return Error(bpf.error().code(), why);
    core::log::warning("membership: {}", why);
    if (auto r = use_socket_backend("eBPF unavailable: " + bpf.error().message()); !r) return r;
  } else {
    auto reused = bpf.value()->maps_origin() == loader::MembershipProgram::MapsOrigin::reused;
    if (!bpf.value()->replaced_pins().empty())
      core::log::warning("membership: the maps pinned under {} did not match this configuration or build ({}); "
                   "they were replaced by empty ones, and listeners will be learned again from their reports",
                   config_.bpf_pin_root, bpf.value()->replaced_pins());
    backend_ = std::move(bpf).value();
    backend_note_ = reused ? "maps reused from " + config_.bpf_pin_root : "maps created under " + config_.bpf_pin_root;
    std::size_t kept_groups = 0, kept_listeners = 0;
    if (auto g = backend_->groups())
      for (const auto& e : g.value()) kept_groups += e.value.listeners ? 1 : 0;
    if (auto l = backend_->listeners()) kept_listeners = l.value().size();
    core::log::info("membership: eBPF TC program loaded, {}{}", backend_note_,
              reused ? fmt::format(" ({} listeners in {} groups kept)", kept_listeners, kept_groups) : "");
  }

  // Groups with listeners already (pinned maps kept them): up, as far as
  // the transitions go (the session manager and proxy pick them up at start).
  if (auto groups = backend_->groups()) {
    for (const auto& g : groups.value()) {
      if (!g.value.listeners) continue;
      Address16 a;
      std::memcpy(a.data(), g.key.group, 16);
      up_.insert(a);
    }
  }
  if (auto c = backend_->counters()) last_counters_ = c.value();

  querier_ = std::make_unique<Querier>(io_, config_, *backend_, links_.interfaces());
  for (const auto& name : config_.interfaces)
    if (!interfaces_.count(name)) interfaces_[name] = Interface{name, 0, false, ""};
  // Interfaces may appear, vanish or be recreated at any time.
  link_subscription_ = links_.subscribe([this](const core::LinkChange& c) {
    if (c.kind != core::LinkChange::Kind::addresses) sync_interfaces();
  });
  sync_interfaces();
  // Events a previous daemon left in the pinned ring buffer.
  backend_->deliver_pending();
  schedule_aging();
  return success();
}

void Membership::stop() {
  aging_timer_.cancel();
  attach_retry_.cancel();
  link_subscription_.reset();
  querier_.reset();
  if (backend_) {
    for (auto& [name, i] : interfaces_) {
      if (!i.attached) continue;
      if (auto r = backend_->detach(i.ifindex); !r)
        core::log::warning("membership: detaching from {} failed: {}", name, r.error().message());
      else
        core::log::info("membership: detached from {}", name);
      i.attached = false;
    }
    backend_.reset();
  }
}

Result<void> Membership::reload(const MembershipSection& config) {
  if (config.bpf_pin_root != config_.bpf_pin_root || config.backend != config_.backend ||
      config.track_link_local != config_.track_link_local || config.verify_checksum != config_.verify_checksum ||
      config.max_listeners != config_.max_listeners || config.max_groups != config_.max_groups ||
      config.event_buffer != config_.event_buffer || config.max_groups_per_host != config_.max_groups_per_host ||
      config.max_groups_per_interface != config_.max_groups_per_interface)
    core::log::warning("membership: backend, pin root and BPF knobs change only on restart; keeping the running ones");
  MembershipSection next = config;
  next.bpf_pin_root = config_.bpf_pin_root;
  next.backend = config_.backend;
  next.track_link_local = config_.track_link_local;
  next.verify_checksum = config_.verify_checksum;
  next.max_listeners = config_.max_listeners;
  next.max_groups = config_.max_groups;
  next.event_buffer = config_.event_buffer;
  next.max_groups_per_host = config_.max_groups_per_host;
  next.max_groups_per_interface = config_.max_groups_per_interface;

  for (auto it = interfaces_.begin(); it != interfaces_.end();) {
    if (std::find(next.interfaces.begin(), next.interfaces.end(), it->first) != next.interfaces.end()) {
      ++it;
      continue;
    }
    if (it->second.attached && backend_) {
      (void)backend_->detach(it->second.ifindex);
      querier_->remove_interface(it->second.ifindex);
      core::log::info("membership: {} removed from the configuration; detached", it->first);
    }
    it = interfaces_.erase(it);
  }
  for (const auto& name : next.interfaces)
    if (!interfaces_.count(name)) interfaces_[name] = Interface{name, 0, false, ""};
  config_ = next;
  if (!backend_) {
    if (config_.interfaces.empty()) return success();
    return start_backend();
  }
  if (auto problem = pins_problem(); !problem.empty()) core::log::warning("membership: {}", problem);
  querier_->reconfigure(config_);
  attach_retry_.cancel();
  sync_interfaces();
  aging_timer_.cancel();
  schedule_aging();
  return success();
}

void Membership::sync_interfaces() {
  if (!backend_) return;
  bool failed = false;
  for (auto& [name, i] : interfaces_) {
    const int ifindex = links_.interfaces().ifindex(name).value_or(0);
    if (i.attached && ifindex != i.ifindex) {
      // Gone, or deleted and created again under the same name.
      core::log::notice("membership: {} went away{}", name, ifindex ? " and came back" : "");
      (void)backend_->detach(i.ifindex);
      querier_->remove_interface(i.ifindex);
      i.attached = false;
    }
    i.ifindex = ifindex;
    if (!ifindex) {
      if (i.error != "missing") core::log::notice("membership: interface {} does not exist (yet); waiting for it", name);
      i.error = "missing";
      continue;
    }
    if (i.attached) continue;
    if (auto r = backend_->attach(ifindex); !r) {
      std::string why = r.error().message();
      if (why != i.error) core::log::error("membership: attaching to {} failed: {}", name, why);
      i.error = why;
      failed = true;
      continue;
    }
    i.attached = true;
    i.error.clear();
    core::log::info("membership: watching {} (ifindex {}) with the {} backend", name, ifindex, backend_->name());
    querier_->add_interface(ifindex, name);
  }
  // A missing interface is attached when the watcher says it appeared; a
  // failed attach is tried again.
  if (!failed) return;
  attach_retry_.expires_after(seconds(1));
  attach_retry_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sync_interfaces();
  });
}

namespace {
// The ring buffer's event as other modules see it; nullopt for the ones
// only membership itself acts on (pending leaves, queries heard).
std::optional<MembershipEvent> typed_event(const jc_event& e) {
  MembershipEvent out;
  switch (e.type) {
    case JC_EV_GROUP_UP: out.kind = MembershipEvent::Kind::group_up; break;
    case JC_EV_GROUP_DOWN: out.kind = MembershipEvent::Kind::group_down; break;
    case JC_EV_LISTENER_JOIN: out.kind = MembershipEvent::Kind::listener_joined; break;
    case JC_EV_LISTENER_LEAVE: out.kind = MembershipEvent::Kind::listener_left; break;
    default: return std::nullopt;
  }
  std::memcpy(out.group.data(), e.group, 16);
  std::memcpy(out.host.data(), e.host, 16);
  out.ifindex = static_cast<int>(e.ifindex);
  out.listeners = e.listeners;
  return out;
}
}  // namespace

void Membership::on_event(const jc_event& e) {
  std::uint64_t now = loader::monotonic_ns();
  Address16 group;
  std::memcpy(group.data(), e.group, 16);
  if (e.type == JC_EV_GROUP_UP) up_.insert(group);
  else if (e.type == JC_EV_GROUP_DOWN) up_.erase(group);
  switch (e.type) {
    case JC_EV_LISTENER_JOIN:
      core::log::info("membership: {} joined {} on {} ({}, {} listener{})", loader::format_address(e.host), loader::format_address(e.group),
                loader::interface_name(e.ifindex), loader::version_name(e.version), e.listeners, e.listeners == 1 ? "" : "s");
      break;
    case JC_EV_LISTENER_LEAVE:
      core::log::info("membership: {} left {} on {} ({}; {} listener{})", loader::format_address(e.host), loader::format_address(e.group),
                loader::interface_name(e.ifindex), loader::reason_name(e.reason), e.listeners, e.listeners == 1 ? "" : "s");
      if (querier_ && e.reason == JC_LEFT_REPORT) querier_->on_explicit_leave(e);
      break;
    case JC_EV_GROUP_UP:
      core::log::notice("membership: group {} is up", loader::format_address(e.group));
      break;
    case JC_EV_GROUP_DOWN:
      core::log::notice("membership: group {} is down (no listeners)", loader::format_address(e.group));
      break;
    case JC_EV_LEAVE_PENDING:
      if (querier_) querier_->on_leave_pending(e);
      break;
    case JC_EV_QUERY_SEEN:
      core::log::info("membership: {} query from {} on {}", loader::version_name(e.version), loader::format_address(e.host),
                loader::interface_name(e.ifindex));
      if (querier_) querier_->on_query_seen(e);
      break;
  }
  control_.publish("membership", loader::event_json(e, now));
  if (auto typed = typed_event(e))
    for (const auto& o : observers_) o(*typed);
}

std::vector<Address16> Membership::active_groups() const {
  std::vector<Address16> out;
  if (!backend_) return out;
  if (auto groups = backend_->groups()) {
    for (const auto& g : groups.value()) {
      if (!g.value.listeners) continue;
      Address16 a;
      std::memcpy(a.data(), g.key.group, 16);
      out.push_back(a);
    }
  }
  return out;
}

std::map<Address16, std::set<int>> Membership::listener_interfaces() const {
  std::map<Address16, std::set<int>> out;
  if (!backend_) return out;
  if (auto l = backend_->listeners()) {
    for (const auto& x : l.value()) {
      Address16 g;
      std::memcpy(g.data(), x.key.group, 16);
      out[g].insert(static_cast<int>(x.key.ifindex));
    }
  }
  return out;
}

void Membership::schedule_aging() {
  aging_timer_.expires_after(config_.timers.aging_period);
  aging_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    age();
    schedule_aging();
  });
}

void Membership::check_counters() {
  auto c = backend_->counters();
  if (!c) return;
  const jc_counters& now = c.value();
  struct Kind {
    const char* name;
    __u64 jc_counters::*field;
    const char* what;
  };
  // Things an operator must hear about, at most once a minute each: a full
  // table drops joins, a full ring buffer drops events, a burst of
  // malformed reports is a broken or hostile host.
  static const Kind kinds[] = {
      {"listeners_full", &jc_counters::listeners_full,
       "the listener table is full: joins are not recorded (too many hosts or a host flooding joins?)"},
      {"groups_full", &jc_counters::groups_full,
       "the group table is full: joins of new groups are not recorded (a host flooding joins to random groups?)"},
      {"host_quota", &jc_counters::host_quota,
       "joins were refused: a host reached membership.max_groups_per_host (a host flooding joins?)"},
      {"interface_quota", &jc_counters::interface_quota,
       "joins were refused: an interface reached membership.max_groups_per_interface"},
      {"events_lost", &jc_counters::events_lost, "membership events were lost: the ring buffer was full"},
      {"malformed", &jc_counters::malformed, "malformed membership reports were ignored"},
      {"truncated", &jc_counters::truncated, "truncated membership reports were ignored"},
      {"bad_checksum", &jc_counters::bad_checksum, "membership reports with a wrong checksum were ignored"},
  };
  auto t = std::chrono::steady_clock::now();
  for (const auto& k : kinds) {
    std::uint64_t delta = now.*k.field - last_counters_.*k.field;
    if (!delta) continue;
    auto& last = last_warning_[k.name];
    if (last != std::chrono::steady_clock::time_point{} && t - last < std::chrono::minutes(1)) continue;
    last = t;
    core::log::warning("membership: {} ({} since the last check; counter {} = {})", k.what, delta, k.name, now.*k.field);
  }
  bool lost = now.events_lost != last_counters_.events_lost;
  last_counters_ = now;
  if (lost) reconcile_groups();
}

void Membership::reconcile_groups() {
  auto groups = backend_->groups();
  if (!groups) return;
  std::set<Address16> now_up;
  for (const auto& g : groups.value()) {
    if (!g.value.listeners) continue;
    Address16 a;
    std::memcpy(a.data(), g.key.group, 16);
    now_up.insert(a);
  }
  std::vector<jc_event> missed;
  auto make = [](const Address16& group, std::uint8_t type, std::uint32_t listeners) {
    jc_event e{};
    e.time_ns = loader::monotonic_ns();
    e.type = type;
    e.listeners = listeners;
    std::memcpy(e.group, group.data(), 16);
    return e;
  };
  for (const auto& g : now_up)
    if (!up_.count(g)) missed.push_back(make(g, JC_EV_GROUP_UP, 1));
  for (const auto& g : up_)
    if (!now_up.count(g)) missed.push_back(make(g, JC_EV_GROUP_DOWN, 0));
  if (missed.empty()) return;
  core::log::warning("membership: {} group transition{} lost with the events were recovered from the groups map",
               missed.size(), missed.size() == 1 ? "" : "s");
  for (const auto& e : missed) on_event(e);
}

void Membership::age() {
  if (!backend_) return;
  check_counters();
  const std::uint64_t now = loader::monotonic_ns();
  auto listeners = backend_->listeners();
  if (!listeners) {
    core::log::error("membership: reading the listener table failed: {}", listeners.error().message());
    return;
  }
  // Per (interface, family): another querier may set a slower pace than ours.
  std::map<std::pair<int, int>, std::uint64_t> intervals;
  auto interval_for = [&](const jc_listener_key& k) {
    std::pair<int, int> port{static_cast<int>(k.ifindex), loader::is_ipv4_mapped(k.group) ? AF_INET : AF_INET6};
    auto it = intervals.find(port);
    if (it == intervals.end()) {
      auto ms = querier_ ? querier_->listener_interval(port.first, port.second) : config_.timers.listener_interval;
      it = intervals.emplace(port, static_cast<std::uint64_t>(duration_cast<nanoseconds>(ms).count())).first;
    }
    return it->second;
  };
  for (const auto& l : listeners.value()) {
    std::uint64_t base = std::max<std::uint64_t>(l.value.last_report_ns, started_ns_);
    if (base + interval_for(l.key) > now) continue;
    auto r = backend_->forget(l.key, l.value.last_report_ns, JC_LEFT_TIMEOUT);
    if (!r) core::log::error("membership: ageing out {} from {} failed: {}", loader::format_address(l.key.host),
                       loader::format_address(l.key.group), r.error().message());
  }
  // Empty groups are kept a while (their last change is informative), then
  // deleted so the table cannot fill with groups nobody wants.
  const auto retention =
      static_cast<std::uint64_t>(duration_cast<nanoseconds>(config_.timers.empty_group_retention).count());
  if (now < retention) return;
  if (auto groups = backend_->groups()) {
    for (const auto& g : groups.value())
      if (g.value.listeners == 0 && g.value.last_change_ns + retention <= now)
        (void)backend_->collect_group(g.key, now - retention);
  }
}

Result<nlohmann::json> Membership::groups(bool include_empty) const {
  if (!backend_) return Error(std::errc::operation_not_supported, "membership is off: " + backend_note_);
  auto g = backend_->groups();
  auto l = backend_->listeners();
  if (!g || !l) return (!g ? g.error() : l.error()).context("reading the membership maps failed");
  auto out = loader::groups_json(g.value(), l.value(), loader::monotonic_ns(), include_empty);
  out["source"] = "joincastd";
  return out;
}

std::string Membership::pins_problem() const {
  if (!backend_ || std::strcmp(backend_->name(), "bpf") != 0) return {};
  const std::string path = config_.bpf_pin_root + "/" + loader::pinned_groups;
  struct statfs fs {};
  std::string why;
  if (::statfs(path.c_str(), &fs) != 0) why = std::strerror(errno);
  else if (fs.f_type != BPF_FS_MAGIC) why = "not on bpffs";
  if (why.empty()) return {};
  return fmt::format("the maps are no longer pinned ({}: {}; was the bpffs unmounted?); membership goes on with the "
                     "maps it holds, a restart pins them again",
                     path, why);
}

nlohmann::json Membership::status() const {
  nlohmann::json ifs = nlohmann::json::array();
  for (const auto& [name, i] : interfaces_) {
    nlohmann::json j = {{"name", name}, {"attached", i.attached}};
    if (i.ifindex) j["ifindex"] = i.ifindex;
    if (!i.error.empty()) j["error"] = i.error;
    ifs.push_back(std::move(j));
  }
  nlohmann::json out = {{"backend", backend_ ? backend_->name() : "none"}, {"note", backend_note_}, {"interfaces", ifs}};
  if (auto problem = pins_problem(); !problem.empty()) out["pins_error"] = problem;
  if (backend_) {
    std::size_t active_groups = 0, listener_count = 0;
    if (auto g = backend_->groups())
      for (const auto& e : g.value()) active_groups += e.value.listeners ? 1 : 0;
    if (auto l = backend_->listeners()) listener_count = l.value().size();
    out["groups"] = active_groups;
    out["listeners"] = listener_count;
    if (auto c = backend_->counters()) out["counters"] = loader::counters_json(c.value());
  }
  if (querier_) out["querier"] = querier_->status();
  return out;
}

}  // namespace joincast::daemon::membership

namespace joincast::daemon::membership {

void Membership::collect_metrics(core::MetricsWriter& w) const {
  if (!backend_) return;
  std::map<std::string, std::size_t> per_interface;
  if (auto l = backend_->listeners())
    for (const auto& e : l.value()) per_interface[loader::interface_name(e.key.ifindex)]++;
  std::size_t groups = 0;
  if (auto g = backend_->groups())
    for (const auto& e : g.value()) groups += e.value.listeners ? 1 : 0;
  w.gauge("joincast_groups", "Multicast groups with at least one listener.", static_cast<double>(groups));
  for (const auto& [name, n] : per_interface)
    w.gauge("joincast_listeners", "Listeners (host, group) per interface.", static_cast<double>(n),
            {{"interface", name}});
  for (const auto& [name, i] : interfaces_)
    w.gauge("joincast_interface_attached", "1 if the membership program watches the interface.", i.attached ? 1 : 0,
            {{"interface", name}});
  if (auto c = backend_->counters()) {
    const auto counters = loader::counters_json(c.value());  // the loop must not range over a temporary
    for (const auto& [kind, value] : counters.items())
      w.counter("joincast_membership_messages_total",
                "Membership traffic seen by the membership backend, by outcome.", value.get<double>(),
                {{"kind", kind}});
  }
  if (querier_) {
    for (const auto& q : querier_->status()) {
      core::MetricsWriter::Labels labels = {{"interface", q["interface"].get<std::string>()},
                                      {"protocol", q["protocol"].get<std::string>()}};
      w.counter("joincast_queries_sent_total", "General queries sent.", q["queries_sent"].get<double>(), labels);
      w.counter("joincast_group_queries_sent_total", "Last-listener queries sent.",
                q["group_queries_sent"].get<double>(), labels);
      w.gauge("joincast_querier", "1 if this router is the querier on the interface.",
              q["role"] == "querier" ? 1 : 0, labels);
    }
  }
}

}  // namespace joincast::daemon::membership
