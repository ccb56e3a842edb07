// ssdp.cpp — see ssdp.hpp.
#include "daemon/lan/ssdp/ssdp.hpp"

#include "daemon/core/log.hpp"
#include "daemon/membership/loader/membership_program.hpp"  // monotonic_ns

#include "daemon/lan/ssdp/ssdp_message.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

namespace joincast::daemon::lan::ssdp {

static_assert(kind_search == JC_SSDP_SEARCH && kind_announcements == JC_SSDP_NOTIFY && kind_other == JC_SSDP_OTHER);

namespace {

constexpr auto loop_report_period = std::chrono::minutes(1);
constexpr std::size_t max_devices = 4096;  // (interface, USN) entries

nlohmann::json counters_json(const jc_ssdp_counters& c, bool out) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : counter_fields) {
    // Copies sent out count only as relayed or errors.
    if (out && std::strcmp(f.name, "relayed") != 0 && std::strcmp(f.name, "errors") != 0 &&
        std::strcmp(f.name, "no_listeners") != 0)
      continue;
    if (!out && std::strcmp(f.name, "no_listeners") == 0) continue;
    j[f.name] = c.*f.member;
  }
  return j;
}

}  // namespace

bool is_ssdp_group(const Address16& g) {
  static const Address16 v4 = [] {
    Address16 a{};
    a[10] = a[11] = 0xff;
    a[12] = 239, a[13] = 255, a[14] = 255, a[15] = 250;
    return a;
  }();
  if (g == v4) return true;
  if (g[0] != 0xff || (g[1] != 0x02 && g[1] != 0x05) || g[15] != 0x0c) return false;
  for (std::size_t i = 2; i < 15; ++i)
    if (g[i]) return false;
  return true;
}

nlohmann::json ssdp_json(const SsdpSection& config, const std::vector<CounterEntry>& counters,
                         const std::map<std::string, int>& ifindex_of,
                         const std::map<std::string, std::string>& errors) {
  nlohmann::json zones = nlohmann::json::array();
  for (const auto& z : config.zones) {
    nlohmann::json ifaces = nlohmann::json::array();
    for (const auto& name : z.interfaces) {
      nlohmann::json i = {{"name", name}};
      auto it = ifindex_of.find(name);
      int ifindex = it == ifindex_of.end() ? 0 : it->second;
      auto e = errors.find(name);
      i["state"] = ifindex == 0 ? "pending" : e != errors.end() && !e->second.empty() ? "error" : "attached";
      if (ifindex) i["ifindex"] = ifindex;
      if (e != errors.end() && !e->second.empty()) i["error"] = e->second;
      jc_ssdp_counters in{}, out{};
      for (const auto& c : counters) {
        if (static_cast<int>(c.key.ifindex) != ifindex || ifindex == 0) continue;
        (c.key.direction == JC_SSDP_OUT ? out : in) = c.value;
      }
      i["in"] = counters_json(in, false);
      i["out"] = counters_json(out, true);
      ifaces.push_back(std::move(i));
    }
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& r : effective_rules(z)) {
      nlohmann::json j = {{"from", r.from}, {"to", r.to}, {"kinds", kinds_name(r.kinds)}};
      unsigned ttl = r.ttl.value_or(z.ttl);
      if (ttl) j["ttl"] = ttl;
      rules.push_back(std::move(j));
    }
    zones.push_back({{"name", z.name},
                     {"interfaces", std::move(ifaces)},
                     {"relay", std::move(rules)},
                     {"ports", z.ports},
                     {"ipv4", z.ipv4},
                     {"ipv6", z.ipv6},
                     {"rate", z.rate},
                     {"burst", z.burst}});
  }
  return {{"zones", std::move(zones)}};
}

Ssdp::Ssdp(boost::asio::io_context& io, SsdpSection config, std::string pin_root, core::ControlServer& control,
           core::LinkWatcher& links, Listeners listeners)
    : io_(io),
      config_(std::move(config)),
      pin_root_(std::move(pin_root)),
      control_(control),
      links_(links),
      loop_timer_(io),
      listeners_(std::move(listeners)) {}

Ssdp::~Ssdp() { stop(); }

