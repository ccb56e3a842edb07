// message.hpp — one netlink request as a value that owns its buffer.
//
// Every builder in netlink/ (new_route(), del_mfc4(), ...) returns a
// Message: the nlmsghdr, the family header and the attributes, written with
// libmnl into storage the Message owns, so builders can be called, stored,
// batched and sent later. A Message also carries which kernel answers count
// as success for it (EEXIST on an add, ENOENT on a delete): the socket maps
// NLMSG_ERROR through that list.
#pragma once

#include "netlink/error.hpp"
#include "common/ip_address.hpp"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

namespace joincast::netlink {

// NLMSG_ALIGN / NLA_ALIGN without the signed arithmetic of the C macros.
constexpr std::size_t nl_align(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

class Message {
 public:
  // Capacity covers every message netlink/ builds (the largest, an MFC
  // entry with 32 next hops, needs about 400 bytes).
  static constexpr std::size_t default_capacity = 1024;

  // type: RTM_*; flags: NLM_F_REQUEST is always added, and NLM_F_ACK for
  // anything that is not a dump.
  Message(std::uint16_t type, std::uint16_t flags, std::size_t capacity = default_capacity);

  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message& other);
  Message& operator=(const Message& other);

  // Reserves the family header (rtmsg, ifinfomsg, ...) right after the
  // nlmsghdr, zeroed. Call once, before any attribute.
  template <class T>
  T& put_header() {
    return *static_cast<T*>(mnl_nlmsg_put_extra_header(nlh(), sizeof(T)));
  }
  template <class T>
  T& header() {
    return *static_cast<T*>(mnl_nlmsg_get_payload(nlh()));
  }

  void put(std::uint16_t type, const void* data, std::size_t size);
  void put_u8(std::uint16_t type, std::uint8_t v) { put(type, &v, sizeof v); }
  void put_u16(std::uint16_t type, std::uint16_t v) { put(type, &v, sizeof v); }
  void put_u32(std::uint16_t type, std::uint32_t v) { put(type, &v, sizeof v); }
  void put_u64(std::uint16_t type, std::uint64_t v) { put(type, &v, sizeof v); }
  // A NUL-terminated string attribute (NLA_STRING / NLA_NUL_STRING).
  void put_string(std::uint16_t type, std::string_view s);
  // The address's 4 or 16 bytes, network order.
  void put_address(std::uint16_t type, const IpAddress& a) { put(type, a.data(), a.size()); }

  // Nested attributes. Nests are remembered by offset, so the buffer may
  // be written on while one is open.
  using Nest = std::size_t;
  Nest begin_nest(std::uint16_t type);
  void end_nest(Nest nest);
  // Raw bytes appended to the open nest, padded to NLA_ALIGNTO (used for
  // rtnexthop arrays, which are not attributes).
  void* append_raw(std::size_t size);

  // Kernel errors that mean "already so" for this request.
  void tolerate(std::initializer_list<int> errnos) { tolerated_.insert(tolerated_.end(), errnos); }
  bool tolerates(int e) const;

  void set_seq(std::uint32_t seq) { nlh()->nlmsg_seq = seq; }
  std::uint32_t seq() const { return nlh()->nlmsg_seq; }
  std::uint16_t type() const { return nlh()->nlmsg_type; }
  std::uint16_t flags() const { return nlh()->nlmsg_flags; }
  bool is_dump() const { return (flags() & NLM_F_DUMP) == NLM_F_DUMP; }

  nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(buffer_.get()); }
  const nlmsghdr* nlh() const { return reinterpret_cast<const nlmsghdr*>(buffer_.get()); }
  const void* data() const { return buffer_.get(); }
  std::size_t size() const { return nlh()->nlmsg_len; }
  // False once an attribute did not fit; such a message is never sent.
  bool complete() const { return !overflow_; }

 private:
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_ = 0;
  bool overflow_ = false;
  std::vector<int> tolerated_;
};

}  // namespace joincast::netlink
