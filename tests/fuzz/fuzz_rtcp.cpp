// fuzz_rtcp.cpp — RTCP compounds from listeners on port 5005, through the
// parser and a capped receiver table. Contract: what parses rebuilds (RR
// blocks and BYE SSRCs, any count) into packets that parse to the same
// content; the table never holds more receivers than its cap and counts
// every packet.
#include "fuzz_check.hpp"
#include "media/rtcp/receiver_table.hpp"
#include "media/rtcp/rtcp.hpp"

using namespace joincast;
using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto parsed = media::parse_rtcp(in.bytes());
  if (parsed) {
    for (const auto& r : parsed.value().reports) {
      if (r.sender) continue;
      auto again = media::parse_rtcp(media::build_receiver_report(r.ssrc, r.blocks));
      FUZZ_CHECK(again);
      std::vector<media::ReportBlock> blocks;
      for (const auto& x : again.value().reports) blocks.insert(blocks.end(), x.blocks.begin(), x.blocks.end());
      FUZZ_CHECK(blocks == r.blocks);
    }
    for (const auto& b : parsed.value().byes) {
      auto rr = media::build_receiver_report(1, {});
      auto bye = media::build_bye(b.ssrcs, b.reason);
      rr.insert(rr.end(), bye.begin(), bye.end());
      auto again = media::parse_rtcp(rr);
      FUZZ_CHECK(again);
      std::vector<std::uint32_t> ssrcs;
      for (const auto& x : again.value().byes) ssrcs.insert(ssrcs.end(), x.ssrcs.begin(), x.ssrcs.end());
      FUZZ_CHECK(ssrcs == b.ssrcs);
    }
  }
  auto total = std::make_shared<media::ReceiverBudget>(6);
  media::ReceiverTable table(30s, media::ReceiverLimits{4, total});
  table.set_sender(0xabcdef01, 90000);
  auto now = media::ReceiverTable::Clock::now();
  // The input twice, as two datagrams from two hosts.
  table.on_packet(in.bytes(), "2001:db8::2", now, 0);
  table.on_packet(in.bytes(), "2001:db8::3", now + 1s, 0);
  FUZZ_CHECK(table.size() <= 4 && total->used() == table.size());
  FUZZ_CHECK(table.counters().packets == 2);
  table.expire(now + 1min);
  FUZZ_CHECK(table.size() == 0 && total->used() == 0);
  return 0;
}
