// rtcp.cpp — RTCP parsing, building and SR stamping (RFC 3550 §6, §A.2).
#include "media/rtcp/rtcp.hpp"

#include <algorithm>
#include <chrono>

namespace joincast::media {

namespace {

std::uint8_t u8(std::span<const std::byte> p, std::size_t i) { return std::to_integer<std::uint8_t>(p[i]); }
std::uint16_t be16(std::span<const std::byte> p, std::size_t i) {
  return static_cast<std::uint16_t>(u8(p, i) << 8 | u8(p, i + 1));
}
std::uint32_t be32(std::span<const std::byte> p, std::size_t i) {
  return static_cast<std::uint32_t>(u8(p, i)) << 24 | static_cast<std::uint32_t>(u8(p, i + 1)) << 16 |
         static_cast<std::uint32_t>(u8(p, i + 2)) << 8 | u8(p, i + 3);
}

void put8(std::vector<std::byte>& out, unsigned v) { out.push_back(static_cast<std::byte>(v & 0xff)); }
void put16(std::vector<std::byte>& out, unsigned v) {
  put8(out, v >> 8);
  put8(out, v);
}
void put32(std::vector<std::byte>& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xffff);
}
void set32(std::span<std::byte> p, std::size_t i, std::uint32_t v) {
  p[i] = static_cast<std::byte>(v >> 24);
  p[i + 1] = static_cast<std::byte>(v >> 16);
  p[i + 2] = static_cast<std::byte>(v >> 8);
  p[i + 3] = static_cast<std::byte>(v);
}
// Writes the header's length field (§6.4.1: 32-bit words minus one).
void finish_length(std::vector<std::byte>& out) {
  while (out.size() % 4) out.push_back(std::byte{0});
  auto words = out.size() / 4 - 1;
  out[2] = static_cast<std::byte>(words >> 8);
  out[3] = static_cast<std::byte>(words & 0xff);
}

ReportBlock parse_block(std::span<const std::byte> p, std::size_t at) {
  ReportBlock b;
  b.ssrc = be32(p, at);
  b.fraction_lost = u8(p, at + 4);
  std::uint32_t lost = static_cast<std::uint32_t>(u8(p, at + 5)) << 16 | static_cast<std::uint32_t>(u8(p, at + 6)) << 8 |
                       u8(p, at + 7);
  // 24-bit two's complement (§6.4.1: may be negative with duplicates).
  b.cumulative_lost = (lost & 0x800000u) ? static_cast<std::int32_t>(lost) - 0x1000000 : static_cast<std::int32_t>(lost);
  b.highest_seq = be32(p, at + 8);
  b.jitter = be32(p, at + 12);
  b.last_sr = be32(p, at + 16);
  b.delay_since_sr = be32(p, at + 20);
  return b;
}

void put_block(std::vector<std::byte>& out, const ReportBlock& b) {
  put32(out, b.ssrc);
  put8(out, b.fraction_lost);
  auto lost = static_cast<std::uint32_t>(b.cumulative_lost) & 0xffffffu;
  put8(out, lost >> 16);
  put16(out, lost & 0xffff);
  put32(out, b.highest_seq);
  put32(out, b.jitter);
  put32(out, b.last_sr);
  put32(out, b.delay_since_sr);
}

bool parse_sdes(std::span<const std::byte> body, unsigned count, RtcpCompound& out) {
  std::size_t pos = 0;
  for (unsigned c = 0; c < count; ++c) {
    if (pos + 4 > body.size()) return false;
    SdesChunk chunk;
    chunk.ssrc = be32(body, pos);
    pos += 4;
    // Items until a zero type byte, then padding to the next 32-bit word.
    for (;;) {
      if (pos >= body.size()) return false;
      std::uint8_t type = u8(body, pos);
      if (type == 0) {
        pos = (pos + 4) & ~std::size_t{3};
        break;
      }
      if (pos + 2 > body.size()) return false;
      std::size_t len = u8(body, pos + 1);
      if (pos + 2 + len > body.size()) return false;
      std::string text(reinterpret_cast<const char*>(body.data() + pos + 2), len);
      if (type == 1) chunk.cname = std::move(text);
      else if (type == 2) chunk.name = std::move(text);
      else if (type == 6) chunk.tool = std::move(text);
      pos += 2 + len;
    }
    if (pos > body.size()) return false;
    out.sdes.push_back(std::move(chunk));
  }
  return true;
}

}  // namespace

