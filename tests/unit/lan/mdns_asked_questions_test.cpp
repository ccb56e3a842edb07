// mdns_asked_questions_test.cpp — the questions the relay remembers having
// forwarded (stateful mode): matched by zone pair, name (case folded) and
// type; ANY and NSEC; the window; the bound. Time is passed in.
#include "daemon/lan/mdns/asked_questions.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace joincast;
using namespace joincast::daemon::lan::mdns;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0{};

Name name(const char* text) { return Name::parse(text).value(); }
Question question(const char* n, std::uint16_t type) { return {name(n), type, 1, false}; }
Message answer(const char* n, std::uint16_t type) {
  Message m;
  m.flags = 0x8400;
  m.answers.push_back({name(n), type, 1, false, 120, NameData{name("printer.local")}});
  return m;
}

}  // namespace

TEST_CASE("mdns asked questions: a response answers the question of its zone pair, name and type") {
  AskedQuestions asked(30s);
  CHECK(asked.remember(0, 1, question("_ipp._tcp.local", rr::ptr), t0));
  CHECK(asked.answered(0, 1, answer("_IPP._tcp.Local", rr::ptr), t0 + 1s));  // names compare case-insensitively
  CHECK_FALSE(asked.answered(0, 1, answer("_ipp._tcp.local", rr::srv), t0 + 1s));    // another type
  CHECK_FALSE(asked.answered(0, 1, answer("_ssh._tcp.local", rr::ptr), t0 + 1s));    // another name
  CHECK_FALSE(asked.answered(2, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 1s));    // another zone asked
  CHECK_FALSE(asked.answered(0, 2, answer("_ipp._tcp.local", rr::ptr), t0 + 1s));    // from another zone
  CHECK(asked.answered(0, 1, answer("_ipp._tcp.local", rr::nsec), t0 + 1s));  // NSEC: the name has no more
  // An additional record answers nothing.
  Message extra;
  extra.additionals = answer("_ipp._tcp.local", rr::ptr).answers;
  CHECK_FALSE(asked.answered(0, 1, extra, t0 + 1s));
}

TEST_CASE("mdns asked questions: ANY is answered by every type of the name") {
  AskedQuestions asked(30s);
  asked.remember(0, 1, question("printer.local", rr::any), t0);
  CHECK(asked.answered(0, 1, answer("printer.local", rr::a), t0));
  CHECK(asked.answered(0, 1, answer("printer.local", rr::aaaa), t0));
  CHECK_FALSE(asked.answered(0, 1, answer("nas.local", rr::a), t0));
}

TEST_CASE("mdns asked questions: forgotten after the window, renewed when asked again") {
  AskedQuestions asked(30s);
  asked.remember(0, 1, question("_ipp._tcp.local", rr::ptr), t0);
  CHECK(asked.answered(0, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 30s));
  CHECK_FALSE(asked.answered(0, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 31s));  // before expire() too
  asked.remember(0, 1, question("_ipp._tcp.local", rr::ptr), t0 + 20s);  // asked again: renewed
  CHECK(asked.size() == 1);
  CHECK(asked.answered(0, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 45s));
  asked.expire(t0 + 45s);
  CHECK(asked.size() == 1);
  asked.expire(t0 + 51s);
  CHECK(asked.size() == 0);
  CHECK_FALSE(asked.answered(0, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 45s));
  // A window changed by a reload applies to what is remembered.
  asked.remember(0, 1, question("_ipp._tcp.local", rr::ptr), t0);
  asked.set_window(5s);
  CHECK_FALSE(asked.answered(0, 1, answer("_ipp._tcp.local", rr::ptr), t0 + 6s));
}

TEST_CASE("mdns asked questions: bounded: when full, a new question is not remembered until expiry makes room") {
  AskedQuestions asked(30s, 3);
  CHECK(asked.remember(0, 1, question("a.local", rr::a), t0));
  CHECK(asked.remember(0, 1, question("b.local", rr::a), t0 + 10s));
  CHECK(asked.remember(0, 2, question("a.local", rr::a), t0 + 10s));  // another pair: its own entry
  CHECK_FALSE(asked.remember(0, 1, question("c.local", rr::a), t0 + 10s));
  CHECK(asked.size() == 3);
  CHECK_FALSE(asked.answered(0, 1, answer("c.local", rr::a), t0 + 10s));
  CHECK(asked.remember(0, 1, question("A.local", rr::a), t0 + 20s));  // one already there: renewed, full or not
  CHECK(asked.size() == 3);
  asked.expire(t0 + 41s);  // b.local and the second a.local are past the window; the renewed a.local is not
  CHECK(asked.size() == 1);
  CHECK(asked.remember(0, 1, question("c.local", rr::a), t0 + 41s));
  CHECK(asked.answered(0, 1, answer("c.local", rr::a), t0 + 41s));
  // Distinct questions by the thousand stay within the default bound.
  AskedQuestions big(30s);
  for (int i = 0; i < 5000; ++i)
    big.remember(0, 1, question(("q" + std::to_string(i) + ".local").c_str(), rr::srv), t0);
  CHECK(big.size() == AskedQuestions::default_max);
}
