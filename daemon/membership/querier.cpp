// querier.cpp — see querier.hpp.
#include "daemon/membership/querier.hpp"

#include "daemon/core/log.hpp"
#include "daemon/membership/loader/membership_json.hpp"
#include "daemon/membership/loader/membership_program.hpp"
#include "daemon/membership/membership_wire.hpp"
#include "netlink/multicast_egress.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace joincast::daemon::membership {

using namespace std::chrono;

struct Querier::Port {
  Port(boost::asio::io_context& io, int i, std::string n, int f) : ifindex(i), name(std::move(n)), family(f), timer(io) {}
  int ifindex;
  std::string name;
  int family;
  boost::asio::steady_timer timer;
  unsigned startup_left = 0;
  enum class Role { querier, non_querier, no_address } role = Role::querier;
  std::optional<Address16> own;
  std::optional<Address16> other;
  std::uint64_t other_expires_ns = 0;
  // Listener interval while the other querier is in charge (see
  // listener_interval()); zero when we are the querier.
  milliseconds adopted_listener_interval{0};
  std::uint64_t queries_sent = 0;
  std::uint64_t group_queries_sent = 0;
  steady_clock::time_point next_query{};
  std::string send_error;  // last failure, logged once per change
};

struct Querier::PendingLeave {
  explicit PendingLeave(boost::asio::io_context& io) : timer(io) {}
  int ifindex = 0;
  int family = 0;
  Address16 group{};
  Address16 host{};
  std::uint64_t leave_ns = 0;
  unsigned sent = 0;
  // false: the host is gone already (an explicit leave); the queries are
  // for the link's snooping devices, nothing is forgotten afterwards.
  bool verify = true;
  boost::asio::steady_timer timer;
};

namespace {

const char* family_name(int family) { return family == AF_INET ? "IGMPv3" : "MLDv2"; }

Address16 ipv4_mapped(const in_addr& a) {
  Address16 out{};
  out[10] = out[11] = 0xff;
  std::memcpy(out.data() + 12, &a, 4);
  return out;
}

// The address this router queries from on ifindex: the primary IPv4
// address (the first the kernel lists), or the IPv6 link-local address
// (RFC 3810 §5.1.14 requires one).
std::optional<Address16> own_address(const core::InterfaceTable& interfaces, int ifindex, int family) {
  for (const auto& a : interfaces.addresses(ifindex)) {
    if (a.family() != family) continue;
    const std::uint8_t* bytes = a.address.data();
    if (family == AF_INET) {
      in_addr v4{};
      std::memcpy(&v4, bytes, 4);
      return ipv4_mapped(v4);
    }
    if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) {  // fe80::/10
      Address16 out;
      std::memcpy(out.data(), bytes, 16);
      return out;
    }
  }
  return std::nullopt;
}

bool is_zero(const std::uint8_t* a, std::size_t from) {
  for (std::size_t i = from; i < 16; ++i)
    if (a[i]) return false;
  return true;
}

wire::QueryParams general_params(const MembershipTimers& t) {
  return {t.query_response_interval, t.query_interval, t.robustness, false};
}

// The S flag (suppress router-side processing, RFC 3810 §5.1.7.1) stays
// clear: snooping bridges in MLDv2/IGMPv3 mode ignore group-specific
// queries that carry it (Linux's br_multicast does), and pruning the
// departed host's port is what these queries are for.
wire::QueryParams last_listener_params(const MembershipTimers& t) {
  return {t.last_listener_query_interval, t.query_interval, t.robustness, false};
}

}  // namespace

AdoptedIntervals adopted_intervals(const MembershipTimers& t, const jc_querier& q) {
  const unsigned qrv = q.qrv ? q.qrv : t.robustness;
  const milliseconds qi = q.qqi_s ? duration_cast<milliseconds>(seconds(q.qqi_s)) : t.query_interval;
  const milliseconds resp = std::max(t.query_response_interval, milliseconds(q.max_resp_ms));
  return {std::max(t.listener_interval, qrv * qi + resp), std::max(t.other_querier_timeout, qrv * qi + resp / 2)};
}

