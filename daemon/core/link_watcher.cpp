// link_watcher.cpp — see link_watcher.hpp.
#include "daemon/core/link_watcher.hpp"

#include "daemon/core/log.hpp"

#include <linux/rtnetlink.h>

#include <vector>

namespace asio = boost::asio;

namespace joincast::daemon::core {

const char* link_change_name(LinkChange::Kind kind) {
  switch (kind) {
    case LinkChange::Kind::appeared: return "appeared";
    case LinkChange::Kind::changed: return "changed";
    case LinkChange::Kind::gone: return "gone";
    case LinkChange::Kind::addresses: return "addresses";
    case LinkChange::Kind::resynced: return "resynced";
  }
  return "?";
}

LinkWatcher::LinkWatcher(asio::io_context& io) : io_(io), self_(std::make_shared<LinkWatcher*>(this)) {}

LinkWatcher::~LinkWatcher() {
  self_.reset();
  stop();
}

Result<void> LinkWatcher::start() {
  auto ev = netlink::NetlinkSocket::open_events({RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR});
  if (!ev) return Error(ev.error()).context("cannot listen to rtnetlink link and address events");
  auto nl = netlink::NetlinkSocket::open();
  if (!nl) return Error(nl.error()).context("cannot open an rtnetlink socket");
  events_ = std::move(ev.value());
  // Listen first, then dump: a change between the two is in the queue.
  if (auto r = table_.read(nl.value()); !r) {
    events_.reset();
    return Error(r.error()).context("cannot list the interfaces and their addresses");
  }
  watch();
  return success();
}

void LinkWatcher::stop() {
  if (watch_) {
    watch_->release();  // the NetlinkSocket owns the descriptor
    watch_.reset();
  }
  events_.reset();
}

LinkWatcher::Subscription LinkWatcher::subscribe(Handler handler) {
  const std::uint64_t id = next_id_++;
  handlers_.emplace(id, std::move(handler));
  return Subscription(self_, id);
}

void LinkWatcher::notify(const LinkChange& change) {
  // A handler may unsubscribe itself or another: walk a copy of the ids.
  std::vector<std::uint64_t> ids;
  ids.reserve(handlers_.size());
  for (const auto& [id, h] : handlers_) ids.push_back(id);
  for (auto id : ids) {
    auto it = handlers_.find(id);
    if (it != handlers_.end()) it->second(change);
  }
}

void LinkWatcher::apply(const netlink::Link& link) {
  const netlink::Link* before = table_.find(link.ifindex);
  const bool existed = before != nullptr;
  const std::string old_name = existed ? before->name : link.name;
  if (!table_.apply(link)) return;
  LinkChange c;
  c.ifindex = link.ifindex;
  c.name = link.deleted ? old_name : link.name;
  c.kind = link.deleted ? LinkChange::Kind::gone : existed ? LinkChange::Kind::changed : LinkChange::Kind::appeared;
  notify(c);
}

void LinkWatcher::apply(const netlink::InterfaceAddress& address) {
  if (!table_.apply(address)) return;
  notify({LinkChange::Kind::addresses, address.ifindex, table_.name(address.ifindex)});
}

void LinkWatcher::replace(InterfaceTable table) {
  table_ = std::move(table);
  notify({LinkChange::Kind::resynced, 0, {}});
}

void LinkWatcher::watch() {
  if (!events_) return;
  if (!watch_) watch_ = std::make_unique<asio::posix::stream_descriptor>(io_, events_->fd());
  watch_->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec || !events_) return;
    on_readable();
    watch();
  });
}

void LinkWatcher::on_readable() {
  auto r = events_->read_events([&](const nlmsghdr* nlh) -> netlink::Result<void> {
    switch (nlh->nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        if (auto l = netlink::parse_link(nlh)) apply(l.value());
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        if (auto a = netlink::parse_address(nlh)) apply(a.value());
        break;
      default:
        break;
    }
    return netlink::success();
  });
  if (!r && r.error() == std::errc::no_buffer_space) {
    // The socket overflowed: events were lost. Read everything again.
    log::warning("interfaces: rtnetlink events were lost; reading the interfaces again");
    auto nl = netlink::NetlinkSocket::open();
    InterfaceTable fresh;
    auto read = nl ? fresh.read(nl.value()) : netlink::Result<void>(nl.error());
    if (read) replace(std::move(fresh));
    else log::error("interfaces: cannot read the interfaces again: {}", read.error().message());
  }
}

}  // namespace joincast::daemon::core
