// legacy_unicast.cpp — see legacy_unicast.hpp.
#include "daemon/lan/mdns/legacy_unicast.hpp"

#include <algorithm>

namespace joincast::daemon::lan::mdns {

bool answers(const Question& q, const Record& r) {
  if (!(q.name == r.name)) return false;
  return q.type == rr::any || q.type == r.type || r.type == rr::nsec;
}

std::optional<Message> legacy_reply(std::uint16_t id, const std::vector<Question>& questions, const Message& response) {
  Message out;
  out.id = id;
  out.flags = 0x8400;  // QR, AA (RFC 6762 §18.2, §18.4)
  out.questions = questions;
  for (auto& q : out.questions) q.unicast_response = false;
  auto legacy = [](Record r) {
    r.cache_flush = false;  // §6.7: a legacy resolver would take the bit for the class
    r.ttl = std::min(r.ttl, legacy_ttl_cap);
    return r;
  };
  for (const auto* list : {&response.answers, &response.additionals})
    for (const auto& r : *list) {
      const bool answer = std::any_of(questions.begin(), questions.end(), [&](const Question& q) { return answers(q, r); });
      (answer ? out.answers : out.additionals).push_back(legacy(r));
    }
  if (out.answers.empty()) return std::nullopt;
  return out;
}

}  // namespace joincast::daemon::lan::mdns
