// packet_builder.cpp — see packet_builder.hpp.
#include "tests/bpf/packet_builder.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace joincast::tests {

namespace {

constexpr std::uint8_t proto_hopopts = 0;
constexpr std::uint8_t proto_igmp = 2;
constexpr std::uint8_t proto_tcp = 6;
constexpr std::uint8_t proto_udp = 17;
constexpr std::uint8_t proto_icmpv6 = 58;

void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}

void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v >> 8);
  b.at(at + 1) = static_cast<std::uint8_t>(v);
}

void put_addr(Bytes& b, const Address16& a, bool v4) {
  if (v4) b.insert(b.end(), a.begin() + 12, a.end());
  else b.insert(b.end(), a.begin(), a.end());
}

// One's complement sum of data, not yet folded.
std::uint32_t sum16(const std::uint8_t* data, std::size_t len, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < len; i += 2)
    sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<std::uint32_t>(data[len - 1] << 8);
  return sum;
}

Bytes records_bytes(const std::vector<GroupRecord>& records, bool v4) {
  Bytes out;
  for (const auto& r : records) {
    out.push_back(r.type);
    out.push_back(r.aux_words);
    put16(out, r.claimed_sources.value_or(static_cast<std::uint16_t>(r.sources.size())));
    put_addr(out, r.group, v4);
    for (const auto& s : r.sources) put_addr(out, s, v4);
    out.insert(out.end(), std::size_t{r.aux_words} * 4, 0);
  }
  return out;
}

}  // namespace

std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t seed) {
  std::uint32_t sum = sum16(data, len, seed);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Address16 addr(std::string_view text) {
  auto a = joincast::daemon::membership::loader::parse_address(std::string(text));
  if (!a) throw std::invalid_argument("not an address: " + std::string(text));
  return *a;
}

PacketBuilder& PacketBuilder::vlan(std::uint16_t id, std::uint16_t tpid) {
  tags_.push_back({tpid, id});
  return *this;
}

PacketBuilder& PacketBuilder::eth_dst(Mac mac) {
  eth_dst_ = mac;
  return *this;
}

PacketBuilder& PacketBuilder::eth_src(Mac mac) {
  eth_src_ = mac;
  return *this;
}

PacketBuilder& PacketBuilder::hop_limit(std::uint8_t value) {
  hop_limit_ = value;
  return *this;
}

PacketBuilder& PacketBuilder::no_udp_checksum() {
  no_udp_checksum_ = true;
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst) {
  l3_ = L3::ipv4;
  ethertype_ = 0x0800;
  src_ = addr(src);
  dst_ = addr(dst);
  return *this;
}

PacketBuilder& PacketBuilder::no_router_alert() {
  router_alert_ = false;
  return *this;
}

PacketBuilder& PacketBuilder::ipv4_fragment(std::uint16_t frag_off) {
  frag_off_ = frag_off;
  return *this;
}

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst) {
  l3_ = L3::ipv6;
  ethertype_ = 0x86dd;
  src_ = addr(src);
  dst_ = addr(dst);
  return *this;
}

PacketBuilder& PacketBuilder::no_hop_by_hop() {
  hop_by_hop_ = false;
  return *this;
}

PacketBuilder& PacketBuilder::ipv6_extension(std::uint8_t type, Bytes body) {
  extensions_.push_back({type, std::move(body)});
  return *this;
}

PacketBuilder& PacketBuilder::message(std::uint8_t protocol, Bytes bytes, std::optional<std::size_t> checksum_at) {
  protocol_ = protocol;
  message_ = std::move(bytes);
  checksum_at_ = checksum_at;
  return *this;
}

// IGMP: type, code (max resp), checksum, group (RFC 2236 §2).
PacketBuilder& PacketBuilder::igmp_raw(std::uint8_t type, std::uint8_t code, Bytes rest) {
  Bytes m{type, code, 0, 0};
  m.insert(m.end(), rest.begin(), rest.end());
  return message(proto_igmp, std::move(m), 2);
}

PacketBuilder& PacketBuilder::igmp_v1_report(std::string_view group) {
  Bytes g;
  put_addr(g, addr(group), true);
  return igmp_raw(0x12, 0, g);
}

