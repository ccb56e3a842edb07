// socket.hpp — an rtnetlink socket (libmnl) for requests, dumps and events.
//
// Requests always carry NLM_F_ACK; the kernel's NLMSG_ERROR answer becomes
// an error_code, unless the Message tolerates that errno (EEXIST on an add,
// ENOENT on a delete). request_batch() pipelines many requests in few
// system calls, which is what makes installing 10 000 MFC entries fast.
// An event socket joins multicast groups (RTNLGRP_*) and is read without
// blocking; an overrun (ENOBUFS) is reported so the caller can resync with
// a dump.
#pragma once

#include "netlink/error.hpp"
#include "netlink/message.hpp"

#include <libmnl/libmnl.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace joincast::netlink {

class NetlinkSocket {
 public:
  // Called for each message of a dump or each event. Returning an error
  // stops a dump (the error is returned); events ignore it.
  using Handler = std::function<Result<void>(const nlmsghdr*)>;

  // A request socket (blocking; the kernel answers rtnetlink synchronously).
  static Result<NetlinkSocket> open();
  // An event socket joined to the RTNLGRP_* groups given, non-blocking.
  static Result<NetlinkSocket> open_events(std::initializer_list<unsigned> groups);

  NetlinkSocket(NetlinkSocket&&) noexcept = default;
  NetlinkSocket& operator=(NetlinkSocket&&) noexcept = default;
  ~NetlinkSocket() = default;

  int fd() const;

  // Sends one request and waits for its acknowledgement.
  Result<void> request(Message& message);
  Result<void> request(Message&& message) { return request(message); }
  // Sends all requests, as few per system call as the socket buffers
  // allow, and returns one result per message, in order (an empty
  // error_code is success).
  std::vector<std::error_code> request_batch(std::span<Message> messages);
  // Sends a dump request and calls on_message for each answer, once the
  // whole dump has arrived. An interrupted dump (NLM_F_DUMP_INTR: the table
  // changed meanwhile) is restarted, a few times at most. The first error
  // from on_message stops the walk and is returned.
  Result<void> dump(Message& message, const Handler& on_message);
  Result<void> dump(Message&& message, const Handler& on_message) { return dump(message, on_message); }
  // Reads every event queued on an event socket. Fails with ENOBUFS if
  // events were lost (the caller should dump again), EAGAIN never.
  Result<void> read_events(const Handler& on_message);

  // The kernel's extended-ack text for the last failed request ("Nexthop
  // device is not up"), or empty.
  const std::string& last_error_text() const { return last_error_text_; }

 private:
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  explicit NetlinkSocket(mnl_socket* s);
  Result<void> dump_once(Message& message, std::vector<std::uint8_t>& collected, bool& interrupted);
  std::error_code error_of(const nlmsghdr* nlh, const Message* for_message);

  std::unique_ptr<mnl_socket, Closer> socket_;
  unsigned portid_ = 0;
  std::uint32_t seq_ = 0;
  std::vector<std::uint8_t> buffer_;
  std::string last_error_text_;
};

}  // namespace joincast::netlink
