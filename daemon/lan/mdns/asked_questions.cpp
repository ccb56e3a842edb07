// asked_questions.cpp — see asked_questions.hpp.
#include "daemon/lan/mdns/asked_questions.hpp"

namespace joincast::daemon::lan::mdns {

std::vector<std::string> AskedQuestions::fold(const Name& n) {
  std::vector<std::string> out = n.labels;
  for (auto& label : out)
    for (auto& c : label)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool AskedQuestions::remember(std::size_t asker, std::size_t owner, const Question& q, Clock::time_point now) {
  Key key{owner, asker, fold(q.name), q.type};
  if (auto it = asked_.find(key); it != asked_.end()) {
    it->second = now;
    return true;
  }
  if (asked_.size() >= max_) return false;
  asked_.emplace(std::move(key), now);
  return true;
}

bool AskedQuestions::answered(std::size_t asker, std::size_t owner, const Message& response,
                              Clock::time_point now) const {
  for (const auto& r : response.answers) {
    auto labels = fold(r.name);
    if (r.type == rr::nsec) {
      // An NSEC answers every question about its name: any type.
      for (auto it = asked_.lower_bound(Key{owner, asker, labels, 0});
           it != asked_.end() && std::get<0>(it->first) == owner && std::get<1>(it->first) == asker &&
           std::get<2>(it->first) == labels;
           ++it)
        if (now - it->second <= window_) return true;
      continue;
    }
    if (fresh(asked_.find(Key{owner, asker, labels, r.type}), now)) return true;
    if (r.type != rr::any && fresh(asked_.find(Key{owner, asker, labels, rr::any}), now)) return true;
  }
  return false;
}

void AskedQuestions::expire(Clock::time_point now) {
  std::erase_if(asked_, [&](const auto& entry) { return now - entry.second > window_; });
}

}  // namespace joincast::daemon::lan::mdns
