// session_manager_test.cpp — the session state machine on a fake clock with
// fake media (session_fakes.hpp): grace on the last leave, retry with
// backoff, the start timeout, sessions.max_sessions and sessions.limits,
// and the policy rules dvb, internet and all.
#include "session_fakes.hpp"

#include "daemon/sessions/session_policy.hpp"

using namespace joincast::daemon;
using namespace joincast::daemon::sessions;
using namespace joincast::daemon::testing;

namespace {

const std::string kRadio = "ff3e:40:2001:db8:d0be:f00d:8000:1";
const std::string kRadio2 = "ff3e:40:2001:db8:d0be:f00d:8000:2";
const std::string kOther = "ff3e:40:2001:db8:d0be:f00d:8000:3";
const std::string kDvb = "ff3e:40:2001:db8:d0be:f00d:c000:1";
const std::string kTone = "test:tone?frequency=440&codec=mp3&bitrate=128";

PolicyRule rule(std::vector<std::string> interfaces, std::vector<std::string> allow, std::string origin) {
  PolicyRule r;
  r.interfaces = std::move(interfaces);
  for (const auto& a : allow) {
    auto item = parse_allow(a);
    REQUIRE(item);
    r.allow.push_back(item.value());
  }
  r.origin = std::move(origin);
  return r;
}

}  // namespace

TEST_CASE("sessions: a listener back within the grace period keeps the stream") {
  SessionLab lab;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.start();
  lab.join(kRadio, 1);
  CHECK(lab.state(kRadio) == "starting");
  REQUIRE(lab.engine->streams.size() == 1);
  lab.on_air();
  CHECK(lab.state(kRadio) == "running");

  lab.leave(kRadio);
  CHECK(lab.state(kRadio) == "grace");
  lab.clock.advance(1500ms);
  lab.join(kRadio, 1);
  CHECK(lab.state(kRadio) == "running");
  lab.clock.advance(10s);
  CHECK(lab.state(kRadio) == "running");
  CHECK(lab.engine->streams.size() == 1);  // the same stream, never restarted
  CHECK(lab.engine->running() == 1);

  // Without one coming back, the grace period ends the stream.
  lab.leave(kRadio);
  lab.clock.advance(1900ms);
  CHECK(lab.state(kRadio) == "grace");
  lab.clock.advance(200ms);
  CHECK(lab.state(kRadio) == "gone");
  CHECK(lab.engine->running() == 0);
}

TEST_CASE("sessions: a failed stream is retried with backoff while listeners remain") {
  SessionLab lab;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.on_air();
  lab.engine->emit(lab.engine->last(), joincast::media::SessionEvent::Kind::failed,
                   std::make_error_code(std::errc::connection_reset), "http://x/: connection reset");
  lab.clock.settle();
  CHECK(lab.state(kRadio) == "retrying");
  CHECK(lab.reason(kRadio) == "http://x/: connection reset");
  CHECK(lab.session(kRadio)["failures"] == 1);
  CHECK(lab.engine->running() == 0);

  // First retry within [retry_initial/2, retry_initial].
  lab.clock.advance(999ms);
  CHECK(lab.state(kRadio) == "retrying");
  lab.clock.advance(1001ms);
  CHECK(lab.state(kRadio) == "starting");
  CHECK(lab.engine->streams.size() == 2);

  // The second waits twice as long: [2 s, 4 s].
  lab.engine->emit(lab.engine->last(), joincast::media::SessionEvent::Kind::failed,
                   std::make_error_code(std::errc::connection_reset), "http://x/: connection reset");
  lab.clock.settle();
  CHECK(lab.session(kRadio)["failures"] == 2);
  lab.clock.advance(1999ms);
  CHECK(lab.state(kRadio) == "retrying");
  lab.clock.advance(2001ms);
  CHECK(lab.state(kRadio) == "starting");
  lab.on_air();
  CHECK(lab.state(kRadio) == "running");
  CHECK_FALSE(lab.session(kRadio).contains("failures"));  // reset on air

  // No listeners left: nothing is retried.
  lab.engine->emit(lab.engine->last(), joincast::media::SessionEvent::Kind::ended);
  lab.clock.settle();
  lab.leave(kRadio);
  CHECK(lab.state(kRadio) == "gone");
  lab.clock.advance(120s);
  CHECK(lab.engine->streams.size() == 3);
}

TEST_CASE("sessions: a stream that sends nothing within start_timeout fails and is retried") {
  SessionLab lab;
  lab.config.start_timeout = 5s;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.clock.advance(4900ms);
  CHECK(lab.state(kRadio) == "starting");
  lab.clock.advance(200ms);
  CHECK(lab.state(kRadio) == "retrying");
  CHECK(lab.reason(kRadio).find("nothing was sent within 5 s of starting") == 0);
  CHECK(lab.session(kRadio)["reason_kind"] == "start-timeout");
  CHECK(lab.engine->running() == 0);
  lab.clock.advance(2s);
  CHECK(lab.state(kRadio) == "starting");
}

