// querier_intervals_test.cpp — a non-querier's listener interval and other
// querier timeout follow the querier it hears (RFC 3376 §4.1.6-7 and §8.4-8.5,
// RFC 3810 §5.1.9-10 and §9.4-9.5), never dropping below the configured ones.
#include "daemon/membership/querier.hpp"

#include "daemon/membership/loader/membership_program.hpp"

#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <sys/socket.h>

using namespace joincast;
using namespace joincast::daemon;
using namespace std::chrono_literals;

namespace {

jc_querier heard(unsigned qrv, unsigned qqi_s, unsigned max_resp_ms) {
  jc_querier q{};
  q.qrv = static_cast<std::uint8_t>(qrv);
  q.qqi_s = qqi_s;
  q.max_resp_ms = max_resp_ms;
  return q;
}

// The short timers of the netns tests: listener interval 2 × 2 s + 1 s.
membership::MembershipTimers short_timers() {
  membership::MembershipTimers t;
  t.query_interval = 2s;
  t.query_response_interval = 1s;
  t.listener_interval = 5s;
  t.other_querier_timeout = 4500ms;
  return t;
}

// A backend that holds only what queries were heard.
class HeardQueries : public membership::MembershipBackend {
 public:
  std::vector<membership::loader::QuerierEntry> heard;
  const char* name() const override { return "test"; }
  Result<void> attach(int) override { return success(); }
  Result<void> detach(int) override { return success(); }
  Result<std::vector<membership::loader::ListenerEntry>> listeners() const override { return std::vector<membership::loader::ListenerEntry>{}; }
  Result<std::vector<membership::loader::GroupEntry>> groups() const override { return std::vector<membership::loader::GroupEntry>{}; }
  Result<std::vector<membership::loader::QuerierEntry>> queriers() const override { return heard; }
  Result<jc_counters> counters() const override { return jc_counters{}; }
  Result<ForgetOutcome> forget(const jc_listener_key&, std::uint64_t, jc_leave_reason) override {
    return ForgetOutcome::absent;
  }
  Result<bool> collect_group(const jc_group_key&, std::uint64_t) override { return false; }
};

}  // namespace

TEST_CASE("where joincastd does not query, the querier heard on the link sets the listener interval") {
  boost::asio::io_context io;
  membership::MembershipSection config;
  config.querier = false;
  config.timers = short_timers();
  HeardQueries backend;
  core::InterfaceTable interfaces;
  membership::Querier querier(io, config, backend, interfaces);
  querier.add_interface(7, "br0");  // no port: querier = false
  CHECK(querier.listener_interval(7, AF_INET) == 5s);

  membership::loader::QuerierEntry q{};
  q.key.ifindex = 7;
  q.key.family = AF_INET;
  q.value = heard(2, 1, 10'000);
  q.value.last_seen_ns = membership::loader::monotonic_ns();
  backend.heard.push_back(q);
  CHECK(querier.listener_interval(7, AF_INET) == 12s);
  CHECK(querier.listener_interval(7, AF_INET6) == 5s);  // heard for IPv4 only
  CHECK(querier.listener_interval(8, AF_INET) == 5s);   // on another interface

  // Silent for longer than its other-querier timeout (7 s): gone.
  backend.heard[0].value.last_seen_ns = membership::loader::monotonic_ns() - 8'000'000'000ull;
  CHECK(querier.listener_interval(7, AF_INET) == 5s);
}

TEST_CASE("a querier that lets hosts answer later than our timers stretches the listener interval") {
  // A Linux bridge querier: QRV 2, query every second, 10 s to answer.
  auto a = membership::adopted_intervals(short_timers(), heard(2, 1, 10'000));
  CHECK(a.listener_interval == 12s);      // 2 × 1 s + 10 s
  CHECK(a.other_querier_timeout == 7s);   // 2 × 1 s + 10 s / 2
}

TEST_CASE("a querier that queries less often than ours is not mistaken for gone") {
  membership::MembershipTimers defaults;  // 2 × 125 s + 10 s
  auto a = membership::adopted_intervals(defaults, heard(2, 300, 10'000));
  CHECK(a.listener_interval == 610s);
  CHECK(a.other_querier_timeout == 605s);
  auto robust = membership::adopted_intervals(defaults, heard(7, 125, 10'000));
  CHECK(robust.listener_interval == 885s);  // 7 × 125 s + 10 s
}

TEST_CASE("a faster querier never shortens the configured intervals") {
  membership::MembershipTimers defaults;
  auto a = membership::adopted_intervals(defaults, heard(2, 10, 1'000));
  CHECK(a.listener_interval == defaults.listener_interval);
  CHECK(a.other_querier_timeout == defaults.other_querier_timeout);
}

TEST_CASE("a v1/v2 query carries no QRV or QQI: ours stand in, its response delay still counts") {
  auto t = short_timers();
  auto a = membership::adopted_intervals(t, heard(0, 0, 10'000));
  CHECK(a.listener_interval == 14s);  // 2 × 2 s (ours) + 10 s (its)
  CHECK(a.other_querier_timeout == 9s);
  auto quick = membership::adopted_intervals(t, heard(0, 0, 500));
  CHECK(quick.listener_interval == t.listener_interval);
}
