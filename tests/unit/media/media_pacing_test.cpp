// media_pacing_test.cpp — the arithmetic of sending on time: timeline
// normalisation, RTP timestamp unwrapping, send times, and PCR timing of
// MPEG-TS passthrough. Pure functions of their inputs; no clocks read.
#include "media/rtp/pacing.hpp"
#include "media/rtp/ts_framer.hpp"

#include <doctest/doctest.h>

using namespace joincast::media;
using namespace std::chrono_literals;

TEST_CASE("the timeline starts at zero and follows durations") {
  MediaTimeline t(1000);
  CHECK(t.place(5000, 100) == 0);  // first pts defines zero
  CHECK(t.place(5100, 100) == 100);
  CHECK(t.place(std::nullopt, 100) == 200);  // no pts: where durations say
  CHECK(t.place(5300, 100) == 300);
  CHECK(t.discontinuities() == 0);
}

TEST_CASE("a timestamp jump keeps the output continuous") {
  MediaTimeline t(1000);
  t.place(0, 100);
  t.place(100, 100);
  CHECK(t.place(0, 100) == 200);  // a new Ogg chain link restarts at 0
  CHECK(t.place(100, 100) == 300);
  CHECK(t.place(900000, 100) == 400);  // a jump forward
  CHECK(t.discontinuities() == 2);
  CHECK(t.place(900100, 100) == 500);
}

TEST_CASE("a restart a little behind is a discontinuity too") {
  MediaTimeline t(1000);
  t.place(0, 100);
  t.place(100, 100);
  CHECK(t.place(120, 100) == 200);  // 80 behind: more than 1000/20
  CHECK(t.discontinuities() == 1);
  CHECK(t.place(220, 100) == 300);
}

TEST_CASE("small jitter is kept and the output never decreases") {
  MediaTimeline t(1000);
  t.place(0, 100);
  CHECK(t.place(150, 100) == 150);  // within tolerance: trusted
  CHECK(t.place(240, 100) == 240);  // a little behind the expected 250
  CHECK(t.discontinuities() == 0);
  CHECK(t.place(230, 0) == 340);    // behind the previous packet: a restart
  CHECK(t.discontinuities() == 1);
}

TEST_CASE("negative first timestamps (Opus pre-skip) start at zero") {
  MediaTimeline t(48000);
  CHECK(t.place(-312, 960) == 0);
  CHECK(t.place(648, 960) == 960);
}

TEST_CASE("RTP timestamps unwrap across 2^32") {
  RtpTimestampUnwrap u;
  CHECK(u(0xfffff000u) == 0);
  CHECK(u(0xfffff800u) == 0x800);
  CHECK(u(0x00000400u) == 0x1400);  // wrapped
  CHECK(u(0x00000300u) == 0x1300);  // a step back stays a step back
  CHECK(u.first() == 0xfffff000u);
}

TEST_CASE("send times follow media time from the first packet") {
  PacingClock c(90000, 200ms);
  PacingClock::Clock::time_point t0{};
  t0 += 1h;
  CHECK(c.due(0, t0) == t0);               // the first packet leaves at once
  CHECK(c.due(90000, t0) == t0 + 1s);      // produced early, due in a second
  CHECK(c.due(45000, t0) == t0 + 500ms);
  CHECK(c.due(90000 * 3600, t0) == t0 + 1h);  // no drift over long runs
  CHECK(c.ticks_at(t0 + 2s) == 180000);
  CHECK(c.rebases() == 0);
}

TEST_CASE("a source that falls behind re-anchors instead of bursting") {
  PacingClock c(48000, 200ms);
  PacingClock::Clock::time_point t0{};
  c.due(0, t0);
  // 100 ms late: still within max lateness, keeps its slot (sent at once).
  CHECK(c.due(48000, t0 + 1100ms) == t0 + 1s);
  // 500 ms late: the clock moves; this packet is now, the next follow it.
  CHECK(c.due(96000, t0 + 2500ms) == t0 + 2500ms);
  CHECK(c.rebases() == 1);
  CHECK(c.due(96000 + 4800, t0 + 2500ms) == t0 + 2600ms);
}

