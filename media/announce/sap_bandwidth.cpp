// sap_bandwidth.cpp — see sap_bandwidth.hpp.
#include "media/announce/sap_bandwidth.hpp"

#include <algorithm>

namespace joincast::media {

SapBandwidth::Clock::time_point SapBandwidth::reserve(const boost::asio::ip::address& group, Clock::time_point now,
                                                      std::size_t packet_bytes) {
  std::lock_guard lock(mutex_);
  auto& free_at = free_at_[group];
  auto at = std::max(now, free_at);
  free_at = at + cost(packet_bytes);
  return at;
}

void SapBandwidth::sent(const boost::asio::ip::address& group, Clock::time_point sent, std::size_t packet_bytes) {
  std::lock_guard lock(mutex_);
  auto& free_at = free_at_[group];
  free_at = std::max(free_at, sent + cost(packet_bytes));
}

std::chrono::microseconds SapBandwidth::cost(std::size_t packet_bytes) const {
  // bytes * 8 / rate seconds, in microseconds (the UDP/IP headers are not
  // counted, as RFC 2974 §3.1 counts the announcement).
  return std::chrono::microseconds(static_cast<std::int64_t>(packet_bytes) * 8 * 1000000 / rate_);
}

bool is_sap_well_known_group(const boost::asio::ip::address& group) {
  if (group.is_v6()) {
    auto b = group.to_v6().to_bytes();
    if (b[0] != 0xff || (b[1] & 0xf0) != 0) return false;  // ff0X: permanent, any scope
    for (int i = 2; i < 13; ++i)
      if (b[static_cast<std::size_t>(i)] != 0) return false;
    return b[13] == 0x02 && b[14] == 0x7f && b[15] == 0xfe;
  }
  if (!group.is_v4()) return false;
  auto v = group.to_v4().to_uint();
  return v == 0xe0027ffeu || v == 0xefffffffu || v == 0xefc3ffffu;
}

}  // namespace joincast::media
