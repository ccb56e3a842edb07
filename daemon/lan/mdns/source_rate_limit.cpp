// source_rate_limit.cpp — see source_rate_limit.hpp.
#include "daemon/lan/mdns/source_rate_limit.hpp"

#include <algorithm>

namespace joincast::daemon::lan::mdns {

bool SourceRateLimit::admit(const IpAddress& source, Clock::time_point now) {
  if (rate_ == 0) return true;
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources) {
      auto idle = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      buckets_.erase(idle);
    }
    it = buckets_.emplace(source, Bucket{static_cast<double>(burst_), now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  if (elapsed > 0) b.tokens = std::min<double>(burst_, b.tokens + elapsed * rate_);
  b.at = std::max(b.at, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace joincast::daemon::lan::mdns
