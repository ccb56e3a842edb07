// membership_wire.cpp — see membership_wire.hpp.
#include "daemon/membership/membership_wire.hpp"

#include "membership_abi.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace joincast::daemon::membership::wire {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

Address16 mapped_v4(const std::uint8_t* v4) {
  Address16 a{};
  a[10] = a[11] = 0xff;
  std::memcpy(a.data() + 12, v4, 4);
  return a;
}

std::uint8_t qrv_byte(const QueryParams& p) {
  // Resv(4) S(1) QRV(3); a robustness above 7 is sent as 0 (RFC 3376 §4.1.6).
  std::uint8_t qrv = p.robustness <= 7 ? static_cast<std::uint8_t>(p.robustness) : 0;
  return static_cast<std::uint8_t>((p.suppress_router_processing ? 0x08 : 0) | qrv);
}

}  // namespace

std::uint8_t encode_code8(std::uint32_t value) {
  if (value < 128) return static_cast<std::uint8_t>(value);
  // value = (mant | 0x10) << (exp + 3), mant 4 bits, exp 3 bits; round down.
  for (std::uint32_t exp = 0; exp < 8; ++exp) {
    std::uint32_t m = value >> (exp + 3);
    if (m < 32) return static_cast<std::uint8_t>(0x80 | (exp << 4) | (m & 0x0f));
  }
  return 0xff;  // the largest encodable value
}

std::uint32_t decode_code8(std::uint8_t code) {
  if (code < 128) return code;
  return ((code & 0x0fu) | 0x10u) << (((code >> 4) & 0x07u) + 3);
}

std::uint16_t encode_code16(std::uint32_t value) {
  if (value < 32768) return static_cast<std::uint16_t>(value);
  for (std::uint32_t exp = 0; exp < 8; ++exp) {
    std::uint32_t m = value >> (exp + 3);
    if (m < 8192) return static_cast<std::uint16_t>(0x8000 | (exp << 12) | (m & 0x0fff));
  }
  return 0xffff;
}

std::uint32_t decode_code16(std::uint16_t code) {
  if (code < 32768) return code;
  return ((code & 0x0fffu) | 0x1000u) << (((code >> 12) & 0x07u) + 3);
}