Result<void> Ssdp::start() {
  if (!commands_added_) {
    commands_added_ = true;
    control_.add("ssdp", "SSDP zones: interfaces, relay rules and counters", [this](const nlohmann::json&) {
      return status().is_null() ? nlohmann::json{{"zones", nlohmann::json::array()}} : status();
    });
  }
  if (config_.zones.empty()) return success();
  if (!program_) {
    SsdpProgram::Options o;
    o.pin_root = pin_root_;
    auto loaded = SsdpProgram::load(o);
    if (!loaded) return std::move(loaded).error().context("loading bpf/ssdp.bpf.c");
    program_ = std::move(loaded).value();
    if (!program_->replaced_pins().empty())
      core::log::warning("ssdp: pinned maps replaced: {}", program_->replaced_pins());
  }
  open_listener();
  link_subscription_ = links_.subscribe([this](const core::LinkChange&) { reconcile(); });
  refresh_listening();
  reconcile();
  watch_loops();
  return success();
}

Result<void> Ssdp::reload(const SsdpSection& next) {
  config_ = next;
  if (config_.zones.empty()) {
    stop();
    return success();
  }
  if (!program_) return start();
  refresh_listening();
  reconcile();
  return success();
}

void Ssdp::refresh_listening() {
  listening_.clear();
  if (!listeners_) return;
  for (const auto& [group, interfaces] : listeners_()) {
    if (!is_ssdp_group(group)) continue;
    bool v4 = group[0] == 0 && group[10] == 0xff;
    for (int ifindex : interfaces)
      listening_[ifindex] |= static_cast<std::uint8_t>(v4 ? JC_SSDP_LISTEN_V4 : JC_SSDP_LISTEN_V6);
  }
}

std::uint8_t Ssdp::listening(int ifindex) const {
  auto it = listening_.find(ifindex);
  return it == listening_.end() ? 0 : it->second;
}

void Ssdp::listeners_changed() {
  if (!program_) return;
  auto before = listening_;
  refresh_listening();
  for (const auto& [name, m] : members_) {
    if (m.ifindex == 0 || m.zone >= config_.zones.size() || !config_.zones[m.zone].on_demand.count(name)) continue;
    std::uint8_t now = listening(m.ifindex);
    auto was = before.find(m.ifindex);
    if ((was == before.end() ? 0 : was->second) == now) continue;
    if (auto r = program_->set_listening(static_cast<std::uint32_t>(m.ifindex), now); !r) {
      core::log::warning("ssdp: {}: cannot record its SSDP listeners: {}", name, r.error().message());
      continue;
    }
    core::log::info("ssdp: {}: {}", name,
                    now ? fmt::format("a host listens to SSDP ({}{}{}): relaying into it",
                                      now & JC_SSDP_LISTEN_V4 ? "239.255.255.250" : "",
                                      now == (JC_SSDP_LISTEN_V4 | JC_SSDP_LISTEN_V6) ? ", " : "",
                                      now & JC_SSDP_LISTEN_V6 ? "ff02::c/ff05::c" : "")
                        : std::string("no host listens to SSDP any more: not relaying into it"));
  }
}

void Ssdp::stop() {
  link_subscription_ = {};
  loop_timer_.cancel();
  if (listener_) {
    boost::system::error_code ec;
    listener_->close(ec);
    listener_.reset();
  }
  devices_.clear();
  device_count_ = 0;
  for (const auto& name : [this] {
         std::vector<std::string> n;
         for (const auto& [k, v] : members_) n.push_back(k);
         return n;
       }())
    forget(name);
  program_.reset();  // detaches from what is left
}

void Ssdp::forget(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  if (program_ && it->second.ifindex) {
    auto ifindex = it->second.ifindex;
    join(ifindex, false);
    if (auto d = devices_.find(ifindex); d != devices_.end()) {
      device_count_ -= d->second.size();
      devices_.erase(d);
    }
    if (auto r = program_->unconfigure(static_cast<std::uint32_t>(ifindex)); !r)
      core::log::warning("ssdp: {}: cannot remove its entry: {}", name, r.error().message());
    if (auto r = program_->detach(ifindex); !r)
      core::log::warning("ssdp: {}: cannot detach: {}", name, r.error().message());
    else
      core::log::info("ssdp: {} left zone \"{}\"", name, config_.zones.size() > it->second.zone
                                                      ? config_.zones[it->second.zone].name
                                                      : std::string("(removed)"));
  }
  members_.erase(it);
}