bool is_rtcp(std::span<const std::byte> packet) {
  if (packet.size() < 2) return false;
  auto pt = u8(packet, 1);
  return pt >= kRtcpSr && pt <= kRtcpApp;
}

Result<RtcpCompound> parse_rtcp(std::span<const std::byte> p) {
  auto bad = errno_error(EBADMSG);
  if (p.size() < 4 || p.size() % 4) return bad;
  RtcpCompound out;
  std::size_t pos = 0;
  bool first = true;
  while (pos < p.size()) {
    if (p.size() - pos < 4) return bad;
    std::uint8_t b0 = u8(p, pos);
    if ((b0 >> 6) != 2) return bad;
    bool padding = b0 & 0x20;
    unsigned count = b0 & 0x1f;
    std::uint8_t type = u8(p, pos + 1);
    std::size_t size = (std::size_t{be16(p, pos + 2)} + 1) * 4;
    if (size > p.size() - pos) return bad;
    bool last = pos + size == p.size();
    // §A.2: the first packet is an SR or RR and carries no padding; only
    // the last packet of a compound may be padded.
    if (first && ((type != kRtcpSr && type != kRtcpRr) || padding)) return bad;
    if (padding && !last) return bad;
    std::size_t body_size = size - 4;
    if (padding) {
      std::size_t pad = u8(p, pos + size - 1);
      if (pad == 0 || pad > body_size) return bad;
      body_size -= pad;
    }
    auto body = p.subspan(pos + 4, body_size);
    switch (type) {
      case kRtcpSr:
      case kRtcpRr: {
        std::size_t fixed = type == kRtcpSr ? 24 : 4;  // SSRC (+ sender info)
        if (body.size() < fixed + count * 24) return bad;
        RtcpReport r;
        r.ssrc = be32(body, 0);
        if (type == kRtcpSr) {
          SenderInfo s;
          s.ntp = std::uint64_t{be32(body, 4)} << 32 | be32(body, 8);
          s.rtp_timestamp = be32(body, 12);
          s.packet_count = be32(body, 16);
          s.octet_count = be32(body, 20);
          r.sender = s;
        }
        for (unsigned i = 0; i < count; ++i) r.blocks.push_back(parse_block(body, fixed + i * 24));
        out.reports.push_back(std::move(r));
        break;
      }
      case kRtcpSdes:
        if (!parse_sdes(body, count, out)) return bad;
        break;
      case kRtcpBye: {
        if (body.size() < count * 4) return bad;
        ByePacket bye;
        for (unsigned i = 0; i < count; ++i) bye.ssrcs.push_back(be32(body, i * 4));
        std::size_t at = count * 4;
        if (at < body.size()) {
          std::size_t len = u8(body, at);
          if (at + 1 + len > body.size()) return bad;
          bye.reason.assign(reinterpret_cast<const char*>(body.data() + at + 1), len);
        }
        out.byes.push_back(std::move(bye));
        break;
      }
      case kRtcpApp:
        if (body.size() < 8) return bad;  // SSRC and name
        ++out.app_packets;
        break;
      default:
        ++out.unknown_packets;
        break;
    }
    first = false;
    pos += size;
  }
  return out;
}

// A packet's count field has 5 bits (§6.4.2, §6.6): more than 31 report
// blocks or SSRCs go into further packets of the same type. body(packet,
// first, n) writes items [first, first + n) of one packet; there is always
// at least one packet.
constexpr std::size_t kMaxRtcpCount = 31;

