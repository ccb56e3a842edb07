// sap_bandwidth.hpp — the share of a well-known SAP group's bandwidth that
// one process uses (RFC 2974 §3.1: the announcements in a scope share
// 4000 bit/s by default). A leaky bucket per group without a burst: each
// announcement is given the earliest time at which sending it keeps the
// process's SAP traffic on that group at or below the limit, measured from
// the previous one. Every announcement to a well-known group (periodic,
// changed, on a host's join of the group) takes its slot here, so a host
// that joins the group again and again only queues announcements, never
// speeds them up. Thread-safe: the engine's workers share one.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>

namespace joincast::media {

class SapBandwidth {
 public:
  using Clock = std::chrono::steady_clock;
  explicit SapBandwidth(unsigned bits_per_second = 4000) : rate_(bits_per_second ? bits_per_second : 1) {}

  // The time packet_bytes may leave for group (now or later); the slot is
  // taken.
  Clock::time_point reserve(const boost::asio::ip::address& group, Clock::time_point now, std::size_t packet_bytes);
  // packet_bytes did leave for group at sent (a timer fires late on a busy
  // machine): the next slot is at least its cost after that, so a late
  // packet and an on-time one after it never come closer than the rate.
  void sent(const boost::asio::ip::address& group, Clock::time_point sent, std::size_t packet_bytes);
  unsigned bits_per_second() const { return rate_; }

 private:
  std::chrono::microseconds cost(std::size_t packet_bytes) const;

  unsigned rate_;
  std::mutex mutex_;
  std::map<boost::asio::ip::address, Clock::time_point> free_at_;  // when the group's bucket is empty
};

// A host joined the well-known SAP group: whether a group is one
// (ff0X::2:7ffe, 224.2.127.254, 239.255.255.255, 239.195.255.255).
bool is_sap_well_known_group(const boost::asio::ip::address& group);

}  // namespace joincast::media
