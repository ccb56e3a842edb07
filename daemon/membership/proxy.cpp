// proxy.cpp — see proxy.hpp.
#include "daemon/membership/proxy.hpp"

#include "daemon/core/log.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace joincast::daemon::membership {

MembershipProxy::MembershipProxy(ProxySection config, ActiveGroups active_groups, core::LinkWatcher& links)
    : config_(std::move(config)), active_groups_(std::move(active_groups)), links_(links) {}

MembershipProxy::~MembershipProxy() { clear(); }

Result<void> MembershipProxy::start() {
  if (config_.upstream.empty()) return success();
  core::log::info("proxy: reporting downstream groups upstream on {} (RFC 4605)", config_.upstream);
  link_subscription_ = links_.subscribe([this](const core::LinkChange& c) { on_link(c); });
  // Groups that already have listeners (pinned maps kept them).
  for (const auto& g : active_groups_()) group_up(g);
  return success();
}

Result<void> MembershipProxy::reload(const ProxySection& next) {
  if (next.upstream == config_.upstream) return success();
  clear();  // leaves what the old upstream had joined
  config_ = next;
  return start();
}

void MembershipProxy::clear() {
  link_subscription_.reset();
  joined_.clear();
}

void MembershipProxy::on_link(const core::LinkChange& c) {
  if (c.kind == core::LinkChange::Kind::addresses) return;
  if (c.kind != core::LinkChange::Kind::resynced && c.name != config_.upstream) {
    // Another interface; unless it was ours under an old name (renamed).
    bool ours = false;
    for (const auto& [group, m] : joined_) ours |= static_cast<int>(m.ifindex) == c.ifindex;
    if (!ours) return;
  }
  const unsigned now = static_cast<unsigned>(links_.interfaces().ifindex(config_.upstream).value_or(0));
  for (auto& [group, m] : joined_) {
    if (m.error.empty() && m.ifindex == now) continue;
    std::string before = m.error;
    m.error = join(group, m);
    if (m.error.empty()) core::log::info("proxy: joined {} upstream on {}", loader::format_address(group.data()), config_.upstream);
    else if (m.error != before)
      core::log::warning("proxy: cannot join {} upstream: {}", loader::format_address(group.data()), m.error);
  }
}

std::string MembershipProxy::join(const Address16& group, Membership& m) {
  UniqueFd& socket = m.socket;
  socket.reset();
  const unsigned ifindex = static_cast<unsigned>(links_.interfaces().ifindex(config_.upstream).value_or(0));
  m.ifindex = ifindex;
  if (!ifindex) return "upstream interface " + config_.upstream + " does not exist";
  // One socket per group: IPv4 limits memberships per socket
  // (net.ipv4.igmp_max_memberships, 20 by default).
  bool v4 = loader::is_ipv4_mapped(group.data());
  UniqueFd fd(::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::strerror(errno);
  int rc;
  if (v4) {
    ip_mreqn mreq{};
    std::memcpy(&mreq.imr_multiaddr, group.data() + 12, 4);
    mreq.imr_ifindex = static_cast<int>(ifindex);
    rc = ::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq);
  } else {
    ipv6_mreq mreq{};
    std::memcpy(&mreq.ipv6mr_multiaddr, group.data(), 16);
    mreq.ipv6mr_interface = ifindex;
    rc = ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq);
  }
  if (rc < 0) return std::strerror(errno);
  socket = std::move(fd);
  return {};
}

void MembershipProxy::group_up(const Address16& group) {
  if (config_.upstream.empty()) return;
  auto& m = joined_[group];
  m.error = join(group, m);
  if (m.error.empty())
    core::log::info("proxy: joined {} upstream on {}", loader::format_address(group.data()), config_.upstream);
  else
    core::log::warning("proxy: cannot join {} upstream on {}: {}", loader::format_address(group.data()), config_.upstream, m.error);
}

void MembershipProxy::group_down(const Address16& group) {
  if (joined_.erase(group))  // closing the socket makes the kernel send the leave
    core::log::info("proxy: left {} upstream on {}", loader::format_address(group.data()), config_.upstream);
}

nlohmann::json MembershipProxy::status() const {
  if (config_.upstream.empty()) return nullptr;
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [group, m] : joined_) {
    nlohmann::json g = {{"group", loader::format_address(group.data())}, {"joined", m.error.empty()}};
    if (!m.error.empty()) g["error"] = m.error;
    groups.push_back(std::move(g));
  }
  return nlohmann::json{{"upstream", config_.upstream}, {"groups", groups}};
}

}  // namespace joincast::daemon::membership
