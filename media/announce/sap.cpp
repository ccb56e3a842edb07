// sap.cpp — SAP packet encoding and decoding (RFC 2974 §3).
#include "media/announce/sap.hpp"

#include <algorithm>
#include <cstring>

namespace joincast::media {

namespace {
constexpr std::uint8_t kVersion1 = 0x20;  // V=1 in the top three bits
constexpr std::uint8_t kFlagA = 0x10;     // originating source is IPv6
constexpr std::uint8_t kFlagR = 0x08;     // reserved
constexpr std::uint8_t kFlagT = 0x04;     // deletion
constexpr std::uint8_t kFlagE = 0x02;     // encrypted
constexpr std::uint8_t kFlagC = 0x01;     // compressed
}  // namespace

std::vector<std::byte> encode_sap(const SapMessage& m) {
  std::vector<std::byte> out;
  bool v6 = m.origin.is_v6();
  out.reserve(4 + 16 + m.payload_type.size() + 1 + m.payload.size());
  std::uint8_t flags = kVersion1 | (v6 ? kFlagA : 0) | (m.deletion ? kFlagT : 0);
  out.push_back(std::byte{flags});
  out.push_back(std::byte{0});  // authentication length
  out.push_back(static_cast<std::byte>(m.msg_id_hash >> 8));
  out.push_back(static_cast<std::byte>(m.msg_id_hash & 0xff));
  if (v6) {
    auto b = m.origin.to_v6().to_bytes();
    for (auto c : b) out.push_back(std::byte{c});
  } else {
    auto b = m.origin.to_v4().to_bytes();
    for (auto c : b) out.push_back(std::byte{c});
  }
  // §3: the payload type is optional, but receivers (VLC, FFmpeg) look for
  // it, so it is always written.
  for (char c : m.payload_type.empty() ? std::string(kSdpMimeType) : m.payload_type) out.push_back(std::byte(c));
  out.push_back(std::byte{0});
  for (char c : m.payload) out.push_back(std::byte(c));
  return out;
}

Result<SapMessage> decode_sap(std::span<const std::byte> p) {
  auto bad = errno_error(EBADMSG);
  if (p.size() < 4) return bad;
  auto u8 = [&](std::size_t i) { return std::to_integer<std::uint8_t>(p[i]); };
  std::uint8_t flags = u8(0);
  if ((flags & 0xe0) != kVersion1) return bad;
  SapMessage m;
  bool v6 = flags & kFlagA;
  m.deletion = flags & kFlagT;
  m.encrypted = flags & kFlagE;
  m.compressed = flags & kFlagC;
  std::size_t auth_len = std::size_t{u8(1)} * 4;  // 32-bit words
  m.msg_id_hash = static_cast<std::uint16_t>(u8(2) << 8 | u8(3));
  // §3: "A value of zero is not valid" only for announcements that
  // change; receivers accept zero for compatibility with SAPv0, we don't.
  if (m.msg_id_hash == 0) return bad;
  std::size_t pos = 4;
  std::size_t addr_len = v6 ? 16 : 4;
  if (p.size() < pos + addr_len + auth_len) return bad;
  if (v6) {
    boost::asio::ip::address_v6::bytes_type b{};
    std::memcpy(b.data(), p.data() + pos, 16);
    m.origin = boost::asio::ip::address_v6(b);
  } else {
    boost::asio::ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), p.data() + pos, 4);
    m.origin = boost::asio::ip::address_v4(b);
  }
  pos += addr_len + auth_len;
  auto rest = p.subspan(pos);
  std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());
  // §3: the optional payload type is a MIME type and NUL; an SDP payload
  // without it starts with "v=0".
  if (text.starts_with("v=0")) {
    m.payload = std::string(text);
    return m;
  }
  auto nul = text.find('\0');
  if (nul == std::string_view::npos) {
    // A deletion may carry just "o=..." without a type.
    if (m.deletion && text.starts_with("o=")) {
      m.payload = std::string(text);
      return m;
    }
    return bad;
  }
  m.payload_type = std::string(text.substr(0, nul));
  m.payload = std::string(text.substr(nul + 1));
  return m;
}

std::uint16_t sap_msg_id_hash(std::string_view sdp, std::uint64_t salt, std::uint16_t previous) {
  // FNV-1a over the salt and the text, folded to 16 bits.
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  for (int i = 0; i < 8; ++i) mix(static_cast<std::uint8_t>(salt >> (8 * i)));
  for (char c : sdp) mix(static_cast<std::uint8_t>(c));
  auto folded = static_cast<std::uint16_t>((h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) & 0xffff);
  // Never zero, never the hash the previous version went out under.
  while (folded == 0 || folded == previous) folded = static_cast<std::uint16_t>(folded * 31u + 7u);
  return folded;
}

boost::asio::ip::address sap_well_known_group(const boost::asio::ip::address& group) {
  if (group.is_v6()) {
    auto b = group.to_v6().to_bytes();
    unsigned scope = b[1] & 0x0f;
    boost::asio::ip::address_v6::bytes_type sap{};
    sap[0] = 0xff;
    sap[1] = static_cast<unsigned char>(scope);  // ff0X::2:7ffe
    sap[13] = 0x02;
    sap[14] = 0x7f;
    sap[15] = 0xfe;
    return boost::asio::ip::address_v6(sap);
  }
  auto v = group.to_v4().to_uint();
  if ((v & 0xffff0000u) == 0xefff0000u) return boost::asio::ip::address_v4(0xefffffffu);  // 239.255/16 local
  if ((v & 0xfffc0000u) == 0xefc00000u) return boost::asio::ip::address_v4(0xefc3ffffu);  // 239.192/14 org
  if ((v & 0xff000000u) == 0xef000000u) return boost::asio::ip::address_v4(0xefffffffu);
  return boost::asio::ip::address_v4(0xe0027ffeu);  // 224.2.127.254 global
}

std::chrono::milliseconds sap_base_interval(std::size_t ads, std::size_t packet_bytes, std::chrono::milliseconds floor) {
  // 8 bits * ads * bytes / 4000 bit/s, in milliseconds.
  auto ms = static_cast<std::int64_t>(8 * std::max<std::size_t>(ads, 1) * packet_bytes * 1000 / 4000);
  return std::max(floor, std::chrono::milliseconds(ms));
}

std::chrono::milliseconds sap_jittered(std::chrono::milliseconds base, std::uint64_t random) {
  auto third = base.count() / 3;
  if (third <= 0) return base;
  auto span = static_cast<std::uint64_t>(2 * third + 1);
  auto offset = static_cast<std::int64_t>(random % span) - third;
  return std::chrono::milliseconds(base.count() + offset);
}

}  // namespace joincast::media
