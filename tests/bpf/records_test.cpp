// records_test.cpp — the six group record types of MLDv2 and IGMPv3
// (RFC 3810 §5.2.12, RFC 3376 §4.2.12), with and without sources, on a new
// and on an existing listener, and listener counts going 0→1→2→1→0 with
// their events in order.
#include "daemon/membership/loader/membership_program.hpp"
#include "tests/bpf/frames.hpp"
#include "tests/bpf/harness.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace joincast::tests;

namespace {

// One address family's view: its hosts, group, source and report framing.
struct Family {
  const char* name;
  std::string host_a, host_b, group, group_b, source, source_b;
  Bytes (*report)(std::string_view, std::vector<GroupRecord>);
  std::uint8_t version;
};

const Family families[] = {
    {"MLDv2", std::string(host6_a), std::string(host6_b), std::string(group6), std::string(group6_b),
     "2001:db8::5", "2001:db8::6", mld2, JC_MLDV2},
    {"IGMPv3", std::string(host4_a), std::string(host4_b), std::string(group4), std::string(group4_b),
     "198.51.100.5", "198.51.100.6", igmp3, JC_IGMPV3},
};

jc_counters applied(std::uint64_t packets, std::uint64_t records, std::uint64_t skipped = 0) {
  jc_counters c{};
  c.packets = packets;
  c.messages = packets;
  c.reports = packets;
  c.records = records;
  c.records_skipped = skipped;
  return c;
}

}  // namespace

TEST_CASE("each record type on a host with no state") {
  struct Case {
    std::uint8_t type;
    bool with_source;
    bool joins;         // a listener appears
    std::uint8_t mode;  // its filter mode
    bool skipped;       // counted in records_skipped instead of records
  };
  // RFC 3810 §7.4 / RFC 3376 §6.4 from the router's side, per host.
  const Case cases[] = {
      {JC_REC_IS_IN, false, false, 0, false},  // INCLUDE({}): not listening
      {JC_REC_IS_IN, true, true, JC_MODE_INCLUDE, false},
      {JC_REC_IS_EX, false, true, JC_MODE_EXCLUDE, false},
      {JC_REC_IS_EX, true, true, JC_MODE_EXCLUDE, false},
      {JC_REC_TO_IN, false, false, 0, false},  // the MLDv2/IGMPv3 leave
      {JC_REC_TO_IN, true, true, JC_MODE_INCLUDE, false},
      {JC_REC_TO_EX, false, true, JC_MODE_EXCLUDE, false},
      {JC_REC_TO_EX, true, true, JC_MODE_EXCLUDE, false},
      {JC_REC_ALLOW, false, false, 0, true},  // allows nothing: meaningless
      {JC_REC_ALLOW, true, true, JC_MODE_INCLUDE, false},
      {JC_REC_BLOCK, false, false, 0, true},  // blocks nothing: meaningless
      {JC_REC_BLOCK, true, false, 0, false},  // blocks sources of nothing we know
  };
  // One program per family; each case names its own group, so it starts
  // from no state.
  for (const auto& f : families) {
    LoadedMembership m;
    std::size_t index = 0;
    for (const auto& c : cases) {
      ++index;
      INFO(std::string(f.name), " record ", std::string(joincast::daemon::membership::loader::record_name(c.type)),
           std::string(c.with_source ? "({S})" : "({})"));
      std::string group = f.version == JC_MLDV2 ? "ff3e::c:" + std::to_string(index) : "239.3.0." + std::to_string(index);
      std::vector<std::string_view> sources;
      if (c.with_source) sources.push_back(f.source);
      auto before = m.counters();
      m.run(f.report(f.host_a, {record(c.type, group, sources)}));

      jc_counters expected{};
      expected.packets = expected.messages = expected.reports = 1;
      (c.skipped ? expected.records_skipped : expected.records) = 1;
      check_counters(counters_delta(m.counters(), before), expected);
      auto l = m.listener(group, f.host_a);
      CHECK(l.has_value() == c.joins);
      if (c.joins && l) {
        CHECK(l->filter_mode == c.mode);
        CHECK(l->record_type == c.type);
        CHECK(l->sources == (c.with_source ? 1 : 0));
        CHECK(l->version == f.version);
        CHECK(m.group(group)->listeners == 1);
        check_events(m.events(), {{JC_EV_LISTENER_JOIN, group, f.host_a, 1}, {JC_EV_GROUP_UP, group, f.host_a, 1}});
      } else {
        CHECK(m.events().empty());
        CHECK_FALSE(m.group(group).has_value());
      }
    }
  }
}

