// syscall_test.cpp — the two programs userspace changes membership
// state with, through MembershipProgram::forget and ::collect_group:
// aging out, completing a verified leave, and deleting empty groups.
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/frames.hpp"
#include "tests/bpf/harness.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace joincast::tests;
using joincast::daemon::membership::loader::MembershipProgram;
using joincast::daemon::membership::loader::monotonic_ns;
using Outcome = MembershipProgram::ForgetOutcome;

namespace {

jc_listener_key listener_key(std::string_view group, std::string_view host, std::uint32_t ifindex = test_ifindex) {
  jc_listener_key key{};
  key.ifindex = ifindex;
  auto g = addr(group), h = addr(host);
  std::memcpy(key.group, g.data(), JC_ADDR_LEN);
  std::memcpy(key.host, h.data(), JC_ADDR_LEN);
  return key;
}

jc_group_key group_key(std::string_view group) {
  jc_group_key key{};
  auto g = addr(group);
  std::memcpy(key.group, g.data(), JC_ADDR_LEN);
  return key;
}

Outcome forget(LoadedMembership& m, std::string_view group, std::string_view host, std::uint64_t unless_after,
               jc_leave_reason reason) {
  auto r = m.program().forget(listener_key(group, host), unless_after, reason);
  REQUIRE(r.has_value());
  return r.value();
}

bool collect(LoadedMembership& m, std::string_view group, std::uint64_t idle_since) {
  auto r = m.program().collect_group(group_key(group), idle_since);
  REQUIRE(r.has_value());
  return r.value();
}

}  // namespace

TEST_CASE("jc_forget ages listeners out: leave and then group down with the last") {
  LoadedMembership m;
  m.run(PacketBuilder().vlan(5).ipv6(host6_a, "ff02::16").mld_v2_report({record(JC_REC_TO_EX, group6)}).build());
  m.run(mld2(host6_b, {record(JC_REC_TO_EX, group6)}));
  m.events();

  CHECK(forget(m, group6, host6_a, monotonic_ns(), JC_LEFT_TIMEOUT) == Outcome::forgotten);
  CHECK_FALSE(m.listener(group6, host6_a).has_value());
  CHECK(m.group(group6)->listeners == 1);
  auto ev = m.events();
  check_events(ev, {{JC_EV_LISTENER_LEAVE, std::string(group6), std::string(host6_a), 1}});
  CHECK(ev[0].reason == JC_LEFT_TIMEOUT);
  CHECK(ev[0].ifindex == test_ifindex);
  CHECK(ev[0].version == JC_MLDV2);
  CHECK(ev[0].vlan == 5);
  CHECK(ev[0].filter_mode == JC_MODE_EXCLUDE);

  CHECK(forget(m, group6, host6_b, monotonic_ns(), JC_LEFT_ADMIN) == Outcome::forgotten);
  ev = m.events();
  check_events(ev, {{JC_EV_LISTENER_LEAVE, std::string(group6), std::string(host6_b), 0},
                    {JC_EV_GROUP_DOWN, std::string(group6), std::string(host6_b), 0}});
  CHECK(ev[1].reason == JC_LEFT_ADMIN);
  CHECK(m.group(group6)->listeners == 0);

  CHECK(forget(m, group6, host6_b, monotonic_ns(), JC_LEFT_TIMEOUT) == Outcome::absent);
  CHECK(m.events().empty());
  // The TC program's counters are not jc_forget's business.
  CHECK(m.counters().records == 2);
}

TEST_CASE("jc_forget keeps a listener that reported after the decision") {
  LoadedMembership m;
  m.run(igmp3(host4_a, {record(JC_REC_TO_EX, group4)}));
  m.events();
  auto reported = m.listener(group4, host4_a)->last_report_ns;

  CHECK(forget(m, group4, host4_a, reported - 1, JC_LEFT_TIMEOUT) == Outcome::kept);
  CHECK(m.listener(group4, host4_a).has_value());
  CHECK(m.group(group4)->listeners == 1);
  CHECK(m.events().empty());

  // Reported exactly at the cut-off: not after it, so forgotten.
  CHECK(forget(m, group4, host4_a, reported, JC_LEFT_TIMEOUT) == Outcome::forgotten);
  CHECK_FALSE(m.listener(group4, host4_a).has_value());
  check_events(m.events(), {{JC_EV_LISTENER_LEAVE, std::string(group4), std::string(host4_a), 0},
                            {JC_EV_GROUP_DOWN, std::string(group4), std::string(host4_a), 0}});
}

