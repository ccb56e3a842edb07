// quota_test.cpp — membership.max_groups_per_host and
// max_groups_per_interface in the membership program: a host beyond its
// quota is refused and counted while other hosts still join, leaves and
// ageing give groups back, refreshes cost nothing, and 0 means no quota.
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/frames.hpp"
#include "tests/bpf/harness.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace joincast::tests;
using joincast::daemon::membership::loader::MembershipProgram;
using joincast::daemon::membership::loader::monotonic_ns;

namespace {

std::string group_n(int n) { return "239.9.0." + std::to_string(n); }

std::vector<GroupRecord> joins(int from, int to, std::uint8_t type = JC_REC_TO_EX) {
  std::vector<GroupRecord> out;
  for (int n = from; n < to; ++n) out.push_back(record(type, group_n(n)));
  return out;
}

MembershipProgram::Options quotas(std::uint32_t per_host, std::uint32_t per_interface) {
  MembershipProgram::Options o;
  o.max_groups_per_host = per_host;
  o.max_groups_per_interface = per_interface;
  return o;
}

std::size_t listeners_of(LoadedMembership& m, std::string_view host) {
  std::size_t n = 0;
  for (int g = 0; g < 64; ++g)
    if (m.listener(group_n(g), host)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a host beyond max_groups_per_host is refused and counted while another host still joins") {
  LoadedMembership m(quotas(3, 0));
  m.run(igmp3(host4_a, joins(0, 5)));
  CHECK(listeners_of(m, host4_a) == 3);
  auto c = m.counters();
  CHECK(c.host_quota == 2);
  CHECK(c.records == 3);
  CHECK(c.records_skipped == 2);
  CHECK(c.groups_full == 0);
  // Refreshing what it holds costs no quota.
  m.run(igmp3(host4_a, joins(0, 3, JC_REC_IS_EX)));
  CHECK(m.counters().host_quota == 2);
  // Another host has its own quota, also for the groups host a holds.
  m.run(igmp3(host4_b, joins(3, 6)));
  CHECK(listeners_of(m, host4_b) == 3);
  CHECK(m.counters().host_quota == 2);
  // The same host on another interface is another (interface, host).
  m.run(igmp3(host4_a, joins(10, 12)), test_ifindex + 1);
  CHECK(m.listener(group_n(10), host4_a, test_ifindex + 1).has_value());
}

TEST_CASE("leaving and ageing give a host's groups back") {
  LoadedMembership m(quotas(2, 0));
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff3e::1"), record(JC_REC_TO_EX, "ff3e::2")}));
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff3e::3")}));
  CHECK(m.counters().host_quota == 1);
  CHECK_FALSE(m.listener("ff3e::3", host6_a).has_value());
  // An explicit leave (TO_IN({})) frees one.
  m.run(mld2(host6_a, {record(JC_REC_TO_IN, "ff3e::1")}));
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff3e::3")}));
  CHECK(m.listener("ff3e::3", host6_a).has_value());
  CHECK(m.counters().host_quota == 1);
  // Ageing out through jc_forget frees one too.
  jc_listener_key key{};
  key.ifindex = test_ifindex;
  auto g = addr("ff3e::2"), h = addr(host6_a);
  std::memcpy(key.group, g.data(), JC_ADDR_LEN);
  std::memcpy(key.host, h.data(), JC_ADDR_LEN);
  auto r = m.program().forget(key, monotonic_ns(), JC_LEFT_TIMEOUT);
  REQUIRE(r.has_value());
  CHECK(r.value() == MembershipProgram::ForgetOutcome::forgotten);
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff3e::4")}));
  CHECK(m.listener("ff3e::4", host6_a).has_value());
  CHECK(m.counters().host_quota == 1);
  // At the quota again.
  m.run(mld2(host6_a, {record(JC_REC_TO_EX, "ff3e::5")}));
  CHECK(m.counters().host_quota == 2);
}

TEST_CASE("max_groups_per_interface bounds all hosts of one interface, not the others") {
  LoadedMembership m(quotas(0, 4));
  m.run(igmp3(host4_a, joins(0, 3)));
  m.run(igmp3(host4_b, joins(3, 6)));
  CHECK(listeners_of(m, host4_a) == 3);
  CHECK(listeners_of(m, host4_b) == 1);
  CHECK(m.counters().interface_quota == 2);
  CHECK(m.counters().host_quota == 0);
  m.run(igmp3(host4_b, joins(6, 9)), test_ifindex + 1);
  CHECK(m.listener_count() == 7);
  CHECK(m.counters().interface_quota == 2);
  // A leave on the full interface makes room there.
  m.run(igmp3(host4_a, {record(JC_REC_TO_IN, group_n(0))}));
  m.run(igmp3(host4_b, joins(4, 5)));
  CHECK(m.listener(group_n(4), host4_b).has_value());
}

TEST_CASE("without quotas one host may hold every group the map takes") {
  LoadedMembership m(quotas(0, 0));
  m.run(igmp3(host4_a, joins(0, 40)));
  CHECK(listeners_of(m, host4_a) == 40);
  auto c = m.counters();
  CHECK(c.host_quota == 0);
  CHECK(c.interface_quota == 0);
}
