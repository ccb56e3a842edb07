// mdns_relay.cpp — see mdns_relay.hpp.
#include "daemon/lan/mdns/mdns_relay.hpp"

#include "daemon/core/log.hpp"
#include "daemon/lan/mdns/legacy_unicast.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace joincast::daemon::lan::mdns {

namespace {

// Learned hosts and legacy queries are bounded (forwarded questions too:
// AskedQuestions::default_max): a flood of distinct
// questions must not grow the daemon without limit.
constexpr std::size_t max_learned = 4096;
constexpr std::size_t max_legacy = 1024;
// A legacy resolver waits a few seconds for its reply; answers that come
// later than this are not sent to it.
constexpr auto legacy_window = std::chrono::seconds(10);
constexpr auto reflector_log_interval = std::chrono::minutes(1);

}  // namespace

MdnsRelay::MdnsRelay(boost::asio::io_context& io, core::ControlServer& control, MdnsSection config,
                     core::LinkWatcher& links)
    : io_(io),
      control_(control),
      config_(std::move(config)),
      links_(links),
      policy_(config_),
      asked_(config_.query_window),
      rate_(config_.rate, config_.burst) {}

MdnsRelay::~MdnsRelay() { stop(); }

Result<void> MdnsRelay::start() {
  control_.add("mdns", "mDNS zones: interfaces, and per zone pair what was forwarded, filtered and malformed",
               [this](const nlohmann::json&) -> nlohmann::json {
                 nlohmann::json s = status();
                 return s.is_null() ? nlohmann::json{{"zones", nlohmann::json::array()},
                                                     {"pairs", nlohmann::json::array()},
                                                     {"pending", nlohmann::json::array()}}
                                    : s;
               });
  pairs_.assign(policy_.zones() * policy_.zones(), {});
  zones_.assign(policy_.zones(), {});
  if (!config_.enabled()) return success();
  if (auto r = open_sockets(); !r) return r;
  link_subscription_ = links_.subscribe([this](const core::LinkChange&) { reconcile(); });
  reconcile();
  return success();
}

Result<void> MdnsRelay::reload(const MdnsSection& next) {
  if (next == config_) return success();
  const bool zones_same = next.zones == config_.zones;
  if (next.enabled() && !v4_.socket && !v6_.socket)
    if (auto r = open_sockets(); !r) return r;
  // Leave everything, then join what the new zones want.
  for (const auto& zi : joined_) {
    if (v4_.socket && !zi.v4.empty()) (void)v4_.socket->leave(zi.ifindex, zi.v4);
    if (v6_.socket && !zi.v6.empty()) (void)v6_.socket->leave(zi.ifindex, zi.v6);
  }
  joined_.clear();
  config_ = next;
  policy_ = Policy(config_);
  if (!zones_same) {
    pairs_.assign(policy_.zones() * policy_.zones(), {});
    zones_.assign(policy_.zones(), {});
  }
  asked_.clear();
  asked_.set_window(config_.query_window);
  learned_.clear();
  legacy_.clear();
  rate_ = SourceRateLimit(config_.rate, config_.burst);
  if (!zones_same) {
    reflectors_.clear();
    copies_.clear();
    services_.clear();
  }
  if (!config_.enabled()) {
    link_subscription_.reset();
    close_sockets();
    return success();
  }
  if (!link_subscription_) link_subscription_ = links_.subscribe([this](const core::LinkChange&) { reconcile(); });
  reconcile();
  return success();
}

void MdnsRelay::stop() {
  link_subscription_.reset();
  for (const auto& zi : joined_) {
    if (v4_.socket && !zi.v4.empty()) (void)v4_.socket->leave(zi.ifindex, zi.v4);
    if (v6_.socket && !zi.v6.empty()) (void)v6_.socket->leave(zi.ifindex, zi.v6);
  }
  joined_.clear();
  close_sockets();
}

Result<void> MdnsRelay::open_sockets() {
  auto s4 = MdnsSocket::open(AF_INET);
  if (!s4) return std::move(s4).error();
  v4_.socket.emplace(std::move(s4).value());
  // A kernel without IPv6 still relays IPv4.
  if (auto s6 = MdnsSocket::open(AF_INET6))
    v6_.socket.emplace(std::move(s6).value());
  else
    core::log::warning("mdns: no IPv6 socket ({}): IPv6 mDNS is not relayed", s6.error().message());
  for (Listener* l : {&v4_, &v6_}) {
    if (!l->socket) continue;
    l->watch = std::make_unique<boost::asio::posix::stream_descriptor>(io_, ::dup(l->socket->fd()));
    wait(*l);
  }
  return success();
}