Querier::Querier(boost::asio::io_context& io, const MembershipSection& config, MembershipBackend& backend,
                 const core::InterfaceTable& interfaces)
    : io_(io), config_(config), backend_(backend), interfaces_(interfaces) {
  // One raw socket per family; the interface is chosen per packet.
  igmp_socket_.reset(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_IGMP));
  if (igmp_socket_) {
    const std::uint8_t router_alert[4] = {0x94, 0x04, 0x00, 0x00};  // RFC 2113
    int ttl = 1, loop = 0;
    ::setsockopt(igmp_socket_.get(), IPPROTO_IP, IP_OPTIONS, router_alert, sizeof router_alert);
    ::setsockopt(igmp_socket_.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    ::setsockopt(igmp_socket_.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  } else {
    core::log::warning("querier: cannot open a raw IGMP socket ({}): no IGMP queries will be sent", std::strerror(errno));
  }
  mld_socket_.reset(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  if (mld_socket_) {
    // Hop-by-Hop header with Router Alert value 0 = MLD (RFC 2711), padded
    // to 8 bytes with PadN.
    const std::uint8_t hbh[8] = {0, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00};
    int hops = 1, loop = 0;
    ::setsockopt(mld_socket_.get(), IPPROTO_IPV6, IPV6_HOPOPTS, hbh, sizeof hbh);
    ::setsockopt(mld_socket_.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops);
    ::setsockopt(mld_socket_.get(), IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop);
  } else {
    core::log::warning("querier: cannot open a raw ICMPv6 socket ({}): no MLD queries will be sent", std::strerror(errno));
  }
}

Querier::~Querier() = default;

Querier::Port* Querier::port(int ifindex, int family) {
  auto it = ports_.find({ifindex, family});
  return it == ports_.end() ? nullptr : it->second.get();
}

const Querier::Port* Querier::port(int ifindex, int family) const {
  auto it = ports_.find({ifindex, family});
  return it == ports_.end() ? nullptr : it->second.get();
}

void Querier::add_interface(int ifindex, const std::string& name) {
  if (!config_.querier) return;
  for (int family : {AF_INET, AF_INET6}) {
    if ((family == AF_INET && !config_.query_ipv4) || (family == AF_INET6 && !config_.query_ipv6)) continue;
    if (ports_.count({ifindex, family})) continue;
    auto p = std::make_unique<Port>(io_, ifindex, name, family);
    // RFC 3810 §7.6: a router starts as querier and sends Startup Query
    // Count queries Startup Query Interval apart.
    p->startup_left = config_.timers.startup_query_count;
    Port& ref = *p;
    ports_[{ifindex, family}] = std::move(p);
    schedule_general(ref, milliseconds(0));
  }
}

void Querier::remove_interface(int ifindex) {
  for (int family : {AF_INET, AF_INET6}) ports_.erase({ifindex, family});
  for (auto it = leaves_.begin(); it != leaves_.end();) {
    if (std::get<0>(it->first) == ifindex) it = leaves_.erase(it);
    else ++it;
  }
}

void Querier::reconfigure(const MembershipSection& config) {
  std::map<int, std::string> interfaces;
  for (const auto& [key, p] : ports_) interfaces[key.first] = p->name;
  config_ = config;
  ports_.clear();
  for (const auto& [ifindex, name] : interfaces) add_interface(ifindex, name);
}

void Querier::schedule_general(Port& p, milliseconds after) {
  p.next_query = steady_clock::now() + after;
  p.timer.expires_after(after);
  p.timer.async_wait([this, &p](boost::system::error_code ec) {
    if (!ec) general_tick(p);
  });
}

bool Querier::elect(Port& p) {
  auto before = p.role;
  auto before_other = p.other;
  auto before_interval = p.adopted_listener_interval;
  p.own = own_address(interfaces_, p.ifindex, p.family);
  p.other.reset();
  p.adopted_listener_interval = milliseconds(0);
  if (!p.own) {
    p.role = Port::Role::no_address;
  } else {
    p.role = Port::Role::querier;
    auto queriers = backend_.queriers();
    std::uint64_t now = loader::monotonic_ns();
    if (queriers) {
      for (const auto& q : queriers.value()) {
        if (static_cast<int>(q.key.ifindex) != p.ifindex || static_cast<int>(q.key.family) != p.family) continue;
        // Queries from 0.0.0.0 or :: come from snooping switches, not
        // routers, and take no part in the election.
        if (is_zero(q.value.addr, p.family == AF_INET ? 12 : 0)) continue;
        const AdoptedIntervals adopted = adopted_intervals(config_.timers, q.value);
        const auto timeout = static_cast<std::uint64_t>(duration_cast<nanoseconds>(adopted.other_querier_timeout).count());
        if (q.value.last_seen_ns + timeout <= now) continue;
        if (std::memcmp(q.value.addr, p.own->data(), 16) < 0) {
          p.role = Port::Role::non_querier;
          Address16 other;
          std::memcpy(other.data(), q.value.addr, 16);
          p.other = other;
          p.other_expires_ns = q.value.last_seen_ns + timeout;
          p.adopted_listener_interval = adopted.listener_interval;
        }
      }
    }
  }
  if (p.role != before || p.other != before_other) {
    switch (p.role) {
      case Port::Role::querier:
        core::log::info("querier: {} {}: this router is the querier (address {})", p.name, family_name(p.family),
                  loader::format_address(p.own->data()));
        break;
      case Port::Role::non_querier:
        core::log::info("querier: {} {}: {} is the querier (lower address than ours, {}); staying silent", p.name,
                  family_name(p.family), loader::format_address(p.other->data()), loader::format_address(p.own->data()));
        break;
      case Port::Role::no_address:
        core::log::warning("querier: {} {}: the interface has no {} address to query from; not querying", p.name,
                     family_name(p.family), p.family == AF_INET ? "IPv4" : "IPv6 link-local");
        break;
    }
  }
  if (p.role == Port::Role::non_querier && p.adopted_listener_interval != before_interval &&
      p.adopted_listener_interval > config_.timers.listener_interval)
    core::log::info("querier: {} {}: listeners age out after {:.1f} s, not {:.1f} s: the querier {} queries less often or "
              "lets hosts answer later than our timers assume",
              p.name, family_name(p.family), duration<double>(p.adopted_listener_interval).count(),
              duration<double>(config_.timers.listener_interval).count(), loader::format_address(p.other->data()));
  return p.role == Port::Role::querier;
}

void Querier::general_tick(Port& p) {
  const auto& t = config_.timers;
  if (elect(p)) {
    Address16 none{};
    if (p.family == AF_INET) none[10] = none[11] = 0xff;
    if (send_query(p, none)) p.queries_sent++;
    if (p.startup_left > 0) p.startup_left--;
    schedule_general(p, p.startup_left > 0 ? t.startup_query_interval : t.query_interval);
    return;
  }
  if (p.role == Port::Role::non_querier) {
    // Look again when the other querier would time out (RFC 3810 §7.6.2):
    // if it went quiet, we take over and query at once.
    std::uint64_t now = loader::monotonic_ns();
    auto wait = milliseconds((p.other_expires_ns > now ? (p.other_expires_ns - now) / 1'000'000 : 0) + 10);
    schedule_general(p, std::min(wait, duration_cast<milliseconds>(t.query_interval)));
    return;
  }
  // No address yet: check again soon (addresses arrive after links).
  schedule_general(p, std::min(milliseconds(2000), duration_cast<milliseconds>(t.query_interval)));
}

bool Querier::send_query(Port& p, const Address16& group) {
  const bool general = p.family == AF_INET ? is_zero(group.data(), 12) : is_zero(group.data(), 0);
  const auto params = general ? general_params(config_.timers) : last_listener_params(config_.timers);
  ssize_t sent = -1;
  if (p.family == AF_INET) {
    if (!igmp_socket_) return false;
    std::uint32_t group_be;
    std::memcpy(&group_be, group.data() + 12, 4);
    auto msg = wire::igmpv3_query(group_be, params);
    (void)netlink::set_multicast_egress(igmp_socket_.get(), AF_INET, p.ifindex);  // a send error says more
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    // General queries go to all-systems 224.0.0.1, group-specific ones to
    // the group itself (RFC 3376 §4.1.12).
    dst.sin_addr.s_addr = general ? htonl(0xe0000001) : group_be;
    sent = ::sendto(igmp_socket_.get(), msg.data(), msg.size(), 0, reinterpret_cast<const sockaddr*>(&dst), sizeof dst);
  } else {
    if (!mld_socket_ || !p.own) return false;
    auto msg = wire::mldv2_query(general ? Address16{} : group, params);
    sockaddr_in6 dst{};
    dst.sin6_family = AF_INET6;
    dst.sin6_scope_id = static_cast<std::uint32_t>(p.ifindex);
    if (general) inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);  // RFC 3810 §5.1.15
    else std::memcpy(&dst.sin6_addr, group.data(), 16);
    // Source: our link-local address; interface: this port.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
    iovec iov{msg.data(), msg.size()};
    msghdr mh{};
    mh.msg_name = &dst;
    mh.msg_namelen = sizeof dst;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    std::memcpy(&info.ipi6_addr, p.own->data(), 16);
    info.ipi6_ifindex = static_cast<unsigned>(p.ifindex);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    sent = ::sendmsg(mld_socket_.get(), &mh, 0);
  }
  if (sent < 0) {
    std::string why = std::strerror(errno);
    if (why != p.send_error) core::log::warning("querier: {} {}: sending a query failed: {}", p.name, family_name(p.family), why);
    p.send_error = why;
    return false;
  }
  if (!p.send_error.empty()) core::log::info("querier: {} {}: sending queries works again", p.name, family_name(p.family));
  p.send_error.clear();
  core::log::debug("querier: {} {}: sent {} query", p.name, family_name(p.family),
             general ? std::string("general") : "group-specific for " + loader::format_address(group.data()));
  return true;
}

void Querier::on_leave_pending(const jc_event& e) {
  Address16 group, host;
  std::memcpy(group.data(), e.group, 16);
  std::memcpy(host.data(), e.host, 16);
  auto key = std::make_tuple(static_cast<int>(e.ifindex), group, host);
  if (leaves_.count(key)) return;  // already being verified
  auto leave = std::make_shared<PendingLeave>(io_);
  leave->ifindex = static_cast<int>(e.ifindex);
  leave->family = loader::is_ipv4_mapped(e.group) ? AF_INET : AF_INET6;
  leave->group = group;
  leave->host = host;
  leave->leave_ns = e.time_ns;
  leaves_[key] = leave;
  core::log::debug("querier: {} left {} on {}; verifying with last-listener queries", loader::format_address(host.data()),
             loader::format_address(group.data()), loader::interface_name(e.ifindex));
  last_listener_tick(leave);
}

void Querier::on_explicit_leave(const jc_event& e) {
  Address16 group;
  std::memcpy(group.data(), e.group, 16);
  const int family = loader::is_ipv4_mapped(e.group) ? AF_INET : AF_INET6;
  Port* p = port(static_cast<int>(e.ifindex), family);
  if (!p || p->role != Port::Role::querier) return;  // the elected querier sends them
  // One round per group and link: it prunes every port whose hosts are
  // silent, whoever left.
  auto key = std::make_tuple(static_cast<int>(e.ifindex), group, Address16{});
  if (leaves_.count(key)) return;
  auto leave = std::make_shared<PendingLeave>(io_);
  leave->ifindex = static_cast<int>(e.ifindex);
  leave->family = family;
  leave->group = group;
  leave->verify = false;
  leaves_[key] = leave;
  core::log::debug("querier: {} left {} on {}; group-specific queries for the link's snooping devices",
             loader::format_address(e.host), loader::format_address(group.data()), loader::interface_name(e.ifindex));
  last_listener_tick(leave);
}

void Querier::last_listener_tick(const std::shared_ptr<PendingLeave>& leave) {
  const auto& t = config_.timers;
  if (leave->sent < t.last_listener_query_count) {
    // Only the querier sends them (RFC 3810 §7.6.3.1); a non-querier waits
    // the same time for the querier's queries to be answered.
    if (Port* p = port(leave->ifindex, leave->family); p && p->role == Port::Role::querier) {
      if (send_query(*p, leave->group)) p->group_queries_sent++;
    }
    leave->sent++;
    leave->timer.expires_after(t.last_listener_query_interval);
    leave->timer.async_wait([this, leave](boost::system::error_code ec) {
      if (!ec) last_listener_tick(leave);
    });
    return;
  }
  if (!leave->verify) {
    leaves_.erase(std::make_tuple(leave->ifindex, leave->group, Address16{}));
    return;
  }
  // Last Listener Query Time is over: forget the host unless it answered.
  jc_listener_key key{};
  key.ifindex = static_cast<std::uint32_t>(leave->ifindex);
  std::memcpy(key.group, leave->group.data(), 16);
  std::memcpy(key.host, leave->host.data(), 16);
  leaves_.erase(std::make_tuple(leave->ifindex, leave->group, leave->host));
  auto r = backend_.forget(key, leave->leave_ns, JC_LEFT_QUERY);
  if (!r) core::log::error("membership: forgetting {} in {} failed: {}", loader::format_address(leave->host.data()),
                     loader::format_address(leave->group.data()), r.error().message());
  else if (r.value() == MembershipBackend::ForgetOutcome::kept)
    core::log::debug("querier: {} still listens to {} (reported after its leave)", loader::format_address(leave->host.data()),
               loader::format_address(leave->group.data()));
}

void Querier::on_query_seen(const jc_event& e) {
  int family = loader::is_ipv4_mapped(e.host) ? AF_INET : AF_INET6;
  if (Port* p = port(static_cast<int>(e.ifindex), family)) {
    if (!elect(*p) && p->role == Port::Role::non_querier) {
      // Re-arm for the other querier's timeout.
      p->timer.cancel();
      general_tick(*p);
    }
  }
}

milliseconds Querier::listener_interval(int ifindex, int family) const {
  const auto& t = config_.timers;
  if (const Port* p = port(ifindex, family))
    return p->role == Port::Role::non_querier ? std::max(t.listener_interval, p->adopted_listener_interval)
                                              : t.listener_interval;
  // We do not query here (querier = false, or the family's queries are
  // off): whoever does sets the pace.
  milliseconds out = t.listener_interval;
  auto queriers = backend_.queriers();
  if (!queriers) return out;
  const std::uint64_t now = loader::monotonic_ns();
  for (const auto& q : queriers.value()) {
    if (static_cast<int>(q.key.ifindex) != ifindex || static_cast<int>(q.key.family) != family) continue;
    const AdoptedIntervals adopted = adopted_intervals(t, q.value);
    if (q.value.last_seen_ns + static_cast<std::uint64_t>(duration_cast<nanoseconds>(adopted.other_querier_timeout).count()) > now)
      out = std::max(out, adopted.listener_interval);
  }
  return out;
}

nlohmann::json Querier::status() const {
  nlohmann::json out = nlohmann::json::array();
  auto now = steady_clock::now();
  std::uint64_t now_ns = loader::monotonic_ns();
  for (const auto& [key, p] : ports_) {
    nlohmann::json j = {
        {"interface", p->name},
        {"protocol", family_name(p->family)},
        {"role", p->role == Port::Role::querier ? "querier"
                 : p->role == Port::Role::non_querier ? "non-querier"
                                                      : "no-address"},
        {"queries_sent", p->queries_sent},
        {"group_queries_sent", p->group_queries_sent},
    };
    if (p->own) j["address"] = loader::format_address(p->own->data());
    j["listener_interval_s"] = duration<double>(listener_interval(p->ifindex, p->family)).count();
    if (p->other) {
      j["other_querier"] = loader::format_address(p->other->data());
      j["other_querier_expires_s"] =
          p->other_expires_ns > now_ns ? static_cast<double>(p->other_expires_ns - now_ns) / 1e9 : 0.0;
    }
    if (p->role == Port::Role::querier)
      j["next_query_s"] = duration<double>(std::max(p->next_query - now, steady_clock::duration::zero())).count();
    if (!p->send_error.empty()) j["error"] = p->send_error;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace joincast::daemon::membership
