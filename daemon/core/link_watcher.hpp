// link_watcher.hpp — the daemon's one view of the network namespace's
// interfaces: it listens to rtnetlink link and address events, keeps the
// InterfaceTable up to date, and tells every module that subscribed what
// changed (an interface appeared, went, changed its name, flags, master or
// bridge settings, or was renumbered). Modules look names, indexes and
// addresses up in its table and react to its events; none polls
// (if_nametoindex, getifaddrs) on its own. The composition root creates
// the one watcher and hands it to each module.
//
// The table/event logic (apply()) is public so it is tested without a
// netlink socket; start() adds the kernel as the source of those values.
#pragma once

#include "common/result.hpp"
#include "daemon/core/interface_table.hpp"
#include "daemon/core/subscription.hpp"
#include "netlink/socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace joincast::daemon::core {

struct LinkChange {
  enum class Kind {
    appeared,   // a new interface
    changed,    // renamed, up/down, multicast, master or bridge settings
    gone,       // deleted (name: the name it had)
    addresses,  // an address was added, removed or changed its flags
    resynced,   // events were lost and the table read again: look at everything
  };
  Kind kind = Kind::changed;
  int ifindex = 0;  // 0 for resynced
  std::string name;
};

const char* link_change_name(LinkChange::Kind kind);

class LinkWatcher {
 public:
  using Handler = std::function<void(const LinkChange&)>;

  // Keeps a handler subscribed; dropping it unsubscribes.
  using Subscription = core::Subscription<LinkWatcher>;

  explicit LinkWatcher(boost::asio::io_context& io);
  ~LinkWatcher();
  LinkWatcher(const LinkWatcher&) = delete;
  LinkWatcher& operator=(const LinkWatcher&) = delete;

  // Listens to link and address events, then reads every link and address
  // (a change between the two is already queued). Subscribers are not
  // told of what the first read finds: they look at interfaces().
  Result<void> start();
  void stop();

  const InterfaceTable& interfaces() const { return table_; }

  [[nodiscard]] Subscription subscribe(Handler handler);

  // One link or address message, as the kernel sends it: the table is
  // updated and the subscribers told, in the order they subscribed.
  void apply(const netlink::Link& link);
  void apply(const netlink::InterfaceAddress& address);
  // Replaces the whole table (after lost events) and tells "resynced".
  void replace(InterfaceTable table);

 private:
  friend class core::Subscription<LinkWatcher>;
  void unsubscribe(std::uint64_t id) { handlers_.erase(id); }
  void watch();
  void on_readable();
  void notify(const LinkChange& change);

  boost::asio::io_context& io_;
  InterfaceTable table_;
  std::optional<netlink::NetlinkSocket> events_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> watch_;
  std::map<std::uint64_t, Handler> handlers_;
  std::uint64_t next_id_ = 1;
  std::shared_ptr<LinkWatcher*> self_;  // subscriptions hold a weak_ptr to it
};

}  // namespace joincast::daemon::core