void MdnsRelay::close_sockets() {
  for (Listener* l : {&v4_, &v6_}) {
    if (l->watch) {
      l->watch->cancel();
      l->watch.reset();  // closes the dup
    }
    l->socket.reset();
  }
}

void MdnsRelay::wait(Listener& l) {
  l.watch->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this, &l](boost::system::error_code ec) {
    if (ec || !l.socket) return;
    on_readable(l);
    if (l.watch) wait(l);
  });
}

void MdnsRelay::on_readable(Listener& l) {
  // A bounded batch per wake-up: other handlers get their turn in a flood.
  for (int i = 0; i < 64; ++i) {
    auto d = l.socket->receive();
    if (!d) {
      if (d.error() != std::errc::resource_unavailable_try_again && d.error() != std::errc::operation_would_block)
        core::log::warning("mdns: receiving: {}", d.error().message());
      return;
    }
    handle(*l.socket, d.value());
  }
}

bool MdnsRelay::is_own_address(const IpAddress& a) const {
  for (const auto& [ifindex, link] : links_.interfaces().links())
    for (const auto& addr : links_.interfaces().addresses(ifindex))
      if (addr.address == a) return true;
  return false;
}

void MdnsRelay::handle(const MdnsSocket& socket, const Datagram& d) {
  const int z = plan_.zone_of(d.ifindex);
  if (z < 0) return;  // not a zone interface (or one that just went)
  const auto from = static_cast<std::size_t>(z);
  ZoneCounters& zc = zones_[from];
  ++zc.received;
  if (is_own_address(d.source)) {
    ++zc.own;
    return;
  }
  const auto now = Clock::now();
  // Before any decoding: a flood costs a bucket look-up per message.
  if (!rate_.admit(d.source, now)) {
    ++zc.rate_limited;
    return;
  }
  if (d.oversized) {
    ++zc.malformed;
    zc.last_malformed = fmt::format("{}: more than {} bytes", d.source.to_string(), max_message_size);
    return;
  }
  auto m = parse_message(d.bytes);
  if (!m) {
    ++zc.malformed;
    zc.last_malformed = fmt::format("{}: {}", d.source.to_string(), m.error().message());
    core::log::debug("mdns: malformed message from {} on {}: {}", d.source.to_string(), links_.interfaces().name(d.ifindex),
               m.error().message());
    return;
  }
  // RFC 6762 §18.3: only standard queries and responses (opcode 0).
  const Message& msg = m.value();
  if (msg.opcode() != 0) return;
  if (now - last_expired_ >= std::chrono::seconds(1)) {
    expire(now);
    last_expired_ = now;
  }
  if (msg.is_response()) {
    // §11: responses from a port other than 5353 are silently ignored.
    if (d.source_port != mdns_port) return;
    switch (reflectors_.observe(msg, from, d.source, now)) {
      case ReflectorWatch::Verdict::found:
        for (const auto& r : reflectors_.reflectors(now))
          if (r.address == d.source && r.zone == from) log_reflector(r);
        if (last_reflector_log_ == Clock::time_point{}) last_reflector_log_ = now;
        [[fallthrough]];
      case ReflectorWatch::Verdict::copy:
        ++zc.reflected;
        (void)reflectors_.drop(d.source, from, now);
        log_reflectors(now);
        return;
      case ReflectorWatch::Verdict::original:
        break;
    }
    if (copies_.is_copy(from, d.bytes, now)) {
      ++zc.relayed_copies;
      return;
    }
    services_.observe(msg, from, d.source, now);
    relay_response(socket, msg, from);
    return;
  }
  if (reflectors_.drop(d.source, from, now)) {
    ++zc.reflected;
    log_reflectors(now);
    return;
  }
  if (copies_.is_copy(from, d.bytes, now)) {
    ++zc.relayed_copies;
    return;
  }
  // §6.7: a query from another port is a legacy unicast query.
  if (d.source_port != mdns_port) {
    ++zc.legacy_queries;
    relay_query(socket, msg, from, &d);
  } else {
    relay_query(socket, msg, from, nullptr);
  }
}

// Once when found, then once a minute while it keeps copying.
void MdnsRelay::log_reflectors(Clock::time_point now) {
  if (now - last_reflector_log_ < reflector_log_interval) return;
  last_reflector_log_ = now;
  for (const auto& r : reflectors_.reflectors(now)) log_reflector(r);
}

