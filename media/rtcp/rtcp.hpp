// rtcp.hpp — RTCP packets (RFC 3550 §6): parsing compound packets from
// listeners with the §A.2 validity checks, building the receiver's
// reports (used by `joincast listen` and the tests), and stamping the
// sender report libavformat writes at the moment it actually leaves.
#pragma once

#include "media/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace joincast::media {

inline constexpr std::uint8_t kRtcpSr = 200;
inline constexpr std::uint8_t kRtcpRr = 201;
inline constexpr std::uint8_t kRtcpSdes = 202;
inline constexpr std::uint8_t kRtcpBye = 203;
inline constexpr std::uint8_t kRtcpApp = 204;

// True if a datagram on the RTP path is RTCP: the second byte is a packet
// type 200..204 (RFC 5761 §4; libavformat's muxer writes both through one
// output).
bool is_rtcp(std::span<const std::byte> packet);

// §6.4.1 report block.
struct ReportBlock {
  std::uint32_t ssrc = 0;              // the source this block is about
  std::uint8_t fraction_lost = 0;      // of 256, since the last report
  std::int32_t cumulative_lost = 0;    // 24-bit signed
  std::uint32_t highest_seq = 0;       // extended highest sequence number
  std::uint32_t jitter = 0;            // in RTP timestamp units
  std::uint32_t last_sr = 0;           // LSR: middle 32 bits of the SR's NTP time
  std::uint32_t delay_since_sr = 0;    // DLSR, 1/65536 s
  bool operator==(const ReportBlock&) const = default;
};

struct SenderInfo {
  std::uint64_t ntp = 0;  // NTP timestamp, 32.32 fixed point
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packet_count = 0;
  std::uint32_t octet_count = 0;
};

struct RtcpReport {  // an SR or RR
  std::uint32_t ssrc = 0;
  std::optional<SenderInfo> sender;  // set for SR
  std::vector<ReportBlock> blocks;
};

struct SdesChunk {
  std::uint32_t ssrc = 0;
  std::string cname;  // item 1
  std::string name;   // item 2
  std::string tool;   // item 6
};

struct ByePacket {
  std::vector<std::uint32_t> ssrcs;
  std::string reason;
};

struct RtcpCompound {
  std::vector<RtcpReport> reports;
  std::vector<SdesChunk> sdes;
  std::vector<ByePacket> byes;
  std::size_t app_packets = 0;
  std::size_t unknown_packets = 0;  // other packet types (RTPFB, XR, ...), skipped
};

// Parses one compound packet with RFC 3550 §A.2's checks: version 2 in
// every packet, the first an SR or RR without padding, padding only in the
// last, lengths adding up exactly to the datagram, and every report block
// and SDES item inside its packet. EBADMSG otherwise.
Result<RtcpCompound> parse_rtcp(std::span<const std::byte> packet);

// Builders for the receiving side. Each returns one RTCP packet (an RR or
// BYE with more than 31 blocks or SSRCs: several of that type, §6.4.2);
// append them to make a compound (RR or SR first, §6.1).
std::vector<std::byte> build_receiver_report(std::uint32_t ssrc, std::span<const ReportBlock> blocks);
std::vector<std::byte> build_sdes(std::uint32_t ssrc, std::string_view cname, std::string_view tool = {});
std::vector<std::byte> build_bye(std::span<const std::uint32_t> ssrcs, std::string_view reason = {});
std::vector<std::byte> build_sender_report(std::uint32_t ssrc, const SenderInfo& info);

// Overwrites the sender info of the SR that starts packet (as libavformat
// writes it: SR, then SDES, optionally BYE). False if packet does not start
// with a complete SR.
bool stamp_sender_report(std::span<std::byte> packet, const SenderInfo& info);

// The NTP timestamp (RFC 5905, 32.32) of a system_clock time.
std::uint64_t ntp_timestamp_now();
// The middle 32 bits of an NTP timestamp, as LSR carries it.
inline std::uint32_t ntp_middle(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp >> 16); }

}  // namespace joincast::media
