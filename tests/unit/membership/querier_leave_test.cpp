// querier_leave_test.cpp — the querier's state after a leave: an MLDv1 Done
// or IGMPv2 Leave is verified for last_listener_query_count rounds, then
// the host is forgotten (unless it reported since, which the backend
// decides); a repeated leave joins the running verification; an explicit
// MLDv2/IGMPv3 leave leaves a non-querier with nothing to do (RFC 3810
// §7.4.2 and §7.6.3.1, RFC 3376 §6.4.2). Rounds are counted as the timer
// handlers the io_context runs, never timed.
#include "daemon/membership/querier.hpp"

#include "daemon/membership/loader/membership_program.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <cstring>
#include <vector>

using namespace joincast;
using namespace joincast::daemon;
using namespace std::chrono_literals;

namespace {

// A backend that records what the querier asks it to forget.
class Forgets : public membership::MembershipBackend {
 public:
  struct Call {
    jc_listener_key key;
    std::uint64_t unless_reported_after_ns;
    jc_leave_reason reason;
  };
  std::vector<Call> calls;
  const char* name() const override { return "test"; }
  Result<void> attach(int) override { return success(); }
  Result<void> detach(int) override { return success(); }
  Result<std::vector<membership::loader::ListenerEntry>> listeners() const override { return std::vector<membership::loader::ListenerEntry>{}; }
  Result<std::vector<membership::loader::GroupEntry>> groups() const override { return std::vector<membership::loader::GroupEntry>{}; }
  Result<std::vector<membership::loader::QuerierEntry>> queriers() const override { return std::vector<membership::loader::QuerierEntry>{}; }
  Result<jc_counters> counters() const override { return jc_counters{}; }
  Result<ForgetOutcome> forget(const jc_listener_key& key, std::uint64_t after, jc_leave_reason reason) override {
    calls.push_back({key, after, reason});
    return ForgetOutcome::absent;
  }
  Result<bool> collect_group(const jc_group_key&, std::uint64_t) override { return false; }
};

// joincastd does not query here (another router does): the verification
// still runs, for the elected querier's queries to be answered.
membership::MembershipSection non_querier(unsigned count) {
  membership::MembershipSection config;
  config.querier = false;
  config.timers.last_listener_query_count = count;
  config.timers.last_listener_query_interval = 1ms;
  return config;
}

jc_event leave(std::uint8_t type, std::uint8_t host_last, std::uint64_t time_ns) {
  jc_event e{};
  e.type = type;
  e.time_ns = time_ns;
  e.ifindex = 7;
  e.reason = type == JC_EV_LISTENER_LEAVE ? JC_LEFT_REPORT : 0;
  const std::uint8_t group[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 239, 1, 2, 3};
  const std::uint8_t host[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, host_last};
  std::memcpy(e.group, group, 16);
  std::memcpy(e.host, host, 16);
  return e;
}

}  // namespace

TEST_CASE("an IGMPv2 Leave is verified for last_listener_query_count rounds, then the host is forgotten") {
  boost::asio::io_context io;
  Forgets backend;
  core::InterfaceTable interfaces;
  membership::Querier querier(io, non_querier(3), backend, interfaces);
  const jc_event e = leave(JC_EV_LEAVE_PENDING, 5, 1234);
  querier.on_leave_pending(e);
  CHECK(backend.calls.empty());  // not before the rounds
  // The first round runs at once, then one timer per round: 3 rounds, the
  // decision after the last one's interval.
  CHECK(io.run() == 3);
  REQUIRE(backend.calls.size() == 1);
  const auto& c = backend.calls[0];
  CHECK(c.key.ifindex == 7);
  CHECK(std::memcmp(c.key.group, e.group, 16) == 0);
  CHECK(std::memcmp(c.key.host, e.host, 16) == 0);
  CHECK(c.unless_reported_after_ns == 1234);  // a report since the leave keeps the host
  CHECK(c.reason == JC_LEFT_QUERY);
}

TEST_CASE("a repeated leave of the same host joins the running verification") {
  boost::asio::io_context io;
  Forgets backend;
  core::InterfaceTable interfaces;
  membership::Querier querier(io, non_querier(2), backend, interfaces);
  querier.on_leave_pending(leave(JC_EV_LEAVE_PENDING, 5, 1000));
  querier.on_leave_pending(leave(JC_EV_LEAVE_PENDING, 5, 2000));  // the host repeats its Leave
  querier.on_leave_pending(leave(JC_EV_LEAVE_PENDING, 6, 3000));  // another host: its own
  CHECK(io.run() == 4);
  REQUIRE(backend.calls.size() == 2);
  CHECK(backend.calls[0].key.host[15] == 5);
  CHECK(backend.calls[0].unless_reported_after_ns == 1000);
  CHECK(backend.calls[1].key.host[15] == 6);
}

TEST_CASE("after an explicit MLDv2/IGMPv3 leave a non-querier sends nothing and forgets nothing") {
  boost::asio::io_context io;
  Forgets backend;
  core::InterfaceTable interfaces;
  membership::Querier querier(io, non_querier(2), backend, interfaces);
  querier.add_interface(7, "br0");
  querier.on_explicit_leave(leave(JC_EV_LISTENER_LEAVE, 5, 1000));
  CHECK(io.run() == 0);  // no rounds: the elected querier sends the queries
  CHECK(backend.calls.empty());
  CHECK(querier.status().empty());
}

TEST_CASE("a querier without an address on the link sends no group-specific queries after an explicit leave") {
  boost::asio::io_context io;
  Forgets backend;
  core::InterfaceTable interfaces;  // no addresses: nothing to query from
  membership::MembershipSection config = non_querier(2);
  config.querier = true;
  config.query_ipv6 = false;
  membership::Querier querier(io, config, backend, interfaces);
  querier.add_interface(7, "br0");
  io.poll();  // the first general query finds no address
  auto s = querier.status();
  REQUIRE(s.size() == 1);
  CHECK(s[0]["role"] == "no-address");
  querier.on_explicit_leave(leave(JC_EV_LISTENER_LEAVE, 5, 1000));
  io.poll();
  CHECK(querier.status()[0]["group_queries_sent"] == 0);
  CHECK(backend.calls.empty());
}
