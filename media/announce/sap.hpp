// sap.hpp — Session Announcement Protocol packets (RFC 2974): encoding our
// announcements and deletions, decoding what a listener hears, the message
// id hash, the announcement interval rule, and the well-known SAP group of
// a stream's scope.
#pragma once

#include "media/error.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::media {

inline constexpr std::uint16_t kSapPort = 9875;
inline constexpr std::string_view kSdpMimeType = "application/sdp";

struct SapMessage {
  bool deletion = false;            // T bit (RFC 2974 §3)
  bool encrypted = false;           // E bit: payload unreadable to us
  bool compressed = false;          // C bit: zlib payload
  std::uint16_t msg_id_hash = 0;    // must change whenever the payload does
  boost::asio::ip::address origin;  // A bit follows the family
  std::string payload_type;         // "application/sdp"; empty = none given
  std::string payload;              // the SDP (or, for a deletion, its o= line)
};

// RFC 2974 §3 header: V=1, A, R=0, T, E, C; authentication length 0
// (joincast does not sign); hash; originating source; payload type; payload.
std::vector<std::byte> encode_sap(const SapMessage& message);

// Decodes a packet; EBADMSG for anything that is not a well-formed SAPv1
// packet (wrong version, truncated header or authentication data, a zero
// hash, a payload type without its NUL).
Result<SapMessage> decode_sap(std::span<const std::byte> packet);

// A message id hash for sdp: non-zero and different from previous (RFC
// 2974 §3 "MUST be changed if the session description is modified"). The
// salt (the session id) keeps two sessions from the same origin apart.
std::uint16_t sap_msg_id_hash(std::string_view sdp, std::uint64_t salt, std::uint16_t previous);

// The well-known SAP group of group's scope (RFC 2974 §3): ff0X::2:7ffe for
// an IPv6 group of scope X; for IPv4, the top address of the administrative
// scope (239.255.255.255 for 239.255/16, 239.195.255.255 for 239.192/14)
// or 224.2.127.254 (global scope).
boost::asio::ip::address sap_well_known_group(const boost::asio::ip::address& group);

// RFC 2974 §3.1 base interval for a shared SAP group: the announcements of
// everyone on it share 4000 bit/s, interval = max(floor, 8 * ads * size /
// 4000). RFC 2974's floor is 300 s.
std::chrono::milliseconds sap_base_interval(std::size_t ads, std::size_t packet_bytes,
                                            std::chrono::milliseconds floor);

// The next announcement's delay: the base interval ± a third, uniformly
// random (RFC 2974 §3.1: "offset = rand(interval*2/3) - interval/3").
// random is any uniformly distributed 64-bit value.
std::chrono::milliseconds sap_jittered(std::chrono::milliseconds base, std::uint64_t random);

}  // namespace joincast::media
