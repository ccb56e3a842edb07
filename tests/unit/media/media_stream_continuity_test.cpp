// media_stream_continuity_test.cpp — what a stream keeps across restarts
// (stream_continuity.hpp): the derived SSRC, SDP session id and timestamp
// base, the record's text and its parser, the atomic file, and the SAP
// announcer resuming an earlier run's o= version.
#include "media/announce/sap.hpp"
#include "media/announce/sap_announcer.hpp"
#include "media/engine/stream_continuity.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

using namespace joincast::media;
using namespace std::chrono_literals;

namespace {
const auto kGroup = boost::asio::ip::make_address("ff3e:40:2001:db8:d0be:f00d:8000:0");
const auto kOther = boost::asio::ip::make_address("ff3e:40:2001:db8:d0be:f00d:8000:1");
const auto kSource = boost::asio::ip::make_address("2001:db8:1::1");
}  // namespace

TEST_CASE("continuity: SSRC and SDP session id are the same for the same stream, different for another") {
  CHECK(stream_ssrc(kGroup, 5004, kSource) == stream_ssrc(kGroup, 5004, kSource));
  CHECK(stream_ssrc(kGroup, 5004, kSource) != 0);
  CHECK(stream_ssrc(kGroup, 5004, kSource) != stream_ssrc(kOther, 5004, kSource));
  CHECK(stream_ssrc(kGroup, 5004, kSource) != stream_ssrc(kGroup, 5006, kSource));
  CHECK(stream_sdp_session_id(kGroup, 5004, kSource) == stream_sdp_session_id(kGroup, 5004, kSource));
  CHECK(stream_sdp_session_id(kGroup, 5004, kSource) < (1ull << 47));
  CHECK(stream_sdp_session_id(kGroup, 5004, kSource) != stream_sdp_session_id(kOther, 5004, kSource));
}

TEST_CASE("continuity: the RTP timestamp base moves with the wall clock at the clock rate") {
  auto t = std::chrono::system_clock::time_point{} + std::chrono::seconds(1'764'000'000);
  std::uint32_t a = rtp_timestamp_base(90000, t);
  CHECK(static_cast<std::uint32_t>(rtp_timestamp_base(90000, t + 2500ms) - a) == 225000u);
  CHECK(static_cast<std::uint32_t>(rtp_timestamp_base(48000, t + 1s) - rtp_timestamp_base(48000, t)) == 48000u);
  // Past a wrap of 2^32 ticks the difference still counts the time.
  CHECK(static_cast<std::uint32_t>(rtp_timestamp_base(90000, t + 50000s) - a) ==
        static_cast<std::uint32_t>(50000ull * 90000ull));
}

TEST_CASE("continuity: the record survives its text, anything else is rejected with a reason") {
  ContinuityRecord r;
  r.next_seq = 65535;
  r.sdp_version = 3974000123;
  r.sdp = "v=0\r\no=- 1 3974000123 IN IP6 2001:db8::1\r\ns=x\r\n";
  auto back = parse_continuity(format_continuity(r));
  REQUIRE(back);
  CHECK(back.value().next_seq == 65535);
  CHECK(back.value().sdp_version == 3974000123u);
  CHECK(back.value().sdp == r.sdp);
  CHECK(!parse_continuity(""));
  CHECK(!parse_continuity("joincast-continuity 2\n"));
  CHECK(!parse_continuity("joincast-continuity 1\nnext_seq 70000\nsdp_version 0\nsdp_bytes 0\n"));
  CHECK(!parse_continuity("joincast-continuity 1\nnext_seq 1\nsdp_version x\nsdp_bytes 0\n"));
  auto cut = format_continuity(r);
  cut.pop_back();  // a torn file: the SDP is shorter than its length says
  auto torn = parse_continuity(cut);
  REQUIRE(!torn);
  CHECK(torn.error().message().find("sdp_bytes") != std::string::npos);
}

TEST_CASE("continuity: saving replaces the file atomically and creates its directory") {
  auto dir = std::filesystem::temp_directory_path() / ("jc-continuity-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto path = (dir / "sessions" / "g.continuity").string();
  CHECK(load_continuity(path).error() == std::errc::no_such_file_or_directory);
  ContinuityRecord r;
  r.next_seq = 7;
  REQUIRE(save_continuity(path, r));
  r.next_seq = 519;
  REQUIRE(save_continuity(path, r));
  auto back = load_continuity(path);
  REQUIRE(back);
  CHECK(back.value().next_seq == 519);
  CHECK(!std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}

namespace {
struct Resumed {
  std::atomic<std::size_t> ads{0};
  std::string title = "one";
  std::vector<std::uint16_t> hashes;
  std::vector<std::string> sdps;
  SapAnnouncer announcer{SapOptions{}, kSource, 42, /*first_version=*/100, ads, 1,
                         SapAnnouncer::Hooks{[this](std::uint64_t v) {
                                               return "v=0\r\no=- 42 " + std::to_string(v) +
                                                      " IN IP6 2001:db8:1::1\r\ni=" + title + "\r\n";
                                             },
                                             [this](SapAnnouncer::Packet p) {
                                               auto m = decode_sap(p.bytes);
                                               REQUIRE(m);
                                               hashes.push_back(m.value().msg_id_hash);
                                               sdps.push_back(m.value().payload);
                                             },
                                             {}}};
};
}  // namespace

TEST_CASE("continuity: an unchanged SDP resumes under the earlier run's o= version and message id hash") {
  Resumed first;
  first.announcer.on_timer(SapAnnouncer::Clock::now());
  REQUIRE(!first.sdps.empty());
  Resumed second;  // the next run, whose NTP-based version would be later
  second.announcer.resume(first.announcer.version(), first.announcer.sdp());
  second.announcer.on_timer(SapAnnouncer::Clock::now());
  REQUIRE(!second.sdps.empty());
  CHECK(second.sdps.front() == first.sdps.front());
  CHECK(second.hashes.front() == first.hashes.front());
}

TEST_CASE("continuity: a changed SDP gets a version after the earlier run's, and a new hash") {
  Resumed first;
  first.announcer.on_timer(SapAnnouncer::Clock::now());
  Resumed second;
  second.title = "two";
  second.announcer.resume(first.announcer.version() + 1000, first.announcer.sdp());
  second.announcer.on_timer(SapAnnouncer::Clock::now());
  CHECK(second.announcer.version() == first.announcer.version() + 1001);
  CHECK(second.hashes.front() != first.hashes.front());
}