void MdnsRelay::log_reflector(const ReflectorWatch::Reflector& r) const {
  core::log::warning("mdns: {} in zone {} reflects mDNS of zone {} ({} records copied, {} of its messages not relayed): "
               "another reflector on these links; its traffic is not relayed, so the two do not loop",
               r.address.to_string(), policy_.zone_name(r.zone), policy_.zone_name(r.origin_zone), r.copies, r.dropped);
}

void MdnsRelay::relay_query(const MdnsSocket& socket, const Message& m, std::size_t from, const Datagram* legacy) {
  const auto now = Clock::now();
  for (std::size_t to = 0; to < policy_.zones(); ++to) {
    if (to == from) continue;
    Filtered f = filter_query(policy_, m, from, to, learned_hosts(to, from, now));
    PairCounters& c = pair(from, to);
    // A question for an instance the asking zone itself announced stays
    // home: carried across it would tell `to` the name of `from`'s service.
    if (f.forward) {
      const std::size_t before = f.message.questions.size();
      std::erase_if(f.message.questions, [&](const Question& q) {
        return classify(q.name).kind == ServiceName::Kind::instance && services_.has_instance(from, q.name, now) &&
               !services_.has_instance(to, q.name, now);
      });
      f.removed += before - f.message.questions.size();
      f.forward = !f.message.questions.empty();
    }
    if (!f.forward) {
      if (policy_.access(from, to).any()) ++c.queries_filtered;
      continue;
    }
    c.records_removed += f.removed;
    ++c.queries_forwarded;
    if (legacy) {
      // Carried as an ordinary multicast query (ID 0, RFC 6762 §18.1); the
      // responses that answer it come back to the querier by unicast.
      f.message.id = 0;
      f.message.flags = 0;
      for (auto& q : f.message.questions) q.unicast_response = false;
      auto same = [&](const LegacyAsk& a) {
        // The same query again (a resolver's retry); another one from the
        // same socket (zeroconf sends them all with ID 0) is its own.
        return a.asker == from && a.owner == to && a.source == legacy->source && a.port == legacy->source_port &&
               a.id == m.id && a.questions == m.questions;
      };
      if (auto it = std::find_if(legacy_.begin(), legacy_.end(), same); it != legacy_.end())
        it->at = now;
      else if (legacy_.size() < max_legacy)
        legacy_.push_back({from, to, legacy->ifindex, legacy->source, legacy->source_port, m.id, m.questions,
                           f.message.questions, now});
      send_to_zone(socket, to, f.message);
      continue;
    }
    // A QU question (RFC 6762 §5.4) goes on as a QM one: a unicast answer
    // would come to the router's own address, where a local avahi bound to
    // the same port may take it; the multicast answer comes back through the
    // relay, and the querier accepts it as well (§5.4: "it may also receive
    // a multicast response").
    for (auto& q : f.message.questions) q.unicast_response = false;
    for (const auto& q : f.message.questions) (void)asked_.remember(from, to, q, now);
    send_to_zone(socket, to, f.message);
  }
}

std::vector<Name> MdnsRelay::learned_hosts(std::size_t owner, std::size_t asker, Clock::time_point now) const {
  std::vector<Name> out;
  for (const auto& l : learned_)
    if (l.owner == owner && l.asker == asker && l.until > now) out.push_back(l.host);
  return out;
}

void MdnsRelay::expire(Clock::time_point now) {
  asked_.expire(now);
  std::erase_if(learned_, [&](const Learned& l) { return l.until <= now; });
  std::erase_if(legacy_, [&](const LegacyAsk& a) { return now - a.at > legacy_window; });
  reflectors_.expire(now);
  copies_.expire(now);
  services_.expire(now);
}