Result<void> Ssdp::apply_interface(const Zone& zone, std::size_t zone_index, const std::string& name, int ifindex) {
  const auto& table = links_.interfaces();
  const netlink::Link* link = table.find(ifindex);
  if (!link) return invalid(name + " is gone");
  if (link->mac == std::array<std::uint8_t, 6>{}) return invalid(name + " has no Ethernet address");
  jc_ssdp_iface e{};
  e.zone = static_cast<std::uint32_t>(zone_index + 1);
  e.flags = static_cast<std::uint8_t>((zone.ipv4 ? JC_SSDP_F_IPV4 : 0) | (zone.ipv6 ? JC_SSDP_F_IPV6 : 0) |
                                      (zone.rewrite_broadcast ? JC_SSDP_F_REWRITE : 0));
  std::memcpy(e.mac, link->mac.data(), 6);
  if (zone.rate) {
    e.interval_ns = 1'000'000'000ULL / zone.rate;
    e.burst = zone.burst;
  }
  for (std::size_t i = 0; i < zone.ports.size() && i < JC_SSDP_MAX_PORTS; ++i) e.ports[i] = zone.ports[i];
  std::size_t subnets = 0;
  for (const auto& a : table.addresses(ifindex)) {
    if (a.family() != AF_INET || subnets == JC_SSDP_MAX_SUBNETS) continue;
    std::uint32_t mask = a.prefix_length == 0 ? 0 : ~0u << (32 - a.prefix_length);
    std::uint32_t addr = 0;
    std::memcpy(&addr, a.address.data(), 4);
    e.subnet[subnets] = addr;
    e.mask[subnets] = htonl(mask);
    ++subnets;
  }
  for (const auto& rule : effective_rules(zone)) {
    if (rule.from != name) continue;
    auto peer = members_.find(rule.to);
    if (peer == members_.end() || peer->second.ifindex == 0) continue;
    if (e.peer_count == JC_SSDP_MAX_PEERS) break;
    auto& p = e.peers[e.peer_count++];
    p.ifindex = static_cast<std::uint32_t>(peer->second.ifindex);
    p.kinds = rule.kinds;
    p.ttl = static_cast<std::uint8_t>(rule.ttl.value_or(zone.ttl));
  }
  auto filters = zone.sources.find(name);
  if (filters != zone.sources.end()) e.flags |= JC_SSDP_F_SOURCE_FILTER;
  if (zone.on_demand.count(name)) {
    e.flags |= JC_SSDP_F_ON_DEMAND;
    e.listening = listening(ifindex);
  }
  auto u = static_cast<std::uint32_t>(ifindex);
  if (auto r = program_->clear_filters(u); !r) return r;
  if (filters != zone.sources.end())
    for (const auto& f : filters->second) {
      if (f.mac) {
        if (auto r = program_->allow_mac(u, *f.mac); !r) return r;
      } else if (f.prefix) {
        unsigned bits = f.prefix->length() + (f.prefix->family() == AF_INET ? 96u : 0u);
        if (auto r = program_->allow_source(u, f.prefix->address().to_address16(), bits); !r) return r;
      }
    }
  if (auto r = program_->configure(u, e); !r) return r;
  if (!program_->attached().count(ifindex)) {
    if (auto r = program_->attach(ifindex); !r) return r;
    join(ifindex, true);
    core::log::info("ssdp: {} joined zone \"{}\"", name, zone.name);
  }
  return success();
}

void Ssdp::reconcile() {
  if (!program_) return;
  const auto& table = links_.interfaces();
  // Who is where now: members that left the config or vanished go first.
  std::map<std::string, std::size_t> wanted;
  for (std::size_t z = 0; z < config_.zones.size(); ++z)
    for (const auto& n : config_.zones[z].interfaces) wanted.emplace(n, z);
  std::vector<std::string> gone;
  for (const auto& [name, m] : members_) {
    auto w = wanted.find(name);
    auto now = table.ifindex(name);
    if (w == wanted.end() || w->second != m.zone || (m.ifindex && (!now || *now != m.ifindex))) gone.push_back(name);
  }
  for (const auto& n : gone) forget(n);
  for (const auto& [name, z] : wanted) {
    auto& m = members_[name];
    m.zone = z;
    m.ifindex = table.ifindex(name).value_or(0);
  }
  // Then every present member's entry, now that all peers are known.
  for (auto& [name, m] : members_) {
    if (m.ifindex == 0) continue;
    auto r = apply_interface(config_.zones[m.zone], m.zone, name, m.ifindex);
    std::string error = r ? "" : r.error().message();
    if (error != m.error && !error.empty()) core::log::warning("ssdp: {}: {}", name, error);
    m.error = error;
  }
}

