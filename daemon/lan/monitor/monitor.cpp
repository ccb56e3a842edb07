// monitor.cpp — see monitor.hpp.
#include "daemon/lan/monitor/monitor.hpp"

#include "daemon/core/log.hpp"
#include "daemon/lan/monitor/udp_sockets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>

namespace joincast::daemon::lan::monitor {

namespace {

// How often the module looks again whether a daemon listens on a port
// nothing listened on (and says so when that changes). No more often than
// the querier's interval: a quiet router stays quiet.
constexpr std::chrono::seconds listener_check_interval{120};

std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string address16_text(const std::uint8_t (&a)[16]) {
  Address16 bytes;
  std::copy(std::begin(a), std::end(a), bytes.begin());
  return IpAddress::from_address16(bytes).to_string();
}

}  // namespace

Monitor::Monitor(boost::asio::io_context& io, core::ControlServer& control, MonitorSection config, core::LinkWatcher& links)
    : io_(io), control_(control), config_(std::move(config)), links_(links), listener_timer_(io) {}

Monitor::~Monitor() { stop(); }

Result<void> Monitor::start() {
  control_.add("monitor", "monitoring groups: packets, last sender, filtered senders, listening daemons",
               [this](const nlohmann::json&) -> nlohmann::json {
                 nlohmann::json s = status();
                 return s.is_null() ? nlohmann::json{{"entries", nlohmann::json::array()}} : s;
               });
  started_ = true;
  if (config_.entries.empty()) return success();
  auto program = MonitorProgram::load();
  if (!program) return std::move(program).error();
  program_ = std::move(program).value();
  link_subscription_ = links_.subscribe([this](const core::LinkChange&) { reconcile(); });
  reconcile();
  return success();
}

Result<void> Monitor::reload(const MonitorSection& next) {
  if (next == config_) return success();
  if (!program_ && !next.entries.empty()) {
    auto program = MonitorProgram::load();
    if (!program) return std::move(program).error();
    program_ = std::move(program).value();
    link_subscription_ = links_.subscribe([this](const core::LinkChange&) { reconcile(); });
  }
  config_ = next;
  // Entries are matched by position: a changed entry is applied afresh.
  for (auto& [key, a] : active_) deactivate(a);
  active_.clear();
  unheard_.clear();
  reconcile();
  return success();
}

void Monitor::stop() {
  listener_timer_.cancel();
  link_subscription_.reset();
  for (auto& [key, a] : active_) deactivate(a);
  active_.clear();
  pending_.clear();
  program_.reset();  // detaches from every interface
}

std::vector<routing::kernel::PlannedJoin> Monitor::joins_for(const Binding& b) const {
  const MonitorEntry& e = config_.entries[b.entry];
  std::vector<routing::kernel::PlannedJoin> joins;
  // Source-specific when every allowed sender of the group's family is one
  // host: the switches' reports then name them (IGMPv3/MLDv2 INCLUDE).
  std::vector<IpAddress> sources;
  bool all_hosts = true;
  for (const auto& s : e.senders) {
    if (s.family() != b.group.family()) continue;
    if (!s.is_host()) all_hosts = false;
    sources.push_back(s.address());
  }
  if (!sources.empty() && all_hosts) {
    for (const auto& s : sources) joins.push_back({b.ifindex, s, b.group, e.origin});
  } else {
    joins.push_back({b.ifindex, std::nullopt, b.group, e.origin});
  }
  return joins;
}

jc_mon_entry Monitor::entry_for(const Binding& b, std::uint32_t id) const {
  const MonitorEntry& e = config_.entries[b.entry];
  jc_mon_entry v{};
  v.id = id;
  if (!e.senders.empty()) v.flags |= JC_MON_F_SENDERS;
  if (e.rewrite) {
    v.flags |= JC_MON_F_REWRITE;
    Address16 local = b.local.to_address16();
    std::copy(local.begin(), local.end(), v.local);
    std::copy(b.mac.begin(), b.mac.end(), v.local_mac);
  }
  return v;
}

void Monitor::activate(const Binding& b, Active& a) {
  a.binding = b;
  std::vector<std::string> errors;
  if (!program_->attached().count(b.ifindex))
    if (auto r = program_->attach(b.ifindex); !r) errors.push_back("attaching the BPF program: " + r.error().message());
  if (auto r = program_->reset_counters(a.id); !r) errors.push_back(r.error().message());
  const MonitorEntry& e = config_.entries[b.entry];
  for (const auto& s : e.senders)
    if (auto r = program_->add_sender(a.id, s); !r) errors.push_back(r.error().message());
  if (auto r = program_->put_entry(MonitorProgram::key(b.ifindex, b.group, b.port), entry_for(b, a.id)); !r)
    errors.push_back(r.error().message());
  for (const auto& j : joins_for(b)) {
    if (auto r = joins_.join(j); !r) {
      errors.push_back(fmt::format("joining {}{} on {}: {}", j.source ? j.source->to_string() + "," : "",
                                   j.group.to_string(), b.interface, r.error().message()));
      continue;
    }
    a.joins.push_back(j);
  }
  a.error.clear();
  for (const auto& e1 : errors) a.error += (a.error.empty() ? "" : "; ") + e1;
  if (!a.error.empty())
    core::log::error("monitor: {} port {} on {}: {}", b.group.to_string(), b.port, b.interface, a.error);
  else
    core::log::info("monitor: {} {} port {} on {}{}{}", e.service, b.group.to_string(), b.port, b.interface,
              e.rewrite ? fmt::format(", rewritten to {}", b.local.to_string()) : "",
              e.senders.empty() ? "" : fmt::format(", {} allowed sender prefix{}", e.senders.size(),
                                                   e.senders.size() == 1 ? "" : "es"));
}

void Monitor::deactivate(Active& a) {
  if (program_) {
    (void)program_->delete_entry(MonitorProgram::key(a.binding.ifindex, a.binding.group, a.binding.port));
    if (a.binding.entry < config_.entries.size())
      for (const auto& s : config_.entries[a.binding.entry].senders) (void)program_->delete_sender(a.id, s);
  }
  for (const auto& j : a.joins) (void)joins_.leave(j);
  a.joins.clear();
  free_ids_.insert(a.id);
}

void Monitor::reconcile() {
  if (!program_) return;
  MonitorPlan plan = plan_monitor(config_, links_.interfaces());
  std::map<Key, const Binding*> wanted;
  for (const auto& b : plan.bindings) wanted[Key{b.ifindex, b.group, b.port}] = &b;

  // Gone, or changed underneath (renumbered, a new MAC): undo first.
  for (auto it = active_.begin(); it != active_.end();) {
    auto w = wanted.find(it->first);
    const bool same = w != wanted.end() && w->second->entry == it->second.binding.entry &&
                      w->second->local == it->second.binding.local && w->second->mac == it->second.binding.mac;
    if (same) {
      ++it;
      continue;
    }
    if (w == wanted.end())
      core::log::info("monitor: {} port {} on {} no longer in force", it->second.binding.group.to_string(),
                it->second.binding.port, it->second.binding.interface);
    if (!links_.interfaces().find(it->second.binding.ifindex)) joins_.forget_interface(it->second.binding.ifindex);
    deactivate(it->second);
    it = active_.erase(it);
  }
  bool added = false;
  for (const auto& [key, b] : wanted) {
    if (active_.count(key)) continue;
    added = true;
    Active a;
    if (!free_ids_.empty()) {
      a.id = *free_ids_.begin();
      free_ids_.erase(free_ids_.begin());
    } else if (next_id_ < JC_MON_MAX_ENTRIES) {
      a.id = next_id_++;
    } else {
      plan.pending.push_back({b->entry, b->interface, b->group.to_string(),
                              fmt::format("more than {} monitored groups", JC_MON_MAX_ENTRIES)});
      continue;
    }
    activate(*b, a);
    active_.emplace(key, std::move(a));
  }
  // Interfaces nothing is monitored on any more lose the program.
  std::set<int> used;
  for (const auto& [key, a] : active_) used.insert(a.binding.ifindex);
  for (int ifindex : std::set<int>(program_->attached()))
    if (!used.count(ifindex)) (void)program_->detach(ifindex);

  for (const auto& p : plan.pending) {
    auto same = [&](const PendingGroup& o) {
      return o.entry == p.entry && o.interface == p.interface && o.group == p.group && o.reason == p.reason;
    };
    if (std::none_of(pending_.begin(), pending_.end(), same))
      core::log::notice("monitor: {} of monitor[{}] ({}) waits: {}", p.group, p.entry, config_.entries[p.entry].service,
                  p.reason);
  }
  pending_ = std::move(plan.pending);
  // A group that came into force (its interface appeared, an address to
  // derive it from): say now whether anything will receive it.
  if (added && started_) check_listeners();
}

void Monitor::check_listeners() {
  if (active_.empty()) return;
  auto bound = read_bound_udp();
  if (!bound) {
    core::log::warning("monitor: cannot tell which UDP ports are listened on: {}", bound.error().message());
    return;
  }
  std::set<Key> unheard;
  for (const auto& [key, a] : active_) {
    const Binding& b = a.binding;
    if (receives(bound.value(), b.group, b.port, b.local)) {
      if (unheard_.count(key))
        core::log::info("monitor: a daemon now listens on udp {} for {} on {}", b.port, b.group.to_string(), b.interface);
      continue;
    }
    unheard.insert(key);
    if (!unheard_.count(key))
      core::log::warning("monitor: nothing listens on udp port {} ({}, {} on {}): its datagrams are lost until a daemon "
                   "binds the port on the wildcard address",
                   b.port, config_.entries[b.entry].service, b.group.to_string(), b.interface);
  }
  unheard_ = std::move(unheard);
  schedule_listener_check();
}

void Monitor::schedule_listener_check() {
  if (unheard_.empty()) return;
  listener_timer_.expires_after(listener_check_interval);
  listener_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) check_listeners();
  });
}