void MdnsRelay::relay_response(const MdnsSocket& socket, const Message& m, std::size_t from) {
  const auto now = Clock::now();
  // Stateful: when some zone's forwarded query is what this answers, only
  // the zones that asked get it; otherwise it is an announcement (or an
  // answer to a question of the zone's own), for every zone allowed to see it.
  // Legacy queries it answers get their unicast replies; a response only
  // they asked for goes nowhere by multicast.
  bool someone_asked = answer_legacy(m, from, now);
  if (config_.stateful)
    for (std::size_t to = 0; to < policy_.zones() && !someone_asked; ++to)
      someone_asked = to != from && asked_.answered(to, from, m, now);
  for (std::size_t to = 0; to < policy_.zones(); ++to) {
    if (to == from) continue;
    if (!policy_.access(to, from).any()) continue;
    PairCounters& c = pair(from, to);
    Filtered f = filter_response(policy_, m, from, to, learned_hosts(from, to, now));
    if (!f.forward) {
      ++c.responses_filtered;
      continue;
    }
    if (someone_asked && !asked_.answered(to, from, m, now)) {
      ++c.responses_unasked;
      continue;
    }
    learn(from, to, m, now);
    c.records_removed += f.removed;
    ++c.responses_forwarded;
    send_to_zone(socket, to, f.message);
  }
}

void MdnsRelay::learn(std::size_t owner, std::size_t asker, const Message& m, Clock::time_point now) {
  for (auto& host : allowed_hosts(policy_, m, owner, asker)) {
    std::uint32_t ttl = 120;
    for (const auto& r : m.answers)
      if (r.type == rr::srv) ttl = std::max(ttl, r.ttl);
    const auto until = now + std::max<Clock::duration>(std::chrono::seconds(ttl), config_.query_window);
    auto same = [&](const Learned& l) { return l.owner == owner && l.asker == asker && l.host == host; };
    if (auto it = std::find_if(learned_.begin(), learned_.end(), same); it != learned_.end())
      it->until = until;
    else if (learned_.size() < max_learned)
      learned_.push_back({owner, asker, std::move(host), until});
  }
}

bool MdnsRelay::answer_legacy(const Message& m, std::size_t from, Clock::time_point now) {
  bool answered = false;
  for (const auto& la : legacy_) {
    if (la.owner != from || now - la.at > legacy_window) continue;
    const bool answers_it = std::any_of(la.forwarded.begin(), la.forwarded.end(), [&](const Question& q) {
      return std::any_of(m.answers.begin(), m.answers.end(), [&](const Record& r) { return answers(q, r); });
    });
    if (!answers_it) continue;
    answered = true;
    Filtered f = filter_response(policy_, m, from, la.asker, learned_hosts(from, la.asker, now));
    if (!f.forward) continue;
    auto reply = legacy_reply(la.id, la.questions, f.message);
    if (!reply) continue;
    learn(from, la.asker, m, now);
    auto bytes = write_message(*reply);
    if (!bytes) {
      core::log::warning("mdns: cannot encode a legacy reply for {}: {}", la.source.to_string(), bytes.error().message());
      continue;
    }
    const Listener& l = la.source.is_v4() ? v4_ : v6_;
    if (!l.socket) continue;
    // From the router's address on the querier's link (IPv4), or the one
    // the kernel picks for the querier's address (IPv6: a global querier
    // gets a global source, a link-local one the link-local address).
    IpAddress local;
    for (const auto& zi : joined_)
      if (zi.ifindex == la.ifindex && la.source.is_v4()) local = zi.v4;
    if (la.source.is_v4() && local.empty()) continue;
    if (la.source.is_v6()) local = *IpAddress::parse("::");
    if (auto r = l.socket->send_unicast(la.ifindex, local, la.source, la.port, bytes.value()); !r) {
      core::log::debug("mdns: legacy reply to {} port {}: {}", la.source.to_string(), la.port, r.error().message());
      continue;
    }
    ++pair(from, la.asker).legacy_answers;
  }
  return answered;
}

void MdnsRelay::send_to_zone(const MdnsSocket& socket, std::size_t zone, const Message& m) {
  auto bytes = write_message(m);
  if (!bytes) {
    core::log::warning("mdns: cannot encode a message for zone {}: {}", policy_.zone_name(zone), bytes.error().message());
    return;
  }
  copies_.sent(zone, bytes.value(), Clock::now());
  for (const auto& zi : joined_) {
    if (zi.zone != zone) continue;
    const IpAddress& local = socket.family() == AF_INET ? zi.v4 : zi.v6;
    if (local.empty()) continue;
    if (auto r = socket.send(zi.ifindex, local, bytes.value()); !r)
      core::log::debug("mdns: {} on {}: {}", policy_.zone_name(zone), zi.interface, r.error().message());
  }
}

