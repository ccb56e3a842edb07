// link_watcher_test.cpp — the one interface watcher's table and events,
// fed netlink::Link and InterfaceAddress values as the kernel sends them
// (no socket, no root): what each module is told when an interface
// appears, changes, is renumbered, goes, or the table is read again.
#include "daemon/core/link_watcher.hpp"

#include <doctest/doctest.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>

#include <vector>

using namespace joincast::daemon;
using joincast::IpAddress;
using joincast::netlink::InterfaceAddress;
using joincast::netlink::Link;
using Kind = core::LinkChange::Kind;

namespace {

Link link(int ifindex, const std::string& name, bool up = true, bool deleted = false) {
  Link l;
  l.ifindex = ifindex;
  l.name = name;
  l.flags = static_cast<unsigned>(IFF_MULTICAST) | (up ? static_cast<unsigned>(IFF_UP) : 0u);
  l.deleted = deleted;
  return l;
}

InterfaceAddress address(int ifindex, const char* a, unsigned len, bool deleted = false) {
  InterfaceAddress x;
  x.ifindex = ifindex;
  x.address = *IpAddress::parse(a);
  x.prefix_length = static_cast<std::uint8_t>(len);
  x.scope = RT_SCOPE_UNIVERSE;
  x.deleted = deleted;
  return x;
}

struct Recorder {
  std::vector<core::LinkChange> seen;
  core::LinkWatcher::Handler handler() {
    return [this](const core::LinkChange& c) { seen.push_back(c); };
  }
};

}  // namespace

TEST_CASE("the link watcher keeps the table and says what changed, once per change") {
  boost::asio::io_context io;
  core::LinkWatcher w(io);
  Recorder r;
  auto sub = w.subscribe(r.handler());

  w.apply(link(5, "late0"));
  REQUIRE(r.seen.size() == 1);
  CHECK(r.seen[0].kind == Kind::appeared);
  CHECK(r.seen[0].ifindex == 5);
  CHECK(r.seen[0].name == "late0");
  CHECK(w.interfaces().ifindex("late0") == 5);

  // The same message again (the kernel repeats NEWLINK for stats): nothing.
  w.apply(link(5, "late0"));
  CHECK(r.seen.size() == 1);

  // Down: changed. Renamed: changed, under the new name.
  w.apply(link(5, "late0", false));
  w.apply(link(5, "wan0", false));
  REQUIRE(r.seen.size() == 3);
  CHECK(r.seen[1].kind == Kind::changed);
  CHECK(r.seen[2].kind == Kind::changed);
  CHECK(r.seen[2].name == "wan0");
  CHECK_FALSE(w.interfaces().ifindex("late0"));

  // Renumbered: addresses, for that interface.
  w.apply(address(5, "2001:db8:1::1", 64));
  w.apply(address(5, "2001:db8:1::1", 64, true));
  w.apply(address(5, "2001:db8:77::1", 64));
  REQUIRE(r.seen.size() == 6);
  CHECK(r.seen[3].kind == Kind::addresses);
  CHECK(r.seen[5].kind == Kind::addresses);
  CHECK(r.seen[5].name == "wan0");
  REQUIRE(w.interfaces().addresses(5).size() == 1);
  CHECK(w.interfaces().addresses(5)[0].address == *IpAddress::parse("2001:db8:77::1"));
  // Deleting an address that is not there: nothing.
  w.apply(address(5, "2001:db8:99::1", 64, true));
  CHECK(r.seen.size() == 6);

  // Gone: told with the name it had; its addresses go with it.
  w.apply(link(5, "wan0", false, true));
  REQUIRE(r.seen.size() == 7);
  CHECK(r.seen[6].kind == Kind::gone);
  CHECK(r.seen[6].ifindex == 5);
  CHECK(r.seen[6].name == "wan0");
  CHECK(w.interfaces().find(5) == nullptr);
  CHECK(w.interfaces().addresses(5).empty());
  // A delete for an interface never seen: nothing.
  w.apply(link(9, "x", true, true));
  CHECK(r.seen.size() == 7);
}

TEST_CASE("link watcher subscriptions: every subscriber in order, and dropping one stops its events") {
  boost::asio::io_context io;
  core::LinkWatcher w(io);
  std::vector<std::string> order;
  auto a = w.subscribe([&](const core::LinkChange&) { order.push_back("a"); });
  core::LinkWatcher::Subscription b = w.subscribe([&](const core::LinkChange&) { order.push_back("b"); });
  w.apply(link(2, "eth0"));
  CHECK(order == std::vector<std::string>{"a", "b"});
  b.reset();
  w.apply(link(3, "eth1"));
  CHECK(order == std::vector<std::string>{"a", "b", "a"});
  // A handler may drop its own subscription while being told.
  core::LinkWatcher::Subscription self;
  int calls = 0;
  self = w.subscribe([&](const core::LinkChange&) {
    ++calls;
    self.reset();
  });
  w.apply(link(4, "eth2"));
  w.apply(link(6, "eth3"));
  CHECK(calls == 1);
  // A subscription outliving the watcher is harmless.
  auto other = std::make_unique<core::LinkWatcher>(io);
  auto late = other->subscribe([](const core::LinkChange&) {});
  other.reset();
  late.reset();
}

TEST_CASE("after lost events the watcher replaces its table and says resynced") {
  boost::asio::io_context io;
  core::LinkWatcher w(io);
  w.apply(link(2, "eth0"));
  Recorder r;
  auto sub = w.subscribe(r.handler());
  core::InterfaceTable fresh;
  fresh.apply(link(7, "eth9"));
  w.replace(std::move(fresh));
  REQUIRE(r.seen.size() == 1);
  CHECK(r.seen[0].kind == Kind::resynced);
  CHECK(w.interfaces().find(2) == nullptr);
  CHECK(w.interfaces().ifindex("eth9") == 7);
}
