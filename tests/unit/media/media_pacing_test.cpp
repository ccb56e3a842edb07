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

TEST_CASE("a skipped packet leaves no gap in the timeline") {
  MediaTimeline t(100000);
  t.skip(0, 1152);  // before the first placed packet: nothing to keep
  CHECK(t.place(1152, 1152) == 0);
  CHECK(t.place(2304, 1152) == 1152);
  t.skip(3456, 1152);  // dropped
  CHECK(t.place(4608, 1152) == 2304);  // takes the dropped one's place
  t.skip(5760, 1152);
  t.skip(6912, 1152);
  CHECK(t.place(8064, 1152) == 3456);
  t.skip(std::nullopt, 1152);  // no pts: the next lands where durations say
  CHECK(t.place(std::nullopt, 1152) == 4608);
  CHECK(t.discontinuities() == 0);
}

namespace {

// 128 kb/s MP3 at 44.1 kHz: 417-byte frames of 1152 samples.
constexpr std::size_t kFrame = 417;
constexpr std::chrono::nanoseconds kFrameTime(26122449);
constexpr double kBytesPerNs = static_cast<double>(kFrame) / 26122449.0;

// A model of a session on a live source, on a fake clock: the server sends
// `burst` bytes at t0 and then paces at `speed` times the nominal rate
// (optionally in writes of `write_every`); the session demuxes a frame when
// it has arrived and the queue is less than `lead` ahead, asks LiveEdge,
// and queues it after the last one (or sends it at once when late).
// Records, for every frame sent, its true lag: what the server had sent
// beyond it when it left, in media time.
struct LiveModel {
  std::chrono::nanoseconds lead = 400ms;
  std::chrono::nanoseconds slack = 500ms;
  double speed = 1.0;
  std::size_t burst = 0;
  std::chrono::nanoseconds burst_over{0};  // the burst arrives in pieces over this long
  std::chrono::nanoseconds write_every{0};
  // A second burst (a reconnect) arriving at this time, of this size.
  std::chrono::nanoseconds extra_at{-1};
  std::size_t extra = 0;

  std::uint64_t dropped = 0;
  std::uint64_t dropped_after_start = 0;
  std::uint64_t sent = 0;
  std::vector<std::pair<std::chrono::nanoseconds, std::chrono::nanoseconds>> lags;  // (sent at, lag)
  std::chrono::nanoseconds max_lag_after_start{0};  // ignoring the first 3 s
  std::chrono::nanoseconds first_lag{-1};
  std::chrono::nanoseconds first_send{-1};

  std::uint64_t received(std::chrono::nanoseconds t) const {
    if (t < std::chrono::nanoseconds(0)) return 0;
    auto paced = t;
    if (write_every.count() > 0) paced = t - t % write_every;
    auto got = burst;
    if (burst_over.count() > 0 && t < burst_over)
      got = static_cast<std::size_t>(static_cast<double>(burst) * static_cast<double>(t.count()) /
                                     static_cast<double>(burst_over.count()));
    auto n = got + static_cast<std::uint64_t>(static_cast<double>(paced.count()) * kBytesPerNs * speed);
    if (extra_at.count() >= 0 && t >= extra_at) n += extra;
    return n;
  }

  void run(std::chrono::nanoseconds length) {
    LiveEdge edge(lead, slack);
    LiveEdge::Clock::time_point base{};
    base += 1h;
    std::chrono::nanoseconds now{0}, queue_end{0};
    bool anchored = false;
    std::uint64_t consumed = 0;
    while (now < length) {
      // Wait for the frame's bytes, then for room in the queue.
      while (received(now) < consumed + kFrame) now += 1ms;
      if (anchored && queue_end > now + lead) now = queue_end - lead;
      std::uint64_t backlog = received(now) - (consumed + kFrame);
      auto ahead = anchored ? std::max(queue_end - now, std::chrono::nanoseconds(0)) : std::chrono::nanoseconds(0);
      bool drop = edge.drop(kFrame, kFrameTime, backlog, ahead, base + now);
      consumed += kFrame;
      if (drop) {
        ++dropped;
        if (anchored && now - first_send >= 1s) ++dropped_after_start;
        continue;
      }
      auto due = anchored ? std::max(queue_end + kFrameTime, now) : now;
      if (!anchored) first_send = now;
      anchored = true;
      queue_end = due;
      ++sent;
      auto lag = std::chrono::nanoseconds(
          static_cast<std::int64_t>(static_cast<double>(received(due) - consumed) / kBytesPerNs));
      if (first_lag.count() < 0) first_lag = lag;
      lags.emplace_back(due, lag);
      if (due > 3s) max_lag_after_start = std::max(max_lag_after_start, lag);
    }
    CHECK(edge.dropped() == dropped);
  }
};

}  // namespace