TEST_CASE("records on an existing listener: refreshes and mode changes and leaves") {
  for (const auto& f : families) {
    INFO(std::string(f.name));
    LoadedMembership m;
    m.run(f.report(f.host_a, {record(JC_REC_TO_EX, f.group)}));
    auto joined = *m.listener(f.group, f.host_a);
    auto group_changed = m.group(f.group)->last_change_ns;
    m.events();

    // ALLOW in EXCLUDE mode lets more sources through: still EXCLUDE.
    m.run(f.report(f.host_a, {record(JC_REC_ALLOW, f.group, {f.source, f.source_b})}));
    auto l = *m.listener(f.group, f.host_a);
    CHECK(l.filter_mode == JC_MODE_EXCLUDE);
    CHECK(l.record_type == JC_REC_ALLOW);
    CHECK(l.sources == 2);
    CHECK(l.first_report_ns == joined.first_report_ns);
    CHECK(l.last_report_ns > joined.last_report_ns);
    CHECK(m.group(f.group)->listeners == 1);
    CHECK(m.group(f.group)->last_change_ns == group_changed);  // a refresh is no change

    // BLOCK in EXCLUDE mode blocks more sources and keeps listening:
    // a refresh, not a leave.
    auto before = l.last_report_ns;
    m.run(f.report(f.host_a, {record(JC_REC_BLOCK, f.group, {f.source})}));
    l = *m.listener(f.group, f.host_a);
    CHECK(l.filter_mode == JC_MODE_EXCLUDE);
    CHECK(l.leave_ns == 0);
    CHECK(l.last_report_ns > before);
    CHECK(l.record_type == JC_REC_BLOCK);
    CHECK(m.events().empty());

    // TO_IN({S}) switches to INCLUDE.
    m.run(f.report(f.host_a, {record(JC_REC_TO_IN, f.group, {f.source})}));
    l = *m.listener(f.group, f.host_a);
    CHECK(l.filter_mode == JC_MODE_INCLUDE);
    CHECK(l.sources == 1);

    // ALLOW in INCLUDE mode stays INCLUDE.
    m.run(f.report(f.host_a, {record(JC_REC_ALLOW, f.group, {f.source_b})}));
    CHECK(m.listener(f.group, f.host_a)->filter_mode == JC_MODE_INCLUDE);

    // BLOCK in INCLUDE mode may have emptied the source list: the leave
    // must be verified with a query (RFC 3810 §7.4.2, RFC 3376 §6.4.2).
    m.run(f.report(f.host_a, {record(JC_REC_BLOCK, f.group, {f.source})}));
    l = *m.listener(f.group, f.host_a);
    CHECK(l.leave_ns >= l.last_report_ns);
    CHECK(l.filter_mode == JC_MODE_INCLUDE);
    CHECK(m.group(f.group)->listeners == 1);
    auto ev = m.events();
    check_events(ev, {{JC_EV_LEAVE_PENDING, f.group, f.host_a, 1}});
    CHECK(ev[0].record_type == JC_REC_BLOCK);
    CHECK(ev[0].filter_mode == JC_MODE_INCLUDE);

    // IS_IN({S}) answers the query: leave off.
    m.run(f.report(f.host_a, {record(JC_REC_IS_IN, f.group, {f.source_b})}));
    CHECK(m.listener(f.group, f.host_a)->leave_ns == 0);

    // TO_EX({}) back to EXCLUDE.
    m.run(f.report(f.host_a, {record(JC_REC_TO_EX, f.group)}));
    CHECK(m.listener(f.group, f.host_a)->filter_mode == JC_MODE_EXCLUDE);
    CHECK(m.events().empty());

    // IS_IN({}): in INCLUDE mode with nothing included, the host is gone.
    m.run(f.report(f.host_a, {record(JC_REC_IS_IN, f.group)}));
    CHECK_FALSE(m.listener(f.group, f.host_a).has_value());
    ev = m.events();
    check_events(ev, {{JC_EV_LISTENER_LEAVE, f.group, f.host_a, 0}, {JC_EV_GROUP_DOWN, f.group, f.host_a, 0}});
    CHECK(ev[0].reason == JC_LEFT_REPORT);
    CHECK(ev[0].filter_mode == JC_MODE_EXCLUDE);  // the mode it left from
    CHECK(ev[0].record_type == JC_REC_IS_IN);
    CHECK(ev[1].reason == JC_LEFT_REPORT);
    // The group stays, empty, until userspace collects it.
    CHECK(m.group(f.group)->listeners == 0);
    check_counters(m.counters(), applied(9, 9));
  }
}