void Ssdp::open_listener() {
  if (listener_) return;
  namespace ip = boost::asio::ip;
  auto s = std::make_unique<ip::udp::socket>(io_);
  boost::system::error_code ec;
  s->open(ip::udp::v4(), ec);
  if (!ec) s->set_option(ip::udp::socket::reuse_address(true), ec);
  int one = 1;
  if (!ec && ::setsockopt(s->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec && ::setsockopt(s->native_handle(), IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0)
    ec.assign(errno, boost::system::system_category());
  if (!ec) s->bind(ip::udp::endpoint(ip::address_v4::any(), JC_SSDP_PORT), ec);
  if (ec) {
    core::log::warning("ssdp: no devices table: cannot listen on port {}: {}", JC_SSDP_PORT, ec.message());
    return;
  }
  int off = 0;
  ::setsockopt(s->native_handle(), IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off);
  // The table has no use for searches: the kernel drops them before they
  // are queued (a flood of M-SEARCHes costs no wakeup). The filter sees
  // the datagram from its UDP header on.
  static sock_filter no_search[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 8),                     // the payload's first 4 bytes
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x4d2d5345, 0, 1),     // "M-SE"
      BPF_STMT(BPF_RET | BPF_K, 0),                             // drop
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                    // keep all of it
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof no_search / sizeof no_search[0]), no_search};
  if (::setsockopt(s->native_handle(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
    core::log::warning("ssdp: the devices table's socket filter cannot be attached ({}): it reads searches too",
                       std::strerror(errno));
  listener_ = std::move(s);
  listen();
}

void Ssdp::join(int ifindex, bool on) {
  if (!listener_) return;
  ip_mreqn m{};
  m.imr_multiaddr.s_addr = htonl(JC_SSDP_GROUP4);
  m.imr_ifindex = ifindex;
  if (::setsockopt(listener_->native_handle(), IPPROTO_IP, on ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m,
                   sizeof m) < 0 &&
      on)
    core::log::warning("ssdp: {}: cannot join 239.255.255.250 for the devices table: {}",
                 links_.interfaces().name(ifindex), std::strerror(errno));
}

void Ssdp::listen() {
  listener_->async_wait(boost::asio::ip::udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec || !listener_) return;
    for (int i = 0; i < 64; ++i) {
      char buf[2048];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = ::recvmsg(listener_->native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0) break;
      int ifindex = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          in_pktinfo info{};
          std::memcpy(&info, CMSG_DATA(c), sizeof info);
          ifindex = info.ipi_ifindex;
        }
      if (ifindex) on_datagram(ifindex, std::string_view(buf, static_cast<std::size_t>(n)));
    }
    listen();
  });
}

void Ssdp::on_datagram(int ifindex, std::string_view datagram) {
  bool member = false;
  for (const auto& [name, m] : members_)
    if (m.ifindex == ifindex) member = true;
  if (!member) return;
  auto msg = parse_ssdp(datagram);
  if (!msg || msg->usn.empty() || msg->kind == SsdpMessage::Kind::search) return;
  auto& table = devices_[ifindex];
  if (msg->kind == SsdpMessage::Kind::notify && msg->nts == "ssdp:byebye") {
    device_count_ -= table.erase(msg->usn);
    return;
  }
  auto it = table.find(msg->usn);
  if (it == table.end()) {
    if (device_count_ >= max_devices) return;
    it = table.emplace(msg->usn, Device{}).first;
    ++device_count_;
  }
  Device& d = it->second;
  d.nt = msg->nt;
  if (!msg->server.empty()) d.server = msg->server;
  if (!msg->location.empty()) d.location = msg->location;
  d.max_age = msg->max_age;
  d.last_seen = std::chrono::steady_clock::now();
}

