// sdp.hpp — joincast's own SDP writer (RFC 8866). libavformat's writer
// truncates long IPv6 groups and hard-codes the origin, so the session
// description is built here from what the session knows: the sending
// address, the group, the station's metadata and the codec's RTP mapping.
//
// Text that came from the network (station name, now playing, URL) is
// sanitised: no CR, LF or other control character can reach the output, so
// nothing a station sends can end a line or add one; over-long text is cut
// at a UTF-8 character boundary.
#pragma once

#include "media/rtp/rtp_mapping.hpp"

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace joincast::media {

struct SdpSession {
  boost::asio::ip::address origin;  // the address the stream is sent from
  std::uint64_t session_id = 0;     // o= sess-id: stable for the session
  std::uint64_t version = 0;        // o= sess-version: grows with every change
  std::string station_name;         // s= (raw; sanitised here)
  std::string now_playing;          // i= (raw; omitted when empty)
  std::string url;                  // u= (raw; omitted when empty or unusable)
  boost::asio::ip::address group;   // c=
  unsigned ttl = 16;                // IPv4 only: c=IN IP4 <group>/<ttl>
  std::uint16_t port = 5004;        // m= port (RTCP is port + 1)
  RtpMapping media;
};

// Limits on network-supplied text, in bytes of UTF-8.
inline constexpr std::size_t kSdpNameMax = 127;
inline constexpr std::size_t kSdpInfoMax = 255;
inline constexpr std::size_t kSdpUriMax = 255;

// The whole description, CRLF line ends (RFC 8866 §5), fields in the
// order §5 requires.
std::string write_sdp(const SdpSession& session);

// A text field's value: invalid UTF-8 becomes U+FFFD, every control
// character (C0, DEL, C1, U+2028/2029) becomes a space, runs of spaces
// collapse, ends are trimmed, and the result is cut to at most max_bytes
// without splitting a character.
std::string sanitize_sdp_text(std::string_view text, std::size_t max_bytes);

// A u= value: a URI with a scheme, characters outside RFC 3986 percent-
// encoded; empty if nothing usable is left.
std::string sanitize_sdp_uri(std::string_view uri, std::size_t max_bytes);

// An address as SDP writes it: RFC 5952 text, no zone index.
std::string sdp_address(const boost::asio::ip::address& address);

// The o= line of a description (without CRLF), empty if it has none. A SAP
// deletion carries only this line.
std::string sdp_origin_line(std::string_view sdp);

}  // namespace joincast::media