PacketBuilder& PacketBuilder::igmp_v2_report(std::string_view group) {
  Bytes g;
  put_addr(g, addr(group), true);
  return igmp_raw(0x16, 0, g);
}

PacketBuilder& PacketBuilder::igmp_v2_leave(std::string_view group) {
  Bytes g;
  put_addr(g, addr(group), true);
  return igmp_raw(0x17, 0, g);
}

PacketBuilder& PacketBuilder::igmp_v1_query() { return igmp_raw(0x11, 0, {0, 0, 0, 0}); }

PacketBuilder& PacketBuilder::igmp_v2_query(std::uint8_t max_resp_code, std::string_view group) {
  Bytes g;
  put_addr(g, addr(group), true);
  return igmp_raw(0x11, max_resp_code, g);
}

// RFC 3376 §4.1: ..., group, Resv|S|QRV, QQIC, number of sources, sources.
PacketBuilder& PacketBuilder::igmp_v3_query(std::uint8_t max_resp_code, std::uint8_t s_qrv, std::uint8_t qqic,
                                            std::string_view group, std::vector<Address16> sources) {
  Bytes rest;
  put_addr(rest, addr(group), true);
  rest.push_back(s_qrv);
  rest.push_back(qqic);
  put16(rest, static_cast<std::uint16_t>(sources.size()));
  for (const auto& s : sources) put_addr(rest, s, true);
  return igmp_raw(0x11, max_resp_code, rest);
}

// RFC 3376 §4.2: type 0x22, reserved, checksum, reserved(16), number of
// group records(16), records.
PacketBuilder& PacketBuilder::igmp_v3_report(std::vector<GroupRecord> records) {
  Bytes m{0x22, 0, 0, 0, 0, 0};
  put16(m, static_cast<std::uint16_t>(records.size()));
  Bytes body = records_bytes(records, true);
  m.insert(m.end(), body.begin(), body.end());
  message(proto_igmp, std::move(m), 2);
  record_count_at_ = 6;
  return *this;
}

// ICMPv6: type, code, checksum, then the body (RFC 4443 §2.1).
PacketBuilder& PacketBuilder::icmpv6(std::uint8_t type, std::uint8_t code, Bytes body) {
  Bytes m{type, code, 0, 0};
  m.insert(m.end(), body.begin(), body.end());
  return message(proto_icmpv6, std::move(m), 2);
}

// MLDv1 (RFC 2710 §3): ..., maximum response delay, reserved, address.
PacketBuilder& PacketBuilder::mld_v1_query(std::uint16_t max_resp_ms, std::string_view group) {
  Bytes body;
  put16(body, max_resp_ms);
  put16(body, 0);
  put_addr(body, addr(group), false);
  return icmpv6(130, 0, body);
}

PacketBuilder& PacketBuilder::mld_v1_report(std::string_view group) {
  Bytes body(4, 0);
  put_addr(body, addr(group), false);
  return icmpv6(131, 0, body);
}

PacketBuilder& PacketBuilder::mld_v1_done(std::string_view group) {
  Bytes body(4, 0);
  put_addr(body, addr(group), false);
  return icmpv6(132, 0, body);
}

// RFC 3810 §5.1: ..., max resp code, reserved, address, Resv|S|QRV, QQIC,
// number of sources, sources.
PacketBuilder& PacketBuilder::mld_v2_query(std::uint16_t max_resp_code, std::uint8_t s_qrv, std::uint8_t qqic,
                                           std::string_view group, std::vector<Address16> sources) {
  Bytes body;
  put16(body, max_resp_code);
  put16(body, 0);
  put_addr(body, addr(group), false);
  body.push_back(s_qrv);
  body.push_back(qqic);
  put16(body, static_cast<std::uint16_t>(sources.size()));
  for (const auto& s : sources) put_addr(body, s, false);
  return icmpv6(130, 0, body);
}