TEST_CASE("a v1 leave is completed by jc_forget unless a report answered the query") {
  LoadedMembership m;
  m.run(PacketBuilder().ipv6(host6_a, group6).mld_v1_report(group6).build());
  m.run(PacketBuilder().ipv6(host6_a, "ff02::2").mld_v1_done(group6).build());
  auto l = m.listener(group6, host6_a);
  REQUIRE(l.has_value());
  REQUIRE(l->leave_ns != 0);
  check_events(m.events(), {{JC_EV_LISTENER_JOIN, std::string(group6), std::string(host6_a), 1},
                            {JC_EV_GROUP_UP, std::string(group6), std::string(host6_a), 1},
                            {JC_EV_LEAVE_PENDING, std::string(group6), std::string(host6_a), 1}});

  // Userspace queried and nobody answered (RFC 2710 §4): forget it, but
  // only if nothing was heard since the Done.
  CHECK(forget(m, group6, host6_a, l->leave_ns, JC_LEFT_QUERY) == Outcome::forgotten);
  auto ev = m.events();
  check_events(ev, {{JC_EV_LISTENER_LEAVE, std::string(group6), std::string(host6_a), 0},
                    {JC_EV_GROUP_DOWN, std::string(group6), std::string(host6_a), 0}});
  CHECK(ev[0].reason == JC_LEFT_QUERY);
  CHECK(ev[0].version == JC_MLDV1);

  // Same again, but the host answers the query before userspace decides.
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build());
  m.run(PacketBuilder().ipv4(host4_a, "224.0.0.2").igmp_v2_leave(group4).build());
  auto leave_ns = m.listener(group4, host4_a)->leave_ns;
  REQUIRE(leave_ns != 0);
  m.run(PacketBuilder().ipv4(host4_a, group4).igmp_v2_report(group4).build());
  CHECK(m.listener(group4, host4_a)->leave_ns == 0);
  m.events();
  CHECK(forget(m, group4, host4_a, leave_ns, JC_LEFT_QUERY) == Outcome::kept);
  CHECK(m.group(group4)->listeners == 1);
  CHECK(m.events().empty());
}

TEST_CASE("jc_collect_group deletes only empty groups idle since the cut-off") {
  LoadedMembership m;
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, group6), record(JC_REC_TO_EX, group6_b)}));
  m.run(mld2(host6_a, {record(JC_REC_TO_IN, group6)}));
  auto emptied = m.group(group6)->last_change_ns;
  m.events();

  // Has a listener.
  CHECK_FALSE(collect(m, group6_b, monotonic_ns()));
  CHECK(m.group(group6_b).has_value());
  // Empty, but changed after the cut-off.
  CHECK_FALSE(collect(m, group6, emptied - 1));
  CHECK(m.group(group6).has_value());
  // Empty and idle.
  CHECK(collect(m, group6, emptied));
  CHECK_FALSE(m.group(group6).has_value());
  CHECK(m.group_count() == 1);
  // Gone already.
  CHECK_FALSE(collect(m, group6, monotonic_ns()));
  CHECK(m.events().empty());

  // A join after the collection creates the group afresh.
  m.run(mld2(host6_b, {record(JC_REC_TO_EX, group6)}));
  auto g = m.group(group6);
  REQUIRE(g.has_value());
  CHECK(g->listeners == 1);
  CHECK(g->dead == 0);
  CHECK(g->first_join_ns > emptied);
  check_events(m.events(), {{JC_EV_LISTENER_JOIN, std::string(group6), std::string(host6_b), 1},
                            {JC_EV_GROUP_UP, std::string(group6), std::string(host6_b), 1}});
}
