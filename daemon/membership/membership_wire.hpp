// membership_wire.hpp — IGMPv3 and MLDv2 messages as bytes: the queries the
// querier sends, and the decoding of reports and queries for the fallback
// path that reads them from the multicast routing socket.
//
// Pure functions over byte spans: no sockets, no state; unit-tested.
#pragma once

#include "common/result.hpp"
#include "daemon/membership/loader/membership_maps.hpp"

#include <chrono>
#include <cstdint>
#include <system_error>
#include <span>
#include <vector>

namespace joincast::daemon::membership::wire {

// RFC 3376 §4.1.1 / §4.1.7 and RFC 3810 §5.1.3 / §5.1.9: codes at or above
// 128 (32768 for MLD's Maximum Response Code) are floating point.
std::uint8_t encode_code8(std::uint32_t value);    // IGMPv3 MRC (1/10 s) and QQIC (s)
std::uint32_t decode_code8(std::uint8_t code);
std::uint16_t encode_code16(std::uint32_t value);  // MLDv2 MRC (ms)
std::uint32_t decode_code16(std::uint16_t code);

// The Internet checksum (RFC 1071) of data, with an initial partial sum.
std::uint16_t internet_checksum(std::span<const std::uint8_t> data, std::uint32_t initial = 0);

struct QueryParams {
  std::chrono::milliseconds max_response{10'000};
  std::chrono::milliseconds query_interval{125'000};
  unsigned robustness = 2;
  bool suppress_router_processing = false;  // the S flag
};

// An IGMPv3 query (RFC 3376 §4.1): general if group is 0.0.0.0, else
// group-specific. Checksum filled in. group is in network byte order.
std::vector<std::uint8_t> igmpv3_query(std::uint32_t group_be, const QueryParams& params);

// An MLDv2 query (RFC 3810 §5.1), general if group is ::. The checksum is
// left zero: the kernel fills it in for raw ICMPv6 sockets (it needs the
// pseudo-header, which only the kernel knows for certain).
std::vector<std::uint8_t> mldv2_query(const Address16& group, const QueryParams& params);

// One thing a report says (the fallback path applies these the way the BPF
// program does).
struct Record {
  std::uint8_t type;  // jc_record_type, including the v1 pseudo records
  Address16 group;
  std::uint16_t sources;
};

struct Decoded {
  enum class Kind { report, query, other } kind = Kind::other;
  std::uint8_t version = 0;  // jc_version
  std::vector<Record> records;
  // queries
  Address16 query_group{};
  std::uint32_t max_response_ms = 0;
  std::uint32_t qqi_s = 0;
  std::uint8_t qrv = 0;
};

// Why a message does not decode: error codes in wire_category(), counted
// apart by the socket backend (truncated, malformed, bad_checksum).
enum class DecodeError { truncated = 1, malformed, bad_checksum };
const std::error_category& wire_category() noexcept;
inline std::error_code make_error_code(DecodeError e) noexcept { return {static_cast<int>(e), wire_category()}; }

// Decodes an IGMP message (what follows the IPv4 header).
Result<Decoded> decode_igmp(std::span<const std::uint8_t> msg);
// Decodes an ICMPv6 MLD message (the kernel has checked its checksum).
Result<Decoded> decode_mld(std::span<const std::uint8_t> msg);

}  // namespace joincast::daemon::membership::wire

template <>
struct std::is_error_code_enum<joincast::daemon::membership::wire::DecodeError> : std::true_type {};
