// asked_questions.hpp — the questions the relay forwarded from one zone
// into another, remembered for the query window (stateful mode: a response
// goes to the zones whose question it answers). A map keyed by what is
// looked up — the zone that owns the answer, the zone that asked, the name
// (ASCII case folded, as DNS compares it) and the type — so a response's
// records are matched in O(log n) each, not by a scan of every question.
// Bounded: at most `max` questions; when full, a new one is not
// remembered (its answers then count as announcements) until expire()
// drops those older than the window. Time is passed in.
#pragma once

#include "daemon/lan/mdns/dns_message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace joincast::daemon::lan::mdns {

class AskedQuestions {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t default_max = 4096;

  explicit AskedQuestions(Clock::duration window, std::size_t max = default_max) : window_(window), max_(max) {}

  // `asker`'s question `q` was forwarded into `owner` at `now`: remembered,
  // or its time renewed. False if it could not be (the table is full).
  bool remember(std::size_t asker, std::size_t owner, const Question& q, Clock::time_point now);
  // True if a record among `response`'s answers (from `owner`) answers a
  // question of `asker` forwarded within the window before `now`: same
  // name, and the question's type, ANY, or an NSEC for the name.
  bool answered(std::size_t asker, std::size_t owner, const Message& response, Clock::time_point now) const;
  // Drops the questions older than the window.
  void expire(Clock::time_point now);
  void clear() { asked_.clear(); }
  void set_window(Clock::duration window) { window_ = window; }
  std::size_t size() const { return asked_.size(); }

 private:
  // owner, asker, folded labels, type
  using Key = std::tuple<std::size_t, std::size_t, std::vector<std::string>, std::uint16_t>;
  static std::vector<std::string> fold(const Name& n);
  bool fresh(std::map<Key, Clock::time_point>::const_iterator it, Clock::time_point now) const {
    return it != asked_.end() && now - it->second <= window_;
  }

  Clock::duration window_;
  std::size_t max_;
  std::map<Key, Clock::time_point> asked_;
};

}  // namespace joincast::daemon::lan::mdns