TEST_CASE("sessions: sessions.max_sessions holds a join until a session stops") {
  SessionLab lab;
  lab.config.max_sessions = 1;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.catalogue.add_station(kRadio2, "radio", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.on_air();
  lab.join(kRadio2, 1);
  CHECK(lab.state(kRadio2) == "waiting");
  CHECK(lab.reason(kRadio2) == "1 sessions run already (sessions.max_sessions)");
  CHECK(lab.session(kRadio2)["reason_kind"] == "limit");
  CHECK(lab.engine->streams.size() == 1);

  lab.leave(kRadio);
  lab.clock.advance(2100ms);  // grace over: the slot is free
  CHECK(lab.state(kRadio) == "gone");
  CHECK(lab.state(kRadio2) == "starting");
}

TEST_CASE("sessions: sessions.limits caps one directory and leaves the others alone") {
  SessionLab lab;
  lab.config.limits["radio"] = 1;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.catalogue.add_station(kRadio2, "radio", kTone);
  lab.catalogue.add_station(kOther, "other", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.join(kRadio2, 1);
  lab.join(kOther, 1);
  CHECK(lab.state(kRadio) == "starting");
  CHECK(lab.state(kRadio2) == "waiting");
  CHECK(lab.reason(kRadio2) == "1 radio sessions run already (sessions.limits.radio)");
  CHECK(lab.state(kOther) == "starting");

  // A reload that raises the limit lets the waiting one start.
  auto next = lab.config;
  next.limits["radio"] = 2;
  REQUIRE(lab.manager->reload(next));
  lab.clock.settle();
  CHECK(lab.state(kRadio2) == "starting");
}

TEST_CASE("sessions: policy rules dvb, internet and all") {
  SessionLab lab;
  lab.config.policies = {rule({"eth1"}, {"dvb"}, "test.toml:1"), rule({"eth2"}, {"internet"}, "test.toml:4"),
                         rule({"eth3"}, {"all"}, "test.toml:7")};
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.catalogue.add_dvb(kDvb, 0x1001);
  lab.start();

  SUBCASE("dvb: DVB services only") {
    lab.join(kRadio, 1);
    CHECK(lab.state(kRadio) == "waiting");
    CHECK(lab.reason(kRadio) == "the policy of eth1 (test.toml:1) does not allow starting radio");
    CHECK(lab.session(kRadio)["reason_kind"] == "policy");
    lab.join(kDvb, 1);
    CHECK(lab.state(kDvb) == "starting");
    CHECK(lab.catalogue.dvb_started == std::vector<std::string>{kDvb});
    lab.catalogue.finish_dvb_start();
    lab.clock.settle();
    CHECK(lab.state(kDvb) == "running");
    REQUIRE(lab.engine->streams.size() == 1);
    CHECK(lab.engine->streams.begin()->second.announce_only);
    // A listener on an interface that allows it starts the waiting station.
    lab.join(kRadio, 2);
    CHECK(lab.state(kRadio) == "starting");
  }
  SUBCASE("internet: stations only") {
    lab.join(kDvb, 2);
    CHECK(lab.state(kDvb) == "waiting");
    CHECK(lab.reason(kDvb) == "the policy of eth2 (test.toml:4) does not allow starting DVB services");
    CHECK(lab.catalogue.dvb_started.empty());
    lab.join(kRadio, 2);
    CHECK(lab.state(kRadio) == "starting");
  }
  SUBCASE("all: both") {
    lab.join(kDvb, 3);
    lab.join(kRadio, 3);
    CHECK(lab.state(kDvb) == "starting");
    CHECK(lab.state(kRadio) == "starting");
  }
  SUBCASE("an interface no policy names may start anything") {
    lab.join(kDvb, 9);
    CHECK(lab.state(kDvb) == "starting");
  }
}

TEST_CASE("sessions: allow items are parsed once into typed rules") {
  CHECK(std::holds_alternative<AllowAll>(parse_allow("all").value()));
  CHECK(std::holds_alternative<AllowDvb>(parse_allow("dvb").value()));
  CHECK(std::holds_alternative<AllowInternet>(parse_allow("internet").value()));
  CHECK(std::get<AllowDirectory>(parse_allow("directory:radio").value()).name == "radio");
  auto p = parse_allow("239.255.0.0/24");
  REQUIRE(p);
  const auto& prefix = std::get<AllowPrefix>(p.value());
  CHECK(prefix.contains(boost::asio::ip::make_address("239.255.0.7")));
  CHECK_FALSE(prefix.contains(boost::asio::ip::make_address("239.255.1.7")));
  CHECK_FALSE(prefix.contains(boost::asio::ip::make_address("ff3e::1")));
  auto v6 = parse_allow("ff3e:40:2001:db8:d0be:f00d:8000:0/112");
  REQUIRE(v6);
  CHECK(std::get<AllowPrefix>(v6.value()).contains(boost::asio::ip::make_address(kRadio)));
  CHECK_FALSE(std::get<AllowPrefix>(v6.value()).contains(boost::asio::ip::make_address(kDvb)));
  for (const char* bad : {"everything", "directory:", "10.0.0.0/8", "239.0.0.0/33", "ff3e::/x"}) {
    auto r = parse_allow(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find(std::string("\"") + bad + "\"") == 0);
  }
}

TEST_CASE("sessions: a directory: or prefix policy matches what it names") {
  SessionLab lab;
  lab.config.policies = {rule({"eth1"}, {"directory:radio"}, "t:1"),
                         rule({"eth2"}, {"ff3e:40:2001:db8:d0be:f00d:8000:2/128"}, "t:2")};
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.catalogue.add_station(kRadio2, "other", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.join(kRadio2, 1);
  CHECK(lab.state(kRadio) == "starting");
  CHECK(lab.state(kRadio2) == "waiting");
  lab.join(kRadio2, 2);
  CHECK(lab.state(kRadio2) == "starting");
}

TEST_CASE("sessions: a permanent source error fails at once with its reason, without retries") {
  SessionLab lab;
  const std::string url = "ftp://radio.example/stream";
  lab.catalogue.add_station(kRadio, "radio", url);
  lab.start();
  lab.join(kRadio, 1);
  CHECK(lab.state(kRadio) == "failed");
  std::string reason = lab.reason(kRadio);
  CHECK_MESSAGE(reason.find(url) != std::string::npos, reason);
  CHECK_MESSAGE(reason.find("unsupported URL scheme") != std::string::npos, reason);
  CHECK(lab.session(kRadio)["reason_kind"] == "source");
  lab.clock.advance(300s);
  CHECK(lab.state(kRadio) == "failed");
  CHECK(lab.engine->streams.empty());
  // It stays failed while listeners remain; gone with the last one.
  lab.join(kRadio, 2);
  CHECK(lab.state(kRadio) == "failed");
  lab.leave(kRadio);
  CHECK(lab.state(kRadio) == "gone");
}

TEST_CASE("sessions: a reload whose media engine cannot start is refused and the running configuration stays") {
  SessionLab lab;
  lab.config.interface = "";  // no sessions yet: no engine
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.start();
  CHECK(lab.engine == nullptr);
  auto next = lab.config;
  next.interface = "uplink";
  next.max_sessions = 7;
  lab.engine_fails = true;
  joincast::Result<void> r = joincast::success();
  CHECK_NOTHROW(r = lab.manager->reload(next));
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "the media engine cannot start: io_uring_queue_init: Too many open files");
  CHECK(lab.manager->summary()["interface"] == "");
  CHECK(lab.engine == nullptr);
  lab.join(kRadio, 1);
  CHECK(lab.state(kRadio) == "gone");  // still no sessions
  // A later reload that can start it does, and serves the listener there.
  lab.engine_fails = false;
  CHECK(lab.manager->reload(next));
  CHECK(lab.manager->summary()["interface"] == "uplink");
  REQUIRE(lab.engine != nullptr);
  lab.clock.settle();
  CHECK(lab.state(kRadio) == "starting");
}

TEST_CASE("sessions: a dvblast that dies fails its running sessions, logged once each") {
  SessionLab lab;
  lab.catalogue.add_dvb(kDvb, 0x1001);
  lab.start();
  lab.join(kDvb, 1);
  lab.catalogue.finish_dvb_start();
  lab.clock.settle();
  REQUIRE(lab.state(kDvb) == "running");
  const std::string reason = "dvblast on adapter 0 for 11426500 kHz H ended (exit status 1): no lock";
  LogCapture log;
  lab.catalogue.dvb_died(FakeCatalogue::carrier(), reason);
  lab.clock.settle();
  CHECK(lab.state(kDvb) == "retrying");
  CHECK(lab.reason(kDvb) == reason);
  CHECK(lab.session(kDvb)["reason_kind"] == "dvb");
  CHECK(lab.engine->running() == 0);  // its SAP announcement is deleted
  CHECK(log.count(reason) == 1);
  lab.clock.advance(2s);
  CHECK(lab.state(kDvb) == "starting");  // retried like any failure
}

TEST_CASE("sessions: a host joining the well-known SAP group is announced to once, not once per event") {
  SessionLab lab;
  lab.catalogue.add_station(kRadio, "radio", kTone);
  lab.start();
  lab.join(kRadio, 1);
  lab.on_air();
  // What membership sends for the group's first listener: listener_joined
  // and group_up, both with one listener; then a second host's join.
  auto sap = [&](membership::MembershipEvent::Kind kind, unsigned listeners) {
    membership::MembershipEvent e;
    e.kind = kind;
    e.ifindex = 1;
    e.group = joincast::IpAddress::parse("ff0e::2:7ffe")->to_address16();
    e.listeners = listeners;
    lab.manager->on_membership(e);
  };
  sap(membership::MembershipEvent::Kind::listener_joined, 1);
  sap(membership::MembershipEvent::Kind::group_up, 1);
  CHECK(lab.engine->well_known_joins.size() == 1);
  sap(membership::MembershipEvent::Kind::listener_joined, 2);
  CHECK(lab.engine->well_known_joins.size() == 2);
  // Listeners leaving announce nothing.
  sap(membership::MembershipEvent::Kind::listener_left, 1);
  CHECK(lab.engine->well_known_joins.size() == 2);
}
