// listener_table_test.cpp — the fallback backend's membership rules: the
// same outcomes bpf/membership.bpf.c gives (tests/bpf checks those).
#include "daemon/membership/listener_table.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>

using namespace joincast::daemon;
using joincast::Address16;

namespace {

Address16 addr(const char* text) { return *membership::loader::parse_address(text); }

struct Fixture {
  std::vector<jc_event> events;
  membership::ListenerTable table{[this](const jc_event& e) { events.push_back(e); }, false, membership::ListenerTable::Quotas{}};
  std::uint64_t now = 1'000'000'000;

  membership::ListenerTable::Origin from(const char* host, std::uint8_t version = JC_MLDV2, std::uint32_t ifindex = 7) {
    now += 1'000'000;
    return {now, ifindex, addr(host), version, 0};
  }
  std::vector<std::pair<std::uint8_t, std::uint32_t>> seq() const {
    std::vector<std::pair<std::uint8_t, std::uint32_t>> out;
    for (const auto& e : events) out.emplace_back(e.type, e.listeners);
    return out;
  }
  std::uint32_t count(const char* group) {
    for (const auto& g : table.groups())
      if (membership::loader::format_address(g.key.group) == group) return g.value.listeners;
    return 0;
  }
};

const char* G = "ff3e:40:2001:db8:d0be:f00d:8000:0";

}  // namespace

TEST_CASE("joins and leaves count 0-1-2-1-0 with events in order") {
  Fixture f;
  f.table.apply(f.from("fe80::1"), {JC_REC_TO_EX, addr(G), 0});
  f.table.apply(f.from("fe80::1"), {JC_REC_IS_EX, addr(G), 0});  // a refresh: no event
  f.table.apply(f.from("fe80::2"), {JC_REC_TO_EX, addr(G), 0});
  CHECK(f.count(G) == 2);
  f.table.apply(f.from("fe80::1"), {JC_REC_TO_IN, addr(G), 0});
  f.table.apply(f.from("fe80::2"), {JC_REC_IS_IN, addr(G), 0});
  CHECK(f.count(G) == 0);
  using P = std::pair<std::uint8_t, std::uint32_t>;
  CHECK(f.seq() == std::vector<P>{{JC_EV_LISTENER_JOIN, 1}, {JC_EV_GROUP_UP, 1}, {JC_EV_LISTENER_JOIN, 2},
                                  {JC_EV_LISTENER_LEAVE, 1}, {JC_EV_LISTENER_LEAVE, 0}, {JC_EV_GROUP_DOWN, 0}});
}

TEST_CASE("INCLUDE with sources is a join and ALLOW keeps EXCLUDE mode") {
  Fixture f;
  f.table.apply(f.from("fe80::1"), {JC_REC_IS_IN, addr(G), 2});
  REQUIRE(f.table.listeners().size() == 1);
  CHECK(f.table.listeners()[0].value.filter_mode == JC_MODE_INCLUDE);
  f.table.apply(f.from("fe80::2"), {JC_REC_TO_EX, addr(G), 0});
  f.table.apply(f.from("fe80::2"), {JC_REC_ALLOW, addr(G), 1});
  for (const auto& l : f.table.listeners())
    if (membership::loader::format_address(l.key.host) == "fe80::2") CHECK(l.value.filter_mode == JC_MODE_EXCLUDE);
  CHECK(f.count(G) == 2);
}

TEST_CASE("a v1 leave only marks the host and forget completes it unless it reported again") {
  Fixture f;
  f.table.apply(f.from("10.0.0.1", JC_IGMPV2), {JC_REC_V1_REPORT, addr("239.1.1.1"), 0});
  auto leave = f.from("10.0.0.1", JC_IGMPV2);
  f.table.apply(leave, {JC_REC_V1_LEAVE, addr("239.1.1.1"), 0});
  CHECK(f.count("239.1.1.1") == 1);
  CHECK(f.events.back().type == JC_EV_LEAVE_PENDING);
  auto l = f.table.listeners()[0];
  CHECK(l.value.leave_ns == leave.now_ns);

  // It answered the group-specific query: kept.
  f.table.apply(f.from("10.0.0.1", JC_IGMPV2), {JC_REC_V1_REPORT, addr("239.1.1.1"), 0});
  CHECK(f.table.forget(l.key, leave.now_ns, JC_LEFT_QUERY, f.now) == membership::MembershipBackend::ForgetOutcome::kept);
  CHECK(f.table.listeners()[0].value.leave_ns == 0);
  // Silent after a second leave: forgotten, with the reason.
  auto again = f.from("10.0.0.1", JC_IGMPV2);
  f.table.apply(again, {JC_REC_V1_LEAVE, addr("239.1.1.1"), 0});
  CHECK(f.table.forget(l.key, again.now_ns, JC_LEFT_QUERY, f.now) == membership::MembershipBackend::ForgetOutcome::forgotten);
  CHECK(f.count("239.1.1.1") == 0);
  CHECK(f.events[f.events.size() - 2].reason == JC_LEFT_QUERY);
  CHECK(f.events.back().type == JC_EV_GROUP_DOWN);
}