// RFC 3810 §5.2: type 143, reserved, checksum, reserved(16), number of
// multicast address records(16), records.
PacketBuilder& PacketBuilder::mld_v2_report(std::vector<GroupRecord> records) {
  Bytes body{0, 0};
  put16(body, static_cast<std::uint16_t>(records.size()));
  Bytes recs = records_bytes(records, false);
  body.insert(body.end(), recs.begin(), recs.end());
  icmpv6(143, 0, body);
  record_count_at_ = 6;
  return *this;
}

PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport, Bytes payload) {
  Bytes m;
  put16(m, sport);
  put16(m, dport);
  put16(m, static_cast<std::uint16_t>(8 + payload.size()));
  put16(m, 0);
  m.insert(m.end(), payload.begin(), payload.end());
  return message(proto_udp, std::move(m), 6);
}

PacketBuilder& PacketBuilder::tcp(std::uint16_t sport, std::uint16_t dport) {
  Bytes m;
  put16(m, sport);
  put16(m, dport);
  put32(m, 1);       // sequence
  put32(m, 0);       // acknowledgement
  put16(m, 0x5002);  // data offset 5, SYN
  put16(m, 65535);   // window
  put16(m, 0);       // checksum
  put16(m, 0);       // urgent
  return message(proto_tcp, std::move(m), 16);
}

// RFC 4861 §4.3: reserved, target address.
PacketBuilder& PacketBuilder::neighbour_solicitation(std::string_view target) {
  Bytes body(4, 0);
  put_addr(body, addr(target), false);
  return icmpv6(135, 0, body);
}

PacketBuilder& PacketBuilder::arp_request(std::string_view sender, std::string_view target) {
  l3_ = L3::none;
  ethertype_ = 0x0806;
  Bytes m;
  put16(m, 1);       // Ethernet
  put16(m, 0x0800);  // IPv4
  m.push_back(6);
  m.push_back(4);
  put16(m, 1);  // request
  Bytes mac{0x02, 0, 0, 0, 0, 0x01};
  m.insert(m.end(), mac.begin(), mac.end());
  put_addr(m, addr(sender), true);
  m.insert(m.end(), 6, 0);
  put_addr(m, addr(target), true);
  return message(0, std::move(m), std::nullopt);
}

PacketBuilder& PacketBuilder::ip_length(std::uint16_t value) {
  ip_length_ = value;
  return *this;
}

PacketBuilder& PacketBuilder::record_count(std::uint16_t value) {
  record_count_ = value;
  return *this;
}

PacketBuilder& PacketBuilder::bad_checksum() {
  bad_checksum_ = true;
  return *this;
}

PacketBuilder& PacketBuilder::cut_message(std::size_t bytes) {
  cut_message_ = bytes;
  return *this;
}

PacketBuilder& PacketBuilder::truncate(std::size_t frame_bytes) {
  truncate_ = frame_bytes;
  return *this;
}

