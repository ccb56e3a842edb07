// receiver_table.cpp — per-session aggregation of listeners' RTCP.
#include "media/rtcp/receiver_table.hpp"

namespace joincast::media {

ReceiverTable::~ReceiverTable() { erased(receivers_.size()); }

void ReceiverTable::erased(std::size_t n) {
  if (limits_.total && n) limits_.total->release(n);
}

ReceiverStats* ReceiverTable::touch(std::uint32_t ssrc, const std::string& from, Clock::time_point now) {
  auto it = receivers_.find(ssrc);
  if (it == receivers_.end()) {
    if (receivers_.size() >= limits_.per_session || (limits_.total && !limits_.total->acquire())) {
      ++counters_.refused;
      return nullptr;
    }
    it = receivers_.try_emplace(ssrc).first;
    it->second.ssrc = ssrc;
    it->second.first_seen = now;
  }
  auto& r = it->second;
  r.address = from;
  r.last_seen = now;
  return &r;
}

bool ReceiverTable::on_packet(std::span<const std::byte> datagram, const std::string& from, Clock::time_point now,
                              std::uint64_t ntp_now) {
  ++counters_.packets;
  auto parsed = parse_rtcp(datagram);
  if (!parsed) {
    ++counters_.malformed;
    return false;
  }
  const auto& c = parsed.value();
  for (const auto& report : c.reports) {
    // Our own SR comes back through multicast loopback; another sender on
    // our group is not a listener either.
    if (report.ssrc == own_ssrc_ || report.sender) continue;
    auto* entry = touch(report.ssrc, from, now);
    if (!entry) continue;
    auto& r = *entry;
    ++r.reports;
    for (const auto& b : report.blocks) {
      if (b.ssrc != own_ssrc_) continue;
      r.reports_on_us = true;
      r.fraction_lost = b.fraction_lost / 256.0;
      r.cumulative_lost = b.cumulative_lost;
      r.highest_seq = b.highest_seq;
      if (clock_rate_) r.jitter_ms = 1000.0 * b.jitter / clock_rate_;
      // §6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s; only if it has
      // seen one of our SRs (LSR != 0) and the result is sane.
      if (b.last_sr) {
        auto a = ntp_middle(ntp_now);
        auto rtt = static_cast<std::uint32_t>(a - b.last_sr - b.delay_since_sr);
        if (rtt < 0x80000000u) r.rtt_ms = rtt * 1000.0 / 65536.0;
      }
    }
  }
  for (const auto& chunk : c.sdes) {
    if (chunk.ssrc == own_ssrc_) continue;
    auto it = receivers_.find(chunk.ssrc);
    if (it != receivers_.end() && !chunk.cname.empty()) it->second.cname = chunk.cname;
  }
  // §6.6: a BYE says these sources leave. Process it last so that a
  // compound RR+SDES+BYE ends with the receiver gone.
  for (const auto& bye : c.byes) {
    for (auto ssrc : bye.ssrcs) {
      if (receivers_.erase(ssrc)) {
        ++counters_.byes;
        erased(1);
      }
    }
  }
  return true;
}

void ReceiverTable::expire(Clock::time_point now) {
  for (auto it = receivers_.begin(); it != receivers_.end();) {
    if (now - it->second.last_seen > timeout_) {
      it = receivers_.erase(it);
      ++counters_.timeouts;
      erased(1);
    } else {
      ++it;
    }
  }
}

std::vector<ReceiverStats> ReceiverTable::receivers() const {
  std::vector<ReceiverStats> out;
  out.reserve(receivers_.size());
  for (const auto& [_, r] : receivers_) out.push_back(r);
  return out;
}

}  // namespace joincast::media