TEST_CASE("a connect burst is dropped down to the lead, the first frame leaves at once") {
  LiveModel m;
  m.burst = 64 * 1024;  // Icecast's default burst-size: 4.1 s of audio
  m.run(60s);
  CHECK(m.first_send == std::chrono::nanoseconds(0));  // no waiting for the live edge
  CHECK(m.first_lag <= m.lead);
  CHECK(m.first_lag > m.lead - kFrameTime);  // no more than the excess dropped
  // The excess: (burst - what fits in the lead) in whole frames.
  CHECK(m.dropped == (64 * 1024 - 6386) / kFrame);
  CHECK(m.max_lag_after_start <= m.lead + 10ms);
}

TEST_CASE("a burst arriving in pieces is cut as it arrives") {
  LiveModel m;
  m.burst = 64 * 1024;
  m.burst_over = 300ms;  // a few round trips
  m.run(60s);
  CHECK(m.first_send < 20ms);
  CHECK(m.dropped_after_start == 0);
  CHECK(m.dropped > (64 * 1024 - 6386) / kFrame - 15);
  std::chrono::nanoseconds worst{0};
  for (auto [t, lag] : m.lags)
    if (t > 1s) worst = std::max(worst, lag);
  CHECK(worst <= m.lead + 50ms);  // within a frame or so
}

TEST_CASE("a source at our rate loses nothing after the start") {
  LiveModel m;
  m.run(600s);
  CHECK(m.dropped == 0);
  CHECK(m.max_lag_after_start <= m.lead);
  CHECK(m.sent == 600s / kFrameTime + 1);
}

TEST_CASE("a source 1 % fast is followed by dropping frames, the lag bounded") {
  LiveModel m;
  m.burst = 64 * 1024;
  m.speed = 1.01;
  auto burst_drops = (64 * 1024 - 6386) / kFrame;
  m.run(600s);
  // 1 % of 10 minutes is 6 s of audio: about 230 frames beyond the burst's.
  CHECK(m.dropped > burst_drops + 200);
  CHECK(m.dropped < burst_drops + 260);
  CHECK(m.max_lag_after_start <= m.lead + m.slack);
}

TEST_CASE("a source 1 % slow needs no drop: the pacing waits for it") {
  LiveModel m;
  m.burst = 64 * 1024;
  m.speed = 0.99;
  auto burst_drops = (64 * 1024 - 6386) / kFrame;
  m.run(600s);
  CHECK(m.dropped == burst_drops);
  CHECK(m.max_lag_after_start <= m.lead);
}

TEST_CASE("a server writing a second at a time is not taken for a backlog") {
  LiveModel m;
  m.write_every = 1s;
  m.run(120s);
  // The first writes are taken for a burst (nothing tells them apart),
  // the later ones are not.
  CHECK(m.dropped_after_start == 0);
  CHECK(m.dropped < 40);
  CHECK(m.max_lag_after_start <= m.lead + 1s);
}

TEST_CASE("a reconnect's burst is cut within the window") {
  LiveModel m;
  m.extra_at = 30s;
  m.extra = 64 * 1024;
  m.run(60s);
  // Most of the new backlog, down to lead + slack / 2.
  CHECK(m.dropped_after_start > 100);
  CHECK(m.dropped_after_start < (64 * 1024) / kFrame);
  std::chrono::nanoseconds before{0}, during{0}, after{0};
  for (auto [t, lag] : m.lags) {
    // Cut from one window after it arrived, at twice real time (4 s).
    auto& slot = t < 30s ? before : t < 38s ? during : after;
    slot = std::max(slot, lag);
  }
  CHECK(before <= m.lead);
  CHECK(during > 4s);  // it was there for a while: a reconnect looks like drift at first
  CHECK(after <= m.lead + m.slack);
}

TEST_CASE("a server that floods is read at most twice as fast as it plays") {
  LiveModel m;
  m.speed = 50;  // a file sent as fast as the network goes
  m.run(60s);
  // At the start, 20 s of it at most; then never two frames in a row.
  CHECK(m.dropped - m.dropped_after_start <= 20s / kFrameTime + 1);
  CHECK(m.dropped_after_start <= m.sent);
  CHECK(m.dropped_after_start + 2 >= m.sent - 1s / kFrameTime - 3s / kFrameTime);  // all but the window's
}

TEST_CASE("a frame without a duration is never dropped") {
  LiveEdge edge(400ms, 500ms);
  LiveEdge::Clock::time_point t{};
  CHECK_FALSE(edge.drop(417, 0ns, 1 << 20, 0ns, t));
  CHECK_FALSE(edge.started());
  CHECK(edge.drop(417, kFrameTime, 1 << 20, 0ns, t));  // 2.5 s of backlog at this rate
  CHECK(edge.dropped() == 1);
  CHECK(edge.lag() > 2s);
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