nlohmann::json Monitor::binding_json(const Active& a, const std::vector<BoundUdp>* bound) const {
  const Binding& b = a.binding;
  const MonitorEntry& e = config_.entries[b.entry];
  nlohmann::json j = {{"service", e.service},
                      {"interface", b.interface},
                      {"group", b.group.to_string()},
                      {"derived", b.derived},
                      {"port", b.port},
                      {"rewrite_to", e.rewrite ? nlohmann::json(b.local.to_string()) : nlohmann::json(nullptr)},
                      {"source_specific", std::any_of(a.joins.begin(), a.joins.end(),
                                                      [](const routing::kernel::PlannedJoin& p) { return p.source.has_value(); })},
                      {"joined", a.joins.size()},
                      {"origin", e.origin}};
  nlohmann::json senders = nlohmann::json::array();
  for (const auto& s : e.senders) senders.push_back(s.to_string(true));
  j["senders"] = senders;
  if (!a.error.empty()) j["error"] = a.error;
  if (bound) j["daemon_listening"] = receives(*bound, b.group, b.port, b.local);
  if (!program_) return j;
  auto c = program_->counters(a.id);
  if (!c) {
    j["counters_error"] = c.error().message();
    return j;
  }
  const jc_mon_counters& v = c.value();
  const std::uint64_t now = monotonic_ns();
  auto ago = [&](std::uint64_t ns) { return nlohmann::json(static_cast<double>(now - ns) / 1e9); };
  j["packets"] = v.packets;
  j["bytes"] = v.bytes;
  j["rewritten"] = v.rewritten;
  j["filtered"] = v.filtered;
  j["last_sender"] = v.packets ? nlohmann::json(address16_text(v.last_sender)) : nlohmann::json(nullptr);
  j["last_seen_ago_s"] = v.packets ? ago(v.last_ns) : nlohmann::json(nullptr);
  j["last_filtered_sender"] = v.filtered ? nlohmann::json(address16_text(v.filtered_sender)) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json Monitor::status() const {
  if (config_.entries.empty()) return nullptr;
  auto bound = read_bound_udp();
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [key, a] : active_) entries.push_back(binding_json(a, bound ? &bound.value() : nullptr));
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& p : pending_)
    pending.push_back({{"service", config_.entries[p.entry].service},
                       {"interface", p.interface},
                       {"group", p.group},
                       {"reason", p.reason}});
  return {{"entries", entries}, {"pending", pending}};
}

void Monitor::collect_metrics(core::MetricsWriter& w) const {
  if (!program_) return;
  for (const auto& [key, a] : active_) {
    auto c = program_->counters(a.id);
    if (!c) continue;
    const core::MetricsWriter::Labels labels = {{"service", config_.entries[a.binding.entry].service},
                                          {"interface", a.binding.interface},
                                          {"group", a.binding.group.to_string()},
                                          {"port", std::to_string(a.binding.port)}};
    w.counter("joincast_monitor_packets_total", "Monitoring datagrams let through to the local daemons",
              static_cast<double>(c.value().packets), labels);
    w.counter("joincast_monitor_bytes_total", "Bytes of those datagrams, IP header included",
              static_cast<double>(c.value().bytes), labels);
    w.counter("joincast_monitor_filtered_total", "Monitoring datagrams dropped: sender not allowed",
              static_cast<double>(c.value().filtered), labels);
    w.counter("joincast_monitor_rewritten_total", "NTP requests rewritten to the interface's unicast address",
              static_cast<double>(c.value().rewritten), labels);
  }
}

}  // namespace joincast::daemon::lan::monitor