TEST_CASE("listener counts go 0 -> 1 -> 2 -> 1 -> 0 with events in order") {
  for (const auto& f : families) {
    INFO(std::string(f.name));
    LoadedMembership m;
    auto count = [&] { return m.group(f.group)->listeners; };

    m.run(f.report(f.host_a, {record(JC_REC_TO_EX, f.group)}));
    CHECK(count() == 1);
    auto first_join = m.group(f.group)->first_join_ns;
    m.run(f.report(f.host_b, {record(JC_REC_TO_EX, f.group)}));
    CHECK(count() == 2);
    CHECK(m.group(f.group)->first_join_ns == first_join);
    CHECK(m.group(f.group)->last_change_ns > first_join);
    m.run(f.report(f.host_a, {record(JC_REC_TO_IN, f.group)}));
    CHECK(count() == 1);
    m.run(f.report(f.host_b, {record(JC_REC_TO_IN, f.group)}));
    CHECK(count() == 0);
    CHECK(m.listener_count() == 0);

    check_events(m.events(), {
                                 {JC_EV_LISTENER_JOIN, f.group, f.host_a, 1},
                                 {JC_EV_GROUP_UP, f.group, f.host_a, 1},
                                 {JC_EV_LISTENER_JOIN, f.group, f.host_b, 2},
                                 {JC_EV_LISTENER_LEAVE, f.group, f.host_a, 1},
                                 {JC_EV_LISTENER_LEAVE, f.group, f.host_b, 0},
                                 {JC_EV_GROUP_DOWN, f.group, f.host_b, 0},
                             });

    // Up again: first_join_ns is the time of this 0 -> 1.
    m.run(f.report(f.host_b, {record(JC_REC_IS_EX, f.group)}));
    CHECK(count() == 1);
    CHECK(m.group(f.group)->first_join_ns > first_join);
    check_events(m.events(), {{JC_EV_LISTENER_JOIN, f.group, f.host_b, 1}, {JC_EV_GROUP_UP, f.group, f.host_b, 1}});
    // A second leave of a host already gone changes nothing.
    m.run(f.report(f.host_a, {record(JC_REC_TO_IN, f.group)}));
    CHECK(count() == 1);
    CHECK(m.events().empty());
    check_counters(m.counters(), applied(6, 6));
  }
}

TEST_CASE("several records in one report apply in order with aux data skipped") {
  for (const auto& f : families) {
    INFO(std::string(f.name));
    LoadedMembership m;
    auto with_aux = record(JC_REC_IS_EX, f.group, {f.source});
    with_aux.aux_words = 2;
    m.run(f.report(f.host_a, {with_aux, record(JC_REC_IS_IN, f.group_b, {f.source, f.source_b})}));
    CHECK(m.listener(f.group, f.host_a)->filter_mode == JC_MODE_EXCLUDE);
    auto b = m.listener(f.group_b, f.host_a);
    REQUIRE(b.has_value());
    CHECK(b->filter_mode == JC_MODE_INCLUDE);
    CHECK(b->sources == 2);
    check_events(m.events(), {{JC_EV_LISTENER_JOIN, f.group, f.host_a, 1},
                              {JC_EV_GROUP_UP, f.group, f.host_a, 1},
                              {JC_EV_LISTENER_JOIN, f.group_b, f.host_a, 1},
                              {JC_EV_GROUP_UP, f.group_b, f.host_a, 1}});

    // Leave one, join the other again, in one report: the state changes
    // of RFC 3810 §6.1 arrive together.
    m.run(f.report(f.host_a, {record(JC_REC_TO_IN, f.group), record(JC_REC_TO_EX, f.group_b)}));
    CHECK_FALSE(m.listener(f.group, f.host_a).has_value());
    CHECK(m.listener(f.group_b, f.host_a)->filter_mode == JC_MODE_EXCLUDE);
    check_events(m.events(), {{JC_EV_LISTENER_LEAVE, f.group, f.host_a, 0}, {JC_EV_GROUP_DOWN, f.group, f.host_a, 0}});
    check_counters(m.counters(), applied(2, 4));
  }
}

TEST_CASE("records the program does not apply are skipped and the rest of the report still counts") {
  for (const auto& f : families) {
    INFO(std::string(f.name));
    LoadedMembership m;
    bool v6 = f.version == JC_MLDV2;
    m.run(f.report(f.host_a, {
                                 record(0, f.group),                              // no such type
                                 record(7, f.group),                              // no such type
                                 record(JC_REC_TO_EX, v6 ? "2001:db8::9" : "10.0.0.9"),  // not multicast
                                 record(JC_REC_ALLOW, f.group),                   // ALLOW({})
                                 record(JC_REC_TO_EX, f.group),                   // the one that counts
                             }));
    check_counters(m.counters(), applied(1, 1, 4));
    CHECK(m.listener_count() == 1);
    CHECK(m.listener(f.group, f.host_a).has_value());
  }
}