template <class Body>
std::vector<std::byte> packets_of(std::uint8_t type, std::size_t items, Body body) {
  std::vector<std::byte> out;
  std::size_t first = 0;
  do {
    std::size_t n = std::min(items - first, kMaxRtcpCount);
    std::vector<std::byte> packet;
    put8(packet, 0x80 | static_cast<unsigned>(n));
    put8(packet, type);
    put16(packet, 0);
    body(packet, first, n);
    finish_length(packet);
    out.insert(out.end(), packet.begin(), packet.end());
    first += n;
  } while (first < items);
  return out;
}

std::vector<std::byte> build_receiver_report(std::uint32_t ssrc, std::span<const ReportBlock> blocks) {
  return packets_of(kRtcpRr, blocks.size(), [&](std::vector<std::byte>& packet, std::size_t first, std::size_t n) {
    put32(packet, ssrc);
    for (std::size_t k = 0; k < n; ++k) put_block(packet, blocks[first + k]);
  });
}

std::vector<std::byte> build_sender_report(std::uint32_t ssrc, const SenderInfo& info) {
  std::vector<std::byte> out;
  put8(out, 0x80);
  put8(out, kRtcpSr);
  put16(out, 0);
  put32(out, ssrc);
  put32(out, static_cast<std::uint32_t>(info.ntp >> 32));
  put32(out, static_cast<std::uint32_t>(info.ntp));
  put32(out, info.rtp_timestamp);
  put32(out, info.packet_count);
  put32(out, info.octet_count);
  finish_length(out);
  return out;
}

std::vector<std::byte> build_sdes(std::uint32_t ssrc, std::string_view cname, std::string_view tool) {
  std::vector<std::byte> out;
  put8(out, 0x81);
  put8(out, kRtcpSdes);
  put16(out, 0);
  put32(out, ssrc);
  auto item = [&](unsigned type, std::string_view text) {
    if (text.size() > 255) text = text.substr(0, 255);
    put8(out, type);
    put8(out, static_cast<unsigned>(text.size()));
    for (char c : text) out.push_back(static_cast<std::byte>(c));
  };
  item(1, cname);
  if (!tool.empty()) item(6, tool);
  put8(out, 0);  // end of items; finish_length pads to a word
  finish_length(out);
  return out;
}

std::vector<std::byte> build_bye(std::span<const std::uint32_t> ssrcs, std::string_view reason) {
  return packets_of(kRtcpBye, ssrcs.size(), [&](std::vector<std::byte>& packet, std::size_t first, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) put32(packet, ssrcs[first + k]);
    if (first + n == ssrcs.size() && !reason.empty()) {  // the reason once, in the last packet
      std::string_view text = reason.substr(0, 255);
      put8(packet, static_cast<unsigned>(text.size()));
      for (char c : text) packet.push_back(static_cast<std::byte>(c));
    }
  });
}

bool stamp_sender_report(std::span<std::byte> p, const SenderInfo& info) {
  if (p.size() < 28 || (u8(p, 0) >> 6) != 2 || u8(p, 1) != kRtcpSr) return false;
  if ((std::size_t{be16(p, 2)} + 1) * 4 < 28) return false;
  set32(p, 8, static_cast<std::uint32_t>(info.ntp >> 32));
  set32(p, 12, static_cast<std::uint32_t>(info.ntp));
  set32(p, 16, info.rtp_timestamp);
  set32(p, 20, info.packet_count);
  set32(p, 24, info.octet_count);
  return true;
}

std::uint64_t ntp_timestamp_now() {
  using namespace std::chrono;
  auto since_unix = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
  constexpr std::uint64_t kUnixToNtp = 2208988800ull;  // 1900-01-01 to 1970-01-01 in seconds
  auto ns = static_cast<std::uint64_t>(since_unix);
  std::uint64_t seconds = ns / 1000000000ull + kUnixToNtp;
  std::uint64_t fraction = ((ns % 1000000000ull) << 32) / 1000000000ull;
  return seconds << 32 | fraction;
}

}  // namespace joincast::media