Bytes PacketBuilder::build() const {
  Bytes msg = message_;
  if (record_count_ && record_count_at_) set16(msg, *record_count_at_, *record_count_);
  if (cut_message_) msg.resize(std::min(msg.size(), *cut_message_));

  // Extension headers (IPv6): hop-by-hop first, then the requested ones;
  // each header's first byte names the one after it.
  Bytes ext;
  std::vector<std::uint8_t> chain;
  if (l3_ == L3::ipv6) {
    if (hop_by_hop_) chain.push_back(proto_hopopts);
    for (const auto& e : extensions_) chain.push_back(e.type);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      std::uint8_t next = i + 1 < chain.size() ? chain[i + 1] : protocol_;
      Bytes h{next, 0};
      bool is_hbh = hop_by_hop_ && i == 0;
      if (is_hbh) {
        // Router Alert, value 0 = MLD (RFC 2711), then two Pad1 options.
        h.insert(h.end(), {0x05, 0x02, 0x00, 0x00, 0x00, 0x00});
      } else {
        const Bytes& body = extensions_[hop_by_hop_ ? i - 1 : i].body;
        h.insert(h.end(), body.begin(), body.end());
        while (h.size() < 8 || h.size() % 8) h.push_back(0);
        h[1] = static_cast<std::uint8_t>(h.size() / 8 - 1);
      }
      ext.insert(ext.end(), h.begin(), h.end());
    }
  }

  // The message's checksum: IGMP over the message alone (RFC 2236 §2.3);
  // UDP/TCP/ICMPv6 over a pseudo-header too (RFC 8200 §8.1, RFC 768).
  if (checksum_at_ && *checksum_at_ + 1 < msg.size()) {
    std::uint32_t seed = 0;
    if (protocol_ != proto_igmp) {
      bool v4 = l3_ == L3::ipv4;
      Bytes pseudo;
      put_addr(pseudo, src_, v4);
      put_addr(pseudo, dst_, v4);
      if (v4) {
        pseudo.push_back(0);
        pseudo.push_back(protocol_);
        put16(pseudo, static_cast<std::uint16_t>(msg.size()));
      } else {
        put32(pseudo, static_cast<std::uint32_t>(msg.size()));
        pseudo.insert(pseudo.end(), {0, 0, 0, protocol_});
      }
      seed = sum16(pseudo.data(), pseudo.size(), 0);
    }
    set16(msg, *checksum_at_, 0);
    std::uint16_t csum = inet_checksum(msg.data(), msg.size(), seed);
    if (bad_checksum_) csum = static_cast<std::uint16_t>(csum ^ 0x5a5a);
    if (no_udp_checksum_ && protocol_ == proto_udp) csum = 0;
    else if (csum == 0 && protocol_ == proto_udp) csum = 0xffff;  // RFC 768: 0 is sent as all ones
    set16(msg, *checksum_at_, csum);
  }

  Bytes frame;
  // Ethernet: multicast MAC for the destination (RFC 1112 §6.4, RFC 2464 §7).
  if (l3_ == L3::ipv4) frame = {0x01, 0x00, 0x5e, static_cast<std::uint8_t>(dst_[13] & 0x7f), dst_[14], dst_[15]};
  else if (l3_ == L3::ipv6) frame = {0x33, 0x33, dst_[12], dst_[13], dst_[14], dst_[15]};
  else frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (l3_ == L3::ipv4 && dst_[12] == 0xff && dst_[13] == 0xff && dst_[14] == 0xff && dst_[15] == 0xff)
    frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (eth_dst_) frame.assign(eth_dst_->begin(), eth_dst_->end());
  if (eth_src_) frame.insert(frame.end(), eth_src_->begin(), eth_src_->end());
  else frame.insert(frame.end(), {0x02, 0x00, 0x00, 0x00, 0x00, 0x01});
  for (const auto& t : tags_) {
    put16(frame, t.tpid);
    put16(frame, t.tci);
  }
  put16(frame, ethertype_);

  if (l3_ == L3::ipv4) {
    Bytes ip{0x45, 0xc0};
    if (router_alert_) ip[0] = 0x46;
    std::size_t hlen = router_alert_ ? 24 : 20;
    put16(ip, ip_length_.value_or(static_cast<std::uint16_t>(hlen + msg.size())));
    put16(ip, 0);  // identification
    put16(ip, frag_off_);
    ip.push_back(hop_limit_);  // TTL
    ip.push_back(protocol_);
    put16(ip, 0);
    put_addr(ip, src_, true);
    put_addr(ip, dst_, true);
    if (router_alert_) ip.insert(ip.end(), {0x94, 0x04, 0x00, 0x00});  // RFC 2113
    set16(ip, 10, inet_checksum(ip.data(), ip.size()));
    frame.insert(frame.end(), ip.begin(), ip.end());
  } else if (l3_ == L3::ipv6) {
    put32(frame, 0x60000000);
    put16(frame, ip_length_.value_or(static_cast<std::uint16_t>(ext.size() + msg.size())));
    frame.push_back(chain.empty() ? protocol_ : chain.front());
    frame.push_back(hop_limit_);
    put_addr(frame, src_, false);
    put_addr(frame, dst_, false);
    frame.insert(frame.end(), ext.begin(), ext.end());
  }
  frame.insert(frame.end(), msg.begin(), msg.end());
  if (truncate_) frame.resize(std::min(frame.size(), *truncate_));
  return frame;
}

}  // namespace joincast::tests
