// media_sdp_test.cpp — joincast's SDP writer: full IPv6 groups, the TTL
// rule, field order, and network text that must never add or end a line.
#include "media/rtp/rtp_mapping.hpp"
#include "media/announce/sdp.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace joincast::media;

namespace {

std::vector<std::string> lines(const std::string& sdp) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < sdp.size()) {
    auto end = sdp.find("\r\n", pos);
    REQUIRE(end != std::string::npos);  // every line ends in CRLF
    out.push_back(sdp.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

RtpMapping mpa() {
  RtpMapping m;
  m.payload_type = 14;
  m.media = "audio";
  m.encoding = "MPA";
  m.clock_rate = 90000;
  m.codec_name = "mp3";
  return m;
}

SdpSession base_session() {
  SdpSession s;
  s.origin = boost::asio::ip::make_address("2001:db8:d0be:f00d::1");
  s.session_id = 1234;
  s.version = 5678;
  s.station_name = "Radio Test";
  s.group = boost::asio::ip::make_address("ff3e:40:2001:db8:d0be:f00d:8000:0");
  s.media = mpa();
  return s;
}

}  // namespace

TEST_CASE("the SDP carries the full 33-character IPv6 group, without TTL") {
  auto sdp = write_sdp(base_session());
  auto l = lines(sdp);
  CHECK(std::string("ff3e:40:2001:db8:d0be:f00d:8000:0").size() == 33);
  CHECK(std::count(l.begin(), l.end(), "c=IN IP6 ff3e:40:2001:db8:d0be:f00d:8000:0") == 1);
  CHECK(std::count(l.begin(), l.end(), "o=- 1234 5678 IN IP6 2001:db8:d0be:f00d::1") == 1);
  CHECK(std::count(l.begin(), l.end(), "m=audio 5004 RTP/AVP 14") == 1);
  CHECK(std::count(l.begin(), l.end(), "a=rtpmap:14 MPA/90000") == 1);
  CHECK(std::count(l.begin(), l.end(), "a=charset:UTF-8") == 1);
}

TEST_CASE("an IPv4 group carries its TTL and an IPv4 origin") {
  auto s = base_session();
  s.origin = boost::asio::ip::make_address("192.0.2.1");
  s.group = boost::asio::ip::make_address("239.255.0.1");
  s.ttl = 7;
  auto l = lines(write_sdp(s));
  CHECK(std::count(l.begin(), l.end(), "c=IN IP4 239.255.0.1/7") == 1);
  CHECK(std::count(l.begin(), l.end(), "o=- 1234 5678 IN IP4 192.0.2.1") == 1);
}

TEST_CASE("fields come in RFC 8866 order") {
  auto s = base_session();
  s.now_playing = "Artist - Title";
  s.url = "http://radio.example/";
  auto l = lines(write_sdp(s));
  std::string order;
  for (const auto& line : l) order += line.substr(0, 1);
  // v o s i u c t a... m a...
  CHECK(order.rfind("vosiuct", 0) == 0);
  auto m = order.find('m');
  REQUIRE(m != std::string::npos);
  CHECK(order.substr(m) == "ma");  // rtpmap follows m=
  CHECK(l[2] == "s=Radio Test");
  CHECK(l[3] == "i=Artist - Title");
  CHECK(l[4] == "u=http://radio.example/");
}

TEST_CASE("CR LF in now-playing text never adds an SDP line") {
  auto s = base_session();
  auto clean_lines = lines(write_sdp(s)).size();
  s.now_playing = "Song\r\nm=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000";
  s.station_name = "Evil\nc=IN IP4 203.0.113.1/255";
  s.url = "http://x/\r\nm=video 1 RTP/AVP 0";
  auto sdp = write_sdp(s);
  auto l = lines(sdp);
  CHECK(l.size() == clean_lines + 2);  // only the i= and u= lines are new
  for (const auto& line : l) {
    CHECK(line.rfind("m=video", 0) != 0);
    CHECK(line.rfind("a=rtpmap:96", 0) != 0);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
  }
  CHECK(std::count_if(l.begin(), l.end(), [](const std::string& x) { return x.rfind("m=", 0) == 0; }) == 1);
  CHECK(std::count_if(l.begin(), l.end(), [](const std::string& x) { return x.rfind("c=", 0) == 0; }) == 1);
  CHECK(l[3] == "i=Song m=video 5006 RTP/AVP 96 a=rtpmap:96 H264/90000");
  // A URL with a line break inside is percent-encoded, not split.
  CHECK(std::find(l.begin(), l.end(), "u=http://x/%0D%0Am=video%201%20RTP/AVP%200") != l.end());
}

TEST_CASE("control characters and bad UTF-8 are cleaned") {
  CHECK(sanitize_sdp_text("a\tb\x01" "c\x7f" "d", 100) == "a b c d");
  CHECK(sanitize_sdp_text("  lots   of\r\n\r\n space  ", 100) == "lots of space");
  CHECK(sanitize_sdp_text(std::string("nul\0byte", 8), 100) == "nul byte");
  CHECK(sanitize_sdp_text("caf\xc3\xa9", 100) == "caf\xc3\xa9");             // é kept
  CHECK(sanitize_sdp_text("bad\xff" "byte", 100) == "bad\xEF\xBF\xBD" "byte");  // U+FFFD
  CHECK(sanitize_sdp_text("over\xc0\xaflong", 100) == "over\xEF\xBF\xBD\xEF\xBF\xBDlong");  // overlong '/'
  CHECK(sanitize_sdp_text("c1\xc2\x85next", 100) == "c1 next");                // U+0085 NEL is a line break
  CHECK(sanitize_sdp_text("ls\xe2\x80\xa8ps", 100) == "ls ps");               // U+2028
  CHECK(sanitize_sdp_text("\xed\xa0\x80", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST_CASE("over-long text is cut at a character boundary") {
  // 'é' is two bytes: a cut at 5 bytes must not split the third one.
  CHECK(sanitize_sdp_text("\xc3\xa9\xc3\xa9\xc3\xa9", 5) == "\xc3\xa9\xc3\xa9");
  CHECK(sanitize_sdp_text("\xf0\x9f\x8e\xb5x", 3).empty());  // a 4-byte emoji does not fit in 3
  std::string long_title(1000, 'x');
  auto s = base_session();
  s.now_playing = long_title;
  auto l = lines(write_sdp(s));
  CHECK(l[3].size() == 2 + kSdpInfoMax);
}

TEST_CASE("an empty station name becomes a single space") {
  auto s = base_session();
  s.station_name = "\r\n";
  auto l = lines(write_sdp(s));
  CHECK(l[2] == "s= ");
}

TEST_CASE("URLs without a scheme or too long are dropped") {
  CHECK(sanitize_sdp_uri("www.example.com", 255).empty());
  CHECK(sanitize_sdp_uri("1http://x", 255).empty());
  CHECK(sanitize_sdp_uri(" https://example.com/a b ", 255) == "https://example.com/a%20b");
  CHECK(sanitize_sdp_uri("http://example.com/" + std::string(300, 'a'), 255).empty());
  CHECK(sanitize_sdp_uri("http://ex.com/\xc3\xa9", 255) == "http://ex.com/%C3%A9");
}

TEST_CASE("the origin line is what a deletion carries") {
  auto sdp = write_sdp(base_session());
  CHECK(sdp_origin_line(sdp) == "o=- 1234 5678 IN IP6 2001:db8:d0be:f00d::1");
  CHECK(sdp_origin_line("v=0\r\ns=x\r\n").empty());
}

TEST_CASE("fmtp and rtpmap lines follow the mapping") {
  auto s = base_session();
  s.media.payload_type = 96;
  s.media.encoding = "opus";
  s.media.clock_rate = 48000;
  s.media.channels = 2;
  s.media.fmtp = "sprop-stereo=1";
  auto l = lines(write_sdp(s));
  CHECK(std::count(l.begin(), l.end(), "m=audio 5004 RTP/AVP 96") == 1);
  CHECK(std::count(l.begin(), l.end(), "a=rtpmap:96 opus/48000/2") == 1);
  CHECK(std::count(l.begin(), l.end(), "a=fmtp:96 sprop-stereo=1") == 1);
}

TEST_CASE("the origin line ends at a bare CR too") {
  CHECK(sdp_origin_line("v=0\ro=- 1 2 IN IP4 192.0.2.1\rs=x\r") == "o=- 1 2 IN IP4 192.0.2.1");
  CHECK(sdp_origin_line("v=0\no=- 1 2 IN IP4 192.0.2.1\r\rs=x\n") == "o=- 1 2 IN IP4 192.0.2.1");
  CHECK(sdp_origin_line("v=0\r\no=- 1 2 IN IP4 192.0.2.1\rinjected\r\n") == "o=- 1 2 IN IP4 192.0.2.1");
  // A NUL ends it too (found by fuzz_sdp).
  CHECK(sdp_origin_line(std::string("v=0\ro=- 1 2 IN IP4 1.2.3.4\0\0P4\r", 32)) == "o=- 1 2 IN IP4 1.2.3.4");
  for (std::string text : {std::string("o=a\rb\nc"), std::string("x\ro=\r"), std::string("o=\n\r"), std::string("o=a\0b", 5)}) {
    auto line = sdp_origin_line(text);
    CHECK(line.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
  }
}