void Ssdp::watch_loops() {
  loop_timer_.expires_after(loop_report_period);
  loop_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !program_) return;
    // Devices past their max-age (or silent for an hour without one).
    auto steady = std::chrono::steady_clock::now();
    for (auto& [ifindex, table] : devices_)
      for (auto it = table.begin(); it != table.end();) {
        auto life = std::chrono::seconds(it->second.max_age ? it->second.max_age : 3600);
        if (steady - it->second.last_seen > life) {
          it = table.erase(it);
          --device_count_;
        } else {
          ++it;
        }
      }
    // On-demand interfaces, in case an event was missed.
    listeners_changed();
    // Sources silent for a minute get their bucket back.
    auto now = joincast::daemon::membership::loader::monotonic_ns();
    constexpr std::uint64_t idle_ns = 60'000'000'000ULL;
    if (now > idle_ns)
      if (auto r = program_->collect_buckets(now - idle_ns); !r)
        core::log::warning("ssdp: cannot age the rate-limit table: {}", r.error().message());
    auto counters = program_->counters();
    if (counters) {
      for (const auto& c : counters.value()) {
        if (c.key.direction != JC_SSDP_IN) continue;
        std::string name = links_.interfaces().name(static_cast<int>(c.key.ifindex));
        for (auto [field, value] : {std::pair<const char*, std::uint64_t>{"foreign_relay", c.value.foreign_relay},
                                    std::pair<const char*, std::uint64_t>{"loop", c.value.loop}}) {
          auto& seen = reported_[{c.key.ifindex, field}];
          if (value > seen)
            core::log::warning("ssdp: {}: {} SSDP packets {} in the last minute, not relayed", name, value - seen,
                         std::strcmp(field, "loop") == 0 ? "were our own copies coming back (a loop)"
                                                         : "came from another relay");
          seen = value;
        }
      }
    }
    watch_loops();
  });
}

nlohmann::json Ssdp::status() const {
  if (config_.zones.empty()) return nullptr;
  std::vector<CounterEntry> counters;
  if (program_)
    if (auto c = program_->counters()) counters = std::move(c).value();
  std::map<std::string, int> ifindex_of;
  std::map<std::string, std::string> errors;
  for (const auto& [name, m] : members_) {
    ifindex_of[name] = m.ifindex;
    errors[name] = m.error;
  }
  nlohmann::json out = ssdp_json(config_, counters, ifindex_of, errors);
  auto now = std::chrono::steady_clock::now();
  for (std::size_t zi = 0; zi < out["zones"].size(); ++zi)
    for (auto& i : out["zones"][zi]["interfaces"]) {
      if (config_.zones[zi].on_demand.count(i["name"].get<std::string>())) {
        std::uint8_t l = listening(i.value("ifindex", 0));
        nlohmann::json groups = nlohmann::json::array();
        if (l & JC_SSDP_LISTEN_V4) groups.push_back("239.255.255.250");
        if (l & JC_SSDP_LISTEN_V6) groups.push_back("ff02::c/ff05::c");
        i["on_demand"] = true;
        i["listening"] = std::move(groups);
      }
      nlohmann::json list = nlohmann::json::array();
      auto d = devices_.find(i.value("ifindex", 0));
      if (d != devices_.end())
        for (const auto& [usn, dev] : d->second)
          list.push_back({{"usn", usn},
                          {"nt", dev.nt},
                          {"server", dev.server},
                          {"location", dev.location},
                          {"last_seen_s_ago",
                           std::chrono::duration_cast<std::chrono::seconds>(now - dev.last_seen).count()}});
      i["devices"] = std::move(list);
    }
  return out;
}

void Ssdp::collect_metrics(core::MetricsWriter& w) const {
  if (!program_) return;
  auto counters = program_->counters();
  if (!counters) return;
  for (const auto& c : counters.value()) {
    std::string iface = links_.interfaces().name(static_cast<int>(c.key.ifindex));
    const char* dir = c.key.direction == JC_SSDP_OUT ? "out" : "in";
    for (const auto& f : counter_fields)
      w.counter("joincast_ssdp_packets_total", "SSDP packets by interface, direction and verdict",
                static_cast<double>(c.value.*f.member), {{"interface", iface}, {"direction", dir}, {"verdict", f.name}});
  }
}

}  // namespace joincast::daemon::lan::ssdp