TEST_CASE("BLOCK is a pending leave for INCLUDE listeners and a refresh for EXCLUDE ones") {
  Fixture f;
  f.table.apply(f.from("fe80::1"), {JC_REC_IS_IN, addr(G), 1});
  f.table.apply(f.from("fe80::2"), {JC_REC_IS_EX, addr(G), 0});
  f.events.clear();
  f.table.apply(f.from("fe80::1"), {JC_REC_BLOCK, addr(G), 1});
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].type == JC_EV_LEAVE_PENDING);
  f.events.clear();
  f.table.apply(f.from("fe80::2"), {JC_REC_BLOCK, addr(G), 1});
  CHECK(f.events.empty());
  CHECK(f.table.apply(f.from("fe80::3"), {JC_REC_BLOCK, addr(G), 1}));  // not a listener: understood, no event
  CHECK(f.events.empty());
  CHECK_FALSE(f.table.apply(f.from("fe80::2"), {JC_REC_ALLOW, addr(G), 0}));  // nothing to allow
}

TEST_CASE("a v1 leave from an unknown host is queried only if the group has members") {
  Fixture f;
  f.table.apply(f.from("10.0.0.9", JC_IGMPV2), {JC_REC_V1_LEAVE, addr("239.1.1.1"), 0});
  CHECK(f.events.empty());
  f.table.apply(f.from("10.0.0.1", JC_IGMPV2), {JC_REC_V1_REPORT, addr("239.1.1.1"), 0});
  f.events.clear();
  f.table.apply(f.from("10.0.0.9", JC_IGMPV2), {JC_REC_V1_LEAVE, addr("239.1.1.1"), 0});
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0].type == JC_EV_LEAVE_PENDING);
  CHECK(f.events[0].listeners == 1);
}

TEST_CASE("link-scope and non-multicast groups are skipped unless asked for") {
  Fixture f;
  CHECK_FALSE(f.table.apply(f.from("fe80::1"), {JC_REC_IS_EX, addr("ff02::1:ff00:1"), 0}));
  CHECK_FALSE(f.table.apply(f.from("10.0.0.1", JC_IGMPV3), {JC_REC_IS_EX, addr("224.0.0.251"), 0}));
  CHECK_FALSE(f.table.apply(f.from("10.0.0.1", JC_IGMPV3), {JC_REC_IS_EX, addr("10.1.1.1"), 0}));
  CHECK(f.table.counters().records_skipped == 3);
  CHECK(membership::group_trackable(addr("ff02::fb"), true));
  CHECK_FALSE(membership::group_trackable(addr("ff01::1"), true));
}

TEST_CASE("forget honours unless_reported_after and empty groups are collected only when idle") {
  Fixture f;
  auto join = f.from("fe80::1");
  f.table.apply(join, {JC_REC_IS_EX, addr(G), 0});
  auto key = f.table.listeners()[0].key;
  CHECK(f.table.forget(key, join.now_ns - 1, JC_LEFT_TIMEOUT, f.now) == membership::MembershipBackend::ForgetOutcome::kept);
  CHECK(f.table.forget(key, join.now_ns, JC_LEFT_TIMEOUT, f.now) == membership::MembershipBackend::ForgetOutcome::forgotten);
  CHECK(f.table.forget(key, join.now_ns, JC_LEFT_TIMEOUT, f.now) == membership::MembershipBackend::ForgetOutcome::absent);
  auto gkey = f.table.groups()[0].key;
  CHECK_FALSE(f.table.collect_group(gkey, f.now - 1));
  CHECK(f.table.collect_group(gkey, f.now));
  CHECK(f.table.groups().empty());
}

TEST_CASE("group quotas per host and per interface, as the BPF program's") {
  std::vector<jc_event> events;
  membership::ListenerTable table{[&](const jc_event& e) { events.push_back(e); }, false, membership::ListenerTable::Quotas{2, 3}};
  std::uint64_t now = 1'000'000'000;
  auto from = [&](const char* host, std::uint32_t ifindex = 7) {
    now += 1'000'000;
    return membership::ListenerTable::Origin{now, ifindex, addr(host), JC_MLDV2, 0};
  };
  CHECK(table.apply(from("fe80::1"), {JC_REC_TO_EX, addr("ff3e::1"), 0}));
  CHECK(table.apply(from("fe80::1"), {JC_REC_TO_EX, addr("ff3e::2"), 0}));
  CHECK_FALSE(table.apply(from("fe80::1"), {JC_REC_TO_EX, addr("ff3e::3"), 0}));
  CHECK(table.counters().host_quota == 1);
  CHECK(table.apply(from("fe80::1"), {JC_REC_IS_EX, addr("ff3e::1"), 0}));  // a refresh costs nothing
  CHECK(table.apply(from("fe80::2"), {JC_REC_TO_EX, addr("ff3e::3"), 0}));
  CHECK_FALSE(table.apply(from("fe80::2"), {JC_REC_TO_EX, addr("ff3e::4"), 0}));  // interface 7 holds 3
  CHECK(table.counters().interface_quota == 1);
  CHECK(table.apply(from("fe80::2", 8), {JC_REC_TO_EX, addr("ff3e::4"), 0}));
  // A leave and an ageing give groups back.
  CHECK(table.apply(from("fe80::1"), {JC_REC_TO_IN, addr("ff3e::1"), 0}));
  CHECK(table.apply(from("fe80::2"), {JC_REC_TO_EX, addr("ff3e::4"), 0}));
  jc_listener_key key{};
  key.ifindex = 7;
  std::memcpy(key.group, addr("ff3e::2").data(), 16);
  std::memcpy(key.host, addr("fe80::1").data(), 16);
  CHECK(table.forget(key, now, JC_LEFT_TIMEOUT, now) == membership::MembershipBackend::ForgetOutcome::forgotten);
  CHECK(table.apply(from("fe80::1"), {JC_REC_TO_EX, addr("ff3e::5"), 0}));
  CHECK(table.listeners().size() == 4);
}
