// relayed_copies.cpp — see relayed_copies.hpp.
#include "daemon/lan/mdns/relayed_copies.hpp"

#include <iterator>

namespace joincast::daemon::lan::mdns {

std::uint64_t RelayedCopies::hash(std::span<const std::uint8_t> bytes) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (auto b : bytes) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h ^ bytes.size();
}

void RelayedCopies::sent(std::size_t zone, std::span<const std::uint8_t> bytes, Clock::time_point now) {
  auto key = std::make_pair(zone, hash(bytes));
  if (auto it = sent_.find(key); it != sent_.end()) {
    it->second = now;
    return;
  }
  if (sent_.size() >= max_entries) return;
  sent_.emplace(key, now);
}

bool RelayedCopies::is_copy(std::size_t zone, std::span<const std::uint8_t> bytes, Clock::time_point now) const {
  auto it = sent_.find({zone, hash(bytes)});
  return it != sent_.end() && now - it->second <= window;
}

void RelayedCopies::expire(Clock::time_point now) {
  std::erase_if(sent_, [&](const auto& e) { return now - e.second > window; });
}

}  // namespace joincast::daemon::lan::mdns
