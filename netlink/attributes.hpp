// attributes.hpp — validated access to the attributes of a kernel message.
//
// Each parser in netlink/ declares a policy: for every attribute type it
// reads, the libmnl data type (and for binary attributes the allowed
// sizes). parse_attributes() walks the message with mnl_attr_parse; its
// callback validates every attribute against the policy before it is
// stored, so the code that reads an attribute can trust its size. Types
// beyond the policy (newer kernels add attributes) are skipped.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"
#include "netlink/message.hpp"

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace joincast::netlink {

struct AttributeRule {
  mnl_attr_data_type type = MNL_TYPE_UNSPEC;  // UNSPEC: not read, not checked
  // For MNL_TYPE_BINARY: the sizes allowed (0: any). Two, for attributes
  // that hold an IPv4 or an IPv6 address.
  std::uint16_t size = 0;
  std::uint16_t other_size = 0;
};

// rules[type] for each type the parser reads.
using AttributePolicy = std::span<const AttributeRule>;

class Attributes {
 public:
  explicit Attributes(std::size_t max_type) : table_(max_type + 1, nullptr) {}

  const nlattr* get(std::uint16_t type) const { return type < table_.size() ? table_[type] : nullptr; }
  bool has(std::uint16_t type) const { return get(type) != nullptr; }

  std::optional<std::uint8_t> u8(std::uint16_t type) const;
  std::optional<std::uint16_t> u16(std::uint16_t type) const;
  std::optional<std::uint32_t> u32(std::uint16_t type) const;
  std::optional<std::uint64_t> u64(std::uint16_t type) const;
  std::optional<std::string_view> string(std::uint16_t type) const;
  // An address attribute of the given family (size checked again here).
  std::optional<IpAddress> address(std::uint16_t type, int family) const;
  std::span<const std::uint8_t> bytes(std::uint16_t type) const;

  void set(std::uint16_t type, const nlattr* a) { table_[type] = a; }

 private:
  std::vector<const nlattr*> table_;
};

// Parses the attributes that follow a family header of header_size bytes.
// Fails with Errc::malformed_message if the message is shorter than the
// header or any attribute breaks the policy.
Result<Attributes> parse_attributes(const nlmsghdr* nlh, std::size_t header_size, AttributePolicy policy);
// The same for the attributes nested in `nest`.
Result<Attributes> parse_nested(const nlattr* nest, AttributePolicy policy);

// Calls f(const nlattr*) for each attribute packed in `bytes` (a nest's
// payload, or attributes that follow a struct inside one). Fails with
// Errc::malformed_message if one overruns the span; f may fail too.
template <class F>
Result<void> for_each_attribute(std::span<const std::uint8_t> bytes, F&& f) {
  std::size_t off = 0;
  while (off + sizeof(nlattr) <= bytes.size()) {
    const auto* attr = reinterpret_cast<const nlattr*>(bytes.data() + off);
    if (attr->nla_len < sizeof(nlattr) || off + attr->nla_len > bytes.size()) return Errc::malformed_message;
    Result<void> r = f(attr);
    if (!r) return r;
    off += nl_align(attr->nla_len);
  }
  return success();
}

inline std::span<const std::uint8_t> payload_of(const nlattr* a) {
  return {static_cast<const std::uint8_t*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)};
}

// The family header of a message, or nullptr if the payload is too short.
template <class T>
const T* family_header(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(T)) return nullptr;
  return static_cast<const T*>(mnl_nlmsg_get_payload(nlh));
}

}  // namespace joincast::netlink