void MdnsRelay::reconcile() {
  MdnsPlan next = plan_mdns(config_, links_.interfaces());
  // Leave where the interface went or its addresses changed; join the new.
  for (const auto& zi : joined_) {
    if (std::find(next.interfaces.begin(), next.interfaces.end(), zi) != next.interfaces.end()) continue;
    if (v4_.socket && !zi.v4.empty()) (void)v4_.socket->leave(zi.ifindex, zi.v4);
    if (v6_.socket && !zi.v6.empty()) (void)v6_.socket->leave(zi.ifindex, zi.v6);
    core::log::info("mdns: zone {} no longer on {}", policy_.zone_name(zi.zone), zi.interface);
  }
  std::vector<ZoneInterface> joined;
  for (const auto& zi : next.interfaces) {
    const bool had = std::find(joined_.begin(), joined_.end(), zi) != joined_.end();
    if (!had) {
      std::vector<std::string> errors;
      if (v4_.socket && !zi.v4.empty())
        if (auto r = v4_.socket->join(zi.ifindex, zi.v4); !r) errors.push_back(r.error().message());
      if (v6_.socket && !zi.v6.empty())
        if (auto r = v6_.socket->join(zi.ifindex, zi.v6); !r) errors.push_back(r.error().message());
      if (!errors.empty()) {
        std::string all;
        for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
        core::log::error("mdns: zone {} on {}: {}", policy_.zone_name(zi.zone), zi.interface, all);
      } else {
        core::log::info("mdns: zone {} on {} ({}{}{})", policy_.zone_name(zi.zone), zi.interface,
                  zi.v4.empty() ? "" : zi.v4.to_string(), !zi.v4.empty() && !zi.v6.empty() ? ", " : "",
                  zi.v6.empty() ? "" : zi.v6.to_string());
      }
    }
    joined.push_back(zi);
  }
  joined_ = std::move(joined);
  std::vector<std::string> logged;
  for (const auto& p : next.pending) {
    std::string line = fmt::format("zone {}: {}", config_.zones[p.zone].name, p.reason);
    if (std::find(pending_logged_.begin(), pending_logged_.end(), line) == pending_logged_.end())
      core::log::notice("mdns: {} waits: {}", p.interface, line);
    logged.push_back(std::move(line));
  }
  pending_logged_ = std::move(logged);
  plan_ = std::move(next);
}

nlohmann::json MdnsRelay::status() const {
  if (!config_.enabled()) return nullptr;
  const auto now = Clock::now();
  nlohmann::json zones = nlohmann::json::array();
  for (std::size_t z = 0; z < policy_.zones(); ++z) {
    nlohmann::json ifs = nlohmann::json::array();
    for (const auto& zi : joined_)
      if (zi.zone == z)
        ifs.push_back({{"name", zi.interface},
                       {"ifindex", zi.ifindex},
                       {"ipv4", zi.v4.empty() ? nlohmann::json(nullptr) : nlohmann::json(zi.v4.to_string())},
                       {"ipv6", zi.v6.empty() ? nlohmann::json(nullptr) : nlohmann::json(zi.v6.to_string())}});
    const ZoneCounters& c = zones_[z];
    nlohmann::json services = nlohmann::json::array();
    for (const auto& sv : services_.services(z, now)) {
      nlohmann::json addrs = nlohmann::json::array();
      for (const auto& a : sv.addresses) addrs.push_back(a.to_string());
      services.push_back({{"type", sv.type.to_string()},
                          {"instance", sv.instance.labels.empty() ? "" : sv.instance.labels.front()},
                          {"host", sv.host.labels.empty() ? nlohmann::json(nullptr) : nlohmann::json(sv.host.to_string())},
                          {"port", sv.port},
                          {"addresses", addrs},
                          {"zone", policy_.zone_name(z)},
                          {"source", sv.source.to_string()}});
    }
    nlohmann::json j = {{"name", policy_.zone_name(z)},
                        {"trust", config_.zones[z].trust},
                        {"interfaces", ifs},
                        {"received", c.received},
                        {"malformed", c.malformed},
                        {"own", c.own},
                        {"rate_limited", c.rate_limited},
                        {"reflected", c.reflected},
                        {"relayed_copies", c.relayed_copies},
                        {"legacy_queries", c.legacy_queries},
                        {"services", services}};
    if (!c.last_malformed.empty()) j["last_malformed"] = c.last_malformed;
    zones.push_back(std::move(j));
  }
  nlohmann::json pairs = nlohmann::json::array();
  for (std::size_t from = 0; from < policy_.zones(); ++from)
    for (std::size_t to = 0; to < policy_.zones(); ++to) {
      if (from == to) continue;
      const PairCounters& c = pairs_[from * policy_.zones() + to];
      // Messages go from `from` to `to`: its queries when `from` may ask
      // there, its responses when `to` may see them.
      nlohmann::json services = nlohmann::json::array();
      const Access& a = policy_.access(to, from);
      if (a.services.all) services.push_back("all");
      for (const auto& t : a.services.types) services.push_back(t.to_string());
      pairs.push_back({{"from", policy_.zone_name(from)},
                       {"to", policy_.zone_name(to)},
                       {"queries", policy_.access(from, to).any()},
                       {"responses_of", services},
                       {"forwarded", c.queries_forwarded + c.responses_forwarded},
                       {"filtered", c.queries_filtered + c.responses_filtered + c.responses_unasked},
                       {"malformed", zones_[from].malformed},
                       {"queries_forwarded", c.queries_forwarded},
                       {"queries_filtered", c.queries_filtered},
                       {"responses_forwarded", c.responses_forwarded},
                       {"responses_filtered", c.responses_filtered},
                       {"responses_unasked", c.responses_unasked},
                       {"records_removed", c.records_removed},
                       {"legacy_answers", c.legacy_answers}});
    }
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& p : plan_.pending)
    pending.push_back({{"zone", config_.zones[p.zone].name}, {"interface", p.interface}, {"reason", p.reason}});
  nlohmann::json reflectors = nlohmann::json::array();
  for (const auto& r : reflectors_.reflectors(now))
    reflectors.push_back({{"address", r.address.to_string()},
                          {"zone", policy_.zone_name(r.zone)},
                          {"copies_from", policy_.zone_name(r.origin_zone)},
                          {"records_copied", r.copies},
                          {"not_relayed", r.dropped},
                          {"last_copy_s_ago", std::chrono::duration<double>(now - r.last_copy).count()}});
  return {{"stateful", config_.stateful},
          {"query_window_s", static_cast<double>(config_.query_window.count()) / 1000.0},
          {"rate", config_.rate},
          {"burst", config_.burst},
          {"zones", zones},
          {"pairs", pairs},
          {"reflectors", reflectors},
          {"pending", pending}};
}

