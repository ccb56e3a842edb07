// message.cpp — see message.hpp.
#include "netlink/message.hpp"

#include <algorithm>

namespace joincast::netlink {

Message::Message(std::uint16_t type, std::uint16_t flags, std::size_t capacity)
    : buffer_(new std::uint8_t[capacity]()), capacity_(capacity) {
  // Zeroed: libmnl 1.0.4 (Debian 12) leaves an attribute's alignment
  // padding as it finds it, and those bytes go to the kernel.
  nlmsghdr* h = mnl_nlmsg_put_header(buffer_.get());
  h->nlmsg_type = type;
  h->nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST);
  if ((flags & NLM_F_DUMP) != NLM_F_DUMP) h->nlmsg_flags |= NLM_F_ACK;
}

Message::Message(const Message& other)
    : buffer_(new std::uint8_t[other.capacity_]),
      capacity_(other.capacity_),
      overflow_(other.overflow_),
      tolerated_(other.tolerated_) {
  std::memcpy(buffer_.get(), other.buffer_.get(), other.size());
}

Message& Message::operator=(const Message& other) {
  if (this != &other) *this = Message(other);
  return *this;
}

void Message::put(std::uint16_t type, const void* data, std::size_t size) {
  if (!mnl_attr_put_check(nlh(), capacity_, type, size, data)) overflow_ = true;
}

void Message::put_string(std::uint16_t type, std::string_view s) {
  // mnl_attr_put_strz_check wants a C string; copy to be safe with views.
  std::string z(s);
  if (!mnl_attr_put_strz_check(nlh(), capacity_, type, z.c_str())) overflow_ = true;
}

Message::Nest Message::begin_nest(std::uint16_t type) {
  nlattr* nest = mnl_attr_nest_start_check(nlh(), capacity_, type);
  if (!nest) {
    overflow_ = true;
    return 0;
  }
  return static_cast<std::size_t>(reinterpret_cast<std::uint8_t*>(nest) - buffer_.get());
}

void Message::end_nest(Nest nest) {
  if (overflow_ || nest == 0) return;
  mnl_attr_nest_end(nlh(), reinterpret_cast<nlattr*>(buffer_.get() + nest));
}

void* Message::append_raw(std::size_t size) {
  std::size_t aligned = nl_align(size);
  if (nlh()->nlmsg_len + aligned > capacity_) {
    overflow_ = true;
    return nullptr;
  }
  void* at = mnl_nlmsg_get_payload_tail(nlh());
  std::memset(at, 0, aligned);
  nlh()->nlmsg_len += static_cast<std::uint32_t>(aligned);
  return at;
}

bool Message::tolerates(int e) const { return std::find(tolerated_.begin(), tolerated_.end(), e) != tolerated_.end(); }

}  // namespace joincast::netlink
