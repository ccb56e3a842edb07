// fuzz_sdp.cpp — SDP written from network-supplied text (station name,
// now playing, URL: three NUL-separated fields) and the origin line of any
// description. Contract (DESIGN.md): no line of the SDP contains CR, LF or
// NUL, every line ends with CRLF, s= is never empty; the origin line of
// any input has no CR, LF or NUL.
#include "fuzz_check.hpp"
#include "media/announce/sdp.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  static const std::string_view forbidden("\r\n\0", 3);
  FUZZ_CHECK(!fuzz::has_any(media::sdp_origin_line(in.text()), forbidden));

  media::SdpSession s;
  s.origin = boost::asio::ip::make_address("2001:db8::1");
  s.group = boost::asio::ip::make_address("ff3e:40:2001:db8::8000:1");
  s.station_name = in.field(0);
  s.now_playing = in.field(1);
  s.url = in.field(2);
  s.media = media::mpegts_mapping();
  std::string sdp = media::write_sdp(s);
  FUZZ_CHECK(sdp.size() >= 2 && sdp.ends_with("\r\n"));
  std::string_view rest = sdp;
  bool has_name = false;
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    FUZZ_CHECK(end != std::string_view::npos);
    std::string_view line = rest.substr(0, end);
    FUZZ_CHECK(!fuzz::has_any(line, forbidden));
    FUZZ_CHECK(line.size() >= 2 && line[1] == '=');
    if (line.starts_with("s=")) has_name = line.size() > 2;
    if (line.starts_with("i=") || line.starts_with("s=")) FUZZ_CHECK(fuzz::valid_utf8(line));
    rest.remove_prefix(end + 2);
  }
  FUZZ_CHECK(has_name);
  FUZZ_CHECK(media::sdp_origin_line(sdp) == std::string(media::sdp_origin_line(sdp)));
  return 0;
}
