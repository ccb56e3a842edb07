// packet_builder.hpp — crafts the frames the membership tests and the
// benchmark feed to BPF_PROG_TEST_RUN: Ethernet with optional 802.1Q/802.1ad
// tags, IPv4 (Router Alert option) or IPv6 (hop-by-hop Router Alert, other
// extension headers), and IGMPv1/v2/v3 or MLDv1/v2 messages with correct
// lengths and checksums; also UDP, TCP, ICMPv6 and ARP as the traffic the
// program must let through untouched. Every length and checksum is right
// unless the test asks for a lie (ip_length, record_count, claimed_sources,
// bad_checksum, cut_message, truncate).
//
//   Bytes frame = PacketBuilder()
//                     .ipv6("fe80::1", "ff02::16")
//                     .mld_v2_report({{JC_REC_TO_EX, addr("ff3e::1"), {}}})
//                     .build();
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace joincast::tests {

using Bytes = std::vector<std::uint8_t>;
using joincast::Address16;

// "239.1.2.3" (IPv4-mapped) or "ff3e::1"; throws std::invalid_argument.
Address16 addr(std::string_view text);

// One group record of an IGMPv3 or MLDv2 report (RFC 3376 §4.2.4,
// RFC 3810 §5.2.4).
struct GroupRecord {
  std::uint8_t type = 0;  // JC_REC_IS_IN .. JC_REC_BLOCK, or anything
  Address16 group{};
  std::vector<Address16> sources{};
  std::uint8_t aux_words = 0;                       // auxiliary data, zero-filled
  std::optional<std::uint16_t> claimed_sources{};   // a lying source count
};

class PacketBuilder {
 public:
  static constexpr std::uint16_t tpid_8021q = 0x8100;
  static constexpr std::uint16_t tpid_8021ad = 0x88a8;

  // Layer 2: tags in the order they appear on the wire (outer first).
  PacketBuilder& vlan(std::uint16_t id, std::uint16_t tpid = tpid_8021q);
  // Ethernet addresses other than the defaults (the destination's
  // multicast MAC, or broadcast; source 02:00:00:00:00:01).
  using Mac = std::array<std::uint8_t, 6>;
  PacketBuilder& eth_dst(Mac mac);
  PacketBuilder& eth_src(Mac mac);
  // TTL / hop limit other than 1.
  PacketBuilder& hop_limit(std::uint8_t value);

  // IPv4 with TTL 1 and the Router Alert option (RFC 2113), as hosts send
  // IGMP. Addresses in dotted form.
  PacketBuilder& ipv4(std::string_view src, std::string_view dst);
  PacketBuilder& no_router_alert();
  // A fragment offset / flags word for the IPv4 header (host order).
  PacketBuilder& ipv4_fragment(std::uint16_t frag_off);

  // IPv6 with hop limit 1 and a hop-by-hop header carrying Router Alert
  // value 0 (RFC 2711): `3a 00 05 02 00 00 00 00`.
  PacketBuilder& ipv6(std::string_view src, std::string_view dst);
  PacketBuilder& no_hop_by_hop();
  // Appends an extension header after the hop-by-hop one. body is what
  // follows the next-header and length bytes; it is zero-padded to a
  // multiple of 8 bytes overall.
  PacketBuilder& ipv6_extension(std::uint8_t type, Bytes body = {});

  // IGMP (RFC 1112, RFC 2236, RFC 3376).
  PacketBuilder& igmp_v1_report(std::string_view group);
  PacketBuilder& igmp_v2_report(std::string_view group);
  PacketBuilder& igmp_v2_leave(std::string_view group);
  PacketBuilder& igmp_v1_query();
  PacketBuilder& igmp_v2_query(std::uint8_t max_resp_code, std::string_view group = "0.0.0.0");
  PacketBuilder& igmp_v3_query(std::uint8_t max_resp_code, std::uint8_t s_qrv, std::uint8_t qqic,
                               std::string_view group = "0.0.0.0", std::vector<Address16> sources = {});
  PacketBuilder& igmp_v3_report(std::vector<GroupRecord> records);
  // Any IGMP type with an 8-byte body (for unknown types).
  PacketBuilder& igmp_raw(std::uint8_t type, std::uint8_t code, Bytes rest);

  // MLD (RFC 2710, RFC 3810).
  PacketBuilder& mld_v1_report(std::string_view group);
  PacketBuilder& mld_v1_done(std::string_view group);
  PacketBuilder& mld_v1_query(std::uint16_t max_resp_ms, std::string_view group = "::");
  PacketBuilder& mld_v2_query(std::uint16_t max_resp_code, std::uint8_t s_qrv, std::uint8_t qqic,
                              std::string_view group = "::", std::vector<Address16> sources = {});
  PacketBuilder& mld_v2_report(std::vector<GroupRecord> records);

  // Traffic that is not membership.
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport, Bytes payload);
  PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport);
  PacketBuilder& icmpv6(std::uint8_t type, std::uint8_t code, Bytes body);
  PacketBuilder& neighbour_solicitation(std::string_view target);
  PacketBuilder& arp_request(std::string_view sender, std::string_view target);

  // Lies. Each keeps every other length and checksum right.
  PacketBuilder& ip_length(std::uint16_t value);     // IPv4 total / IPv6 payload length
  PacketBuilder& record_count(std::uint16_t value);  // IGMPv3 / MLDv2 report
  PacketBuilder& bad_checksum();                     // IGMP / ICMPv6 / UDP / TCP checksum
  PacketBuilder& no_udp_checksum();                  // IPv4 UDP checksum 0 (RFC 768: none)
  PacketBuilder& cut_message(std::size_t bytes);     // message ends early; lengths follow
  PacketBuilder& truncate(std::size_t frame_bytes);  // frame ends early; lengths do not

  Bytes build() const;
  // Offset of the IP header in the built frame.
  std::size_t l3_offset() const { return 14 + 4 * tags_.size(); }

 private:
  enum class L3 { none, ipv4, ipv6 };
  struct Tag {
    std::uint16_t tpid;
    std::uint16_t tci;
  };
  struct Extension {
    std::uint8_t type;
    Bytes body;
  };

  PacketBuilder& message(std::uint8_t protocol, Bytes bytes, std::optional<std::size_t> checksum_at);

  std::vector<Tag> tags_;
  std::optional<Mac> eth_dst_, eth_src_;
  std::uint8_t hop_limit_ = 1;
  bool no_udp_checksum_ = false;
  L3 l3_ = L3::none;
  std::uint16_t ethertype_ = 0;
  Address16 src_{}, dst_{};
  bool router_alert_ = true;
  std::uint16_t frag_off_ = 0;
  bool hop_by_hop_ = true;
  std::vector<Extension> extensions_;

  std::uint8_t protocol_ = 0;  // IP protocol / next header of the message
  Bytes message_;
  std::optional<std::size_t> checksum_at_;  // offset of the message's checksum
  std::optional<std::size_t> record_count_at_;

  std::optional<std::uint16_t> ip_length_;
  std::optional<std::uint16_t> record_count_;
  bool bad_checksum_ = false;
  std::optional<std::size_t> cut_message_;
  std::optional<std::size_t> truncate_;
};

// RFC 1071 one's complement sum, folded and complemented.
std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t seed = 0);

}  // namespace joincast::tests