void MdnsRelay::collect_metrics(core::MetricsWriter& w) const {
  if (!config_.enabled()) return;
  for (std::size_t z = 0; z < policy_.zones(); ++z)
  {
    w.counter("joincast_mdns_malformed_total", "mDNS messages refused as malformed, by arrival zone",
              static_cast<double>(zones_[z].malformed), {{"zone", policy_.zone_name(z)}});
    w.counter("joincast_mdns_rate_limited_total", "mDNS messages over their sender's rate, not relayed, by arrival zone",
              static_cast<double>(zones_[z].rate_limited), {{"zone", policy_.zone_name(z)}});
    w.counter("joincast_mdns_reflected_total",
              "mDNS messages from another reflector on the zone's links, not relayed, by arrival zone",
              static_cast<double>(zones_[z].reflected), {{"zone", policy_.zone_name(z)}});
    w.counter("joincast_mdns_relayed_copies_total",
              "mDNS messages with the bytes this relay had just sent into the zone (another relay's copies), "
              "not relayed, by arrival zone",
              static_cast<double>(zones_[z].relayed_copies), {{"zone", policy_.zone_name(z)}});
  }
  w.gauge("joincast_mdns_reflectors", "Other mDNS reflectors found on the zones' links",
          static_cast<double>(reflectors_.reflectors(Clock::now()).size()), {});
  for (std::size_t from = 0; from < policy_.zones(); ++from)
    for (std::size_t to = 0; to < policy_.zones(); ++to) {
      if (from == to) continue;
      const PairCounters& c = pairs_[from * policy_.zones() + to];
      const core::MetricsWriter::Labels l = {{"from", policy_.zone_name(from)}, {"to", policy_.zone_name(to)}};
      w.counter("joincast_mdns_forwarded_total", "mDNS messages relayed from one zone into another",
                static_cast<double>(c.queries_forwarded + c.responses_forwarded), l);
      w.counter("joincast_mdns_filtered_total", "mDNS messages the policy kept from crossing",
                static_cast<double>(c.queries_filtered + c.responses_filtered + c.responses_unasked), l);
      w.counter("joincast_mdns_records_removed_total", "Questions and records removed from relayed messages",
                static_cast<double>(c.records_removed), l);
    }
}

}  // namespace joincast::daemon::lan::mdns
