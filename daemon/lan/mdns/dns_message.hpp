// dns_message.hpp — mDNS messages as they travel on udp 5353: the DNS wire
// format of RFC 1035 §4 (header, questions, answer/authority/additional
// records, name compression §4.1.4) with the two mDNS meanings of the class
// field's top bit (RFC 6762 §5.4: "unicast response requested" in a
// question; §10.2: "cache flush" in a record). A message is decoded into
// values with every name decompressed, so records can be removed and the
// rest written out again with fresh, correct compression.
//
// Written here rather than taken from a library (docs/mdns.md says why):
// ldns and c-ares do not keep the mDNS class bits, and the relay must
// re-encode. Decoding is strict: a malformed message is an error naming
// the section, the offset and what was wrong, never a partial result.
#pragma once

#include "common/ip_address.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace joincast::daemon::lan::mdns {

// RR types the relay looks into (RFC 1035, 2782, 3596, 4034).
namespace rr {
constexpr std::uint16_t a = 1;
constexpr std::uint16_t ns = 2;
constexpr std::uint16_t cname = 5;
constexpr std::uint16_t ptr = 12;
constexpr std::uint16_t txt = 16;
constexpr std::uint16_t aaaa = 28;
constexpr std::uint16_t srv = 33;
constexpr std::uint16_t dname = 39;
constexpr std::uint16_t opt = 41;
constexpr std::uint16_t nsec = 47;
constexpr std::uint16_t any = 255;
}  // namespace rr

constexpr std::size_t max_label_length = 63;   // RFC 1035 §2.3.4
constexpr std::size_t max_name_length = 255;   // in wire form, root label included

// A domain name as its labels (the root's empty label left out). Labels
// are bytes: an mDNS instance name holds spaces, dots and UTF-8. Compared
// as DNS compares names: ASCII case-insensitively (RFC 1035 §2.3.3).
struct Name {
  std::vector<std::string> labels;

  // "My\.Printer._ipp._tcp.local" ('.' and '\' in a label escaped); "." for the root.
  std::string to_string() const;
  // From that text form; labels over 63 bytes or a name over 255 are an error.
  static Result<Name> parse(std::string_view text);
  // Bytes in wire form, uncompressed (the sum limited to 255).
  std::size_t wire_length() const;
  // True if the last labels are `suffix`'s ("_ipp._tcp.local" ends with "local").
  bool ends_with(const Name& suffix) const;
  bool operator==(const Name& other) const;
};

bool label_equal(std::string_view a, std::string_view b);

struct Question {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = 1;        // without the top bit
  bool unicast_response = false;  // the QU bit (RFC 6762 §5.4)
  bool operator==(const Question&) const = default;
};

// Record data the relay understands; any other type is kept as bytes.
struct NameData {  // PTR, CNAME, NS, DNAME: one name
  Name target;
  bool operator==(const NameData&) const = default;
};
struct SrvData {  // RFC 2782
  std::uint16_t priority = 0, weight = 0, port = 0;
  Name target;
  bool operator==(const SrvData&) const = default;
};
struct TxtData {  // RFC 1035 §3.3.14: character-strings, each up to 255 bytes
  std::vector<std::string> strings;
  bool operator==(const TxtData&) const = default;
};
struct AddressData {  // A or AAAA
  IpAddress address;
  bool operator==(const AddressData&) const = default;
};
struct NsecData {  // RFC 4034 §4.1; mDNS uses it for negative answers (RFC 6762 §6.1)
  Name next;
  std::vector<std::uint8_t> type_bitmaps;
  bool operator==(const NsecData&) const = default;
};
struct OpaqueData {
  std::vector<std::uint8_t> bytes;
  bool operator==(const OpaqueData&) const = default;
};
using RecordData = std::variant<OpaqueData, NameData, SrvData, TxtData, AddressData, NsecData>;

struct Record {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t klass = 1;   // without the top bit
  bool cache_flush = false;  // RFC 6762 §10.2
  std::uint32_t ttl = 0;
  RecordData data;
  bool operator==(const Record&) const = default;
};

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;  // QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE as on the wire
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;  // in a query: the probe's proposed records (RFC 6762 §8.2)
  std::vector<Record> additionals;

  bool is_response() const { return (flags & 0x8000) != 0; }
  bool truncated() const { return (flags & 0x0200) != 0; }  // TC: known answers follow (§7.2)
  std::uint8_t opcode() const { return static_cast<std::uint8_t>((flags >> 11) & 0x0f); }
  bool operator==(const Message&) const = default;
};

// Decodes one UDP payload. Errors (std::errc::bad_message) name what was
// wrong and where: "answer 2 name at offset 47: compression pointer to 300
// is past the end (120 bytes)".
Result<Message> parse_message(std::span<const std::uint8_t> bytes);
// Encodes with name compression (owner names, and the names inside PTR,
// CNAME, NS, DNAME, SRV and NSEC data, which RFC 6762 §18.14 allows).
// Fails only for values no message can carry (a label over 63 bytes, a
// name over 255, more than 65535 entries in a section, rdata over 65535).
Result<std::vector<std::uint8_t>> write_message(const Message& message);

// "PTR", "SRV", … or "TYPE65" (RFC 3597).
std::string type_name(std::uint16_t type);

}  // namespace joincast::daemon::lan::mdns