std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial) {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::vector<std::uint8_t> igmpv3_query(std::uint32_t group_be, const QueryParams& p) {
  std::vector<std::uint8_t> m(12, 0);
  m[0] = 0x11;
  // Max Resp Code in units of 1/10 second.
  m[1] = encode_code8(static_cast<std::uint32_t>(p.max_response.count() / 100));
  std::memcpy(&m[4], &group_be, 4);
  m[8] = qrv_byte(p);
  m[9] = encode_code8(static_cast<std::uint32_t>(p.query_interval.count() / 1000));
  put16(&m[10], 0);  // number of sources
  put16(&m[2], internet_checksum(m));
  return m;
}

std::vector<std::uint8_t> mldv2_query(const Address16& group, const QueryParams& p) {
  std::vector<std::uint8_t> m(28, 0);
  m[0] = 130;
  put16(&m[4], encode_code16(static_cast<std::uint32_t>(p.max_response.count())));
  std::memcpy(&m[8], group.data(), 16);
  m[24] = qrv_byte(p);
  m[25] = encode_code8(static_cast<std::uint32_t>(p.query_interval.count() / 1000));
  put16(&m[26], 0);
  return m;
}

Result<Decoded> decode_igmp(std::span<const std::uint8_t> msg) {
  auto fail = [](DecodeError e) -> Result<Decoded> { return Error(e); };
  if (msg.size() < 8) return fail(DecodeError::truncated);
  if (internet_checksum(msg) != 0) return fail(DecodeError::bad_checksum);
  Decoded d;
  const std::uint8_t* p = msg.data();
  switch (p[0]) {
    case 0x11:  // query: 8 bytes v1/v2, 12+ v3 (RFC 3376 §7.1)
      d.kind = Decoded::Kind::query;
      d.query_group = mapped_v4(p + 4);
      if (msg.size() == 8) {
        d.version = p[1] ? JC_IGMPV2 : JC_IGMPV1;
        d.max_response_ms = p[1] * 100u;
      } else if (msg.size() >= 12) {
        d.version = JC_IGMPV3;
        d.max_response_ms = decode_code8(p[1]) * 100u;
        d.qrv = p[8] & 7;
        d.qqi_s = decode_code8(p[9]);
      } else {
        return fail(DecodeError::malformed);
      }
      return d;
    case 0x12:
    case 0x16:
    case 0x17:
      d.kind = Decoded::Kind::report;
      d.version = p[0] == 0x12 ? JC_IGMPV1 : JC_IGMPV2;
      d.records.push_back({static_cast<std::uint8_t>(p[0] == 0x17 ? JC_REC_V1_LEAVE : JC_REC_V1_REPORT),
                           mapped_v4(p + 4), 0});
      return d;
    case 0x22: {
      d.kind = Decoded::Kind::report;
      d.version = JC_IGMPV3;
      std::size_t n = be16(p + 6), off = 8;
      for (std::size_t i = 0; i < n; ++i) {
        if (off + 8 > msg.size()) return fail(DecodeError::truncated);
        std::size_t nsrc = be16(p + off + 2), aux = p[off + 1] * 4u;
        std::size_t len = 8 + nsrc * 4 + aux;
        if (off + len > msg.size()) return fail(DecodeError::truncated);
        d.records.push_back({p[off], mapped_v4(p + off + 4), static_cast<std::uint16_t>(nsrc)});
        off += len;
      }
      return d;
    }
    default:
      d.kind = Decoded::Kind::other;
      return d;
  }
}

Result<Decoded> decode_mld(std::span<const std::uint8_t> msg) {
  auto fail = [](DecodeError e) -> Result<Decoded> { return Error(e); };
  if (msg.size() < 8) return fail(DecodeError::truncated);
  Decoded d;
  const std::uint8_t* p = msg.data();
  switch (p[0]) {
    case 130:
      d.kind = Decoded::Kind::query;
      if (msg.size() < 24) return fail(DecodeError::truncated);
      std::memcpy(d.query_group.data(), p + 8, 16);
      if (msg.size() == 24) {
        d.version = JC_MLDV1;
        d.max_response_ms = be16(p + 4);
      } else if (msg.size() >= 28) {
        d.version = JC_MLDV2;
        d.max_response_ms = decode_code16(be16(p + 4));
        d.qrv = p[24] & 7;
        d.qqi_s = decode_code8(p[25]);
      } else {
        return fail(DecodeError::malformed);
      }
      return d;
    case 131:
    case 132: {
      if (msg.size() < 24) return fail(DecodeError::truncated);
      d.kind = Decoded::Kind::report;
      d.version = JC_MLDV1;
      Record r{static_cast<std::uint8_t>(p[0] == 132 ? JC_REC_V1_LEAVE : JC_REC_V1_REPORT), {}, 0};
      std::memcpy(r.group.data(), p + 8, 16);
      d.records.push_back(r);
      return d;
    }
    case 143: {
      d.kind = Decoded::Kind::report;
      d.version = JC_MLDV2;
      std::size_t n = be16(p + 6), off = 8;
      for (std::size_t i = 0; i < n; ++i) {
        if (off + 20 > msg.size()) return fail(DecodeError::truncated);
        std::size_t nsrc = be16(p + off + 2), aux = p[off + 1] * 4u;
        std::size_t len = 20 + nsrc * 16 + aux;
        if (off + len > msg.size()) return fail(DecodeError::truncated);
        Record r{p[off], {}, static_cast<std::uint16_t>(nsrc)};
        std::memcpy(r.group.data(), p + off + 4, 16);
        d.records.push_back(r);
        off += len;
      }
      return d;
    }
    default:
      return d;
  }
}

const std::error_category& wire_category() noexcept {
  struct Category final : std::error_category {
    const char* name() const noexcept override { return "igmp/mld"; }
    std::string message(int c) const override {
      switch (static_cast<DecodeError>(c)) {
        case DecodeError::truncated: return "message shorter than its header or record counts say";
        case DecodeError::malformed: return "malformed message (a query of impossible length)";
        case DecodeError::bad_checksum: return "bad IGMP checksum";
      }
      return "unknown IGMP/MLD decode error";
    }
  };
  static const Category category;
  return category;
}

}  // namespace joincast::daemon::membership::wire