TEST_CASE("exact nanoseconds for awkward clock rates") {
  PacingClock c(44100, 200ms);
  PacingClock::Clock::time_point t0{};
  c.due(0, t0);
  CHECK(c.due(1152, t0) - t0 == std::chrono::nanoseconds(26122448));  // 1152/44100 s
  CHECK(c.due(44100 * 10, t0) - t0 == 10s);
}

namespace {
// A TS packet on pid with an optional PCR (27 MHz) in its adaptation field.
std::vector<std::byte> ts_packet(unsigned pid, std::optional<std::int64_t> pcr27) {
  std::vector<std::byte> p(kTsPacketSize, std::byte{0xff});
  p[0] = std::byte{0x47};
  p[1] = static_cast<std::byte>((pid >> 8) & 0x1f);
  p[2] = static_cast<std::byte>(pid & 0xff);
  if (pcr27) {
    p[3] = std::byte{0x30};  // adaptation field + payload
    p[4] = std::byte{7};
    p[5] = std::byte{0x10};  // PCR flag
    std::int64_t base = *pcr27 / 300, ext = *pcr27 % 300;
    p[6] = static_cast<std::byte>(base >> 25);
    p[7] = static_cast<std::byte>(base >> 17);
    p[8] = static_cast<std::byte>(base >> 9);
    p[9] = static_cast<std::byte>(base >> 1);
    p[10] = static_cast<std::byte>(((base & 1) << 7) | 0x7e | (ext >> 8));
    p[11] = static_cast<std::byte>(ext & 0xff);
  } else {
    p[3] = std::byte{0x10};
  }
  return p;
}
}  // namespace

TEST_CASE("the PCR is read from the adaptation field") {
  auto p = ts_packet(0x100, 123456789);
  auto pcr = ts_packet_pcr(std::span<const std::byte, kTsPacketSize>(p.data(), kTsPacketSize));
  REQUIRE(pcr);
  CHECK(*pcr == 123456789);
  auto q = ts_packet(0x100, std::nullopt);
  CHECK_FALSE(ts_packet_pcr(std::span<const std::byte, kTsPacketSize>(q.data(), kTsPacketSize)));
}

TEST_CASE("TS packets are timed between PCRs and chunked by seven") {
  TsFramer f(7);
  std::vector<std::byte> stream;
  // A PCR every 10 packets, 10 ms apart (270000 ticks at 27 MHz): 1 ms per packet.
  std::int64_t pcr = 1000000;
  for (int i = 0; i < 100; ++i) {
    auto p = ts_packet(0x100, i % 10 == 0 ? std::optional(pcr + i * 27000) : std::nullopt);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  // Junk before sync and a split push must not matter.
  std::vector<std::byte> junk(50, std::byte{0x12});
  f.push(junk);
  f.push(std::span(stream).subspan(0, 1000));
  f.push(std::span(stream).subspan(1000));
  f.finish();
  std::vector<TsChunk> chunks;
  while (auto c = f.pop()) chunks.push_back(std::move(*c));
  REQUIRE(chunks.size() == 15);  // 100 packets: 14 of 7, one of 2
  CHECK(chunks[0].bytes.size() == 7 * kTsPacketSize);
  CHECK(chunks.back().bytes.size() == 2 * kTsPacketSize);
  // Chunk k starts with packet 7k, whose time is 7k ms = 630k ticks at 90 kHz.
  for (std::size_t k = 0; k < chunks.size(); ++k) CHECK(chunks[k].pts == static_cast<std::int64_t>(k) * 7 * 90);
  CHECK(f.resyncs() == 1);
  CHECK(f.discontinuities() == 0);
}

TEST_CASE("a PCR jump continues the timeline at the last rate") {
  TsFramer f(1);
  for (int i = 0; i < 20; ++i) {
    std::optional<std::int64_t> pcr;
    if (i == 0) pcr = 0;
    if (i == 10) pcr = 270000;               // 10 ms for 10 packets
    if (i == 15) pcr = 27000000LL * 3600;    // an hour later: a discontinuity
    auto p = ts_packet(0x100, pcr);
    f.push(p);
  }
  f.finish();
  std::vector<std::int64_t> pts;
  while (auto c = f.pop()) pts.push_back(c->pts);
  REQUIRE(pts.size() == 20);
  for (std::size_t i = 0; i < pts.size(); ++i) CHECK(pts[i] == static_cast<std::int64_t>(i) * 90);
  CHECK(f.discontinuities() == 1);
}
