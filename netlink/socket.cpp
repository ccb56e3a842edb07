// socket.cpp — see socket.hpp.
#include "netlink/socket.hpp"

#include "netlink/attributes.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <array>
#include <unordered_map>

namespace joincast::netlink {

namespace {

// Dumps arrive in skbs of up to 32 KiB; a larger buffer never truncates.
constexpr std::size_t receive_buffer_size = 1 << 16;
// Large enough that a batch's acknowledgements never overrun the socket.
constexpr int socket_buffer_bytes = 8 << 20;
// Requests per send in request_batch(): each ack costs about 1 KiB of
// receive buffer, so this stays far below socket_buffer_bytes.
constexpr std::size_t batch_chunk = 256;
constexpr std::size_t batch_chunk_bytes = 128 * 1024;
constexpr int dump_attempts = 5;

void set_buffers(mnl_socket* s) {
  const int fd = mnl_socket_get_fd(s);
  int size = socket_buffer_bytes;
  // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; without it the
  // plain option gives what the sysctl allows.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

}  // namespace

NetlinkSocket::NetlinkSocket(mnl_socket* s)
    : socket_(s), portid_(mnl_socket_get_portid(s)), buffer_(receive_buffer_size) {}

int NetlinkSocket::fd() const { return mnl_socket_get_fd(socket_.get()); }

Result<NetlinkSocket> NetlinkSocket::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) return last_error();
  std::unique_ptr<mnl_socket, Closer> guard(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return last_error();
  int on = 1;
  // Acks carry only the request's header, not the whole request; errors
  // carry the kernel's text (NLMSGERR_ATTR_MSG).
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &on, sizeof on);
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &on, sizeof on);
  // Dumps honour the filters in their request (one table, one protocol)
  // instead of returning everything.
  mnl_socket_setsockopt(s, NETLINK_GET_STRICT_CHK, &on, sizeof on);
  set_buffers(s);
  return NetlinkSocket(guard.release());
}

Result<NetlinkSocket> NetlinkSocket::open_events(std::initializer_list<unsigned> groups) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!s) return last_error();
  std::unique_ptr<mnl_socket, Closer> guard(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) return last_error();
  for (unsigned group : groups) {
    int g = static_cast<int>(group);
    if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) < 0) return last_error();
  }
  set_buffers(s);
  return NetlinkSocket(guard.release());
}

std::error_code NetlinkSocket::error_of(const nlmsghdr* nlh, const Message* for_message) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return Errc::malformed_message;
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (err->error == 0) return {};
  const int e = -err->error;
  if (for_message && for_message->tolerates(e)) return {};
  last_error_text_.clear();
  if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
    // The TLVs follow the echoed request: only its header when capped.
    std::size_t offset = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset = sizeof(int) + err->msg.nlmsg_len;
    static constexpr std::array<AttributeRule, NLMSGERR_ATTR_MSG + 1> policy = [] {
      std::array<AttributeRule, NLMSGERR_ATTR_MSG + 1> p{};
      p[NLMSGERR_ATTR_MSG] = {MNL_TYPE_NUL_STRING};
      return p;
    }();
    if (offset <= mnl_nlmsg_get_payload_len(nlh)) {
      if (auto attrs = parse_attributes(nlh, offset, policy)) {
        if (auto text = attrs.value().string(NLMSGERR_ATTR_MSG)) last_error_text_ = std::string(*text);
      }
    }
  }
  return errno_error(e);
}

Result<void> NetlinkSocket::request(Message& message) {
  auto results = request_batch(std::span<Message>(&message, 1));
  if (results[0]) return results[0];
  return success();
}

std::vector<std::error_code> NetlinkSocket::request_batch(std::span<Message> messages) {
  std::vector<std::error_code> results(messages.size());
  std::vector<std::uint8_t> out;
  std::unordered_map<std::uint32_t, std::size_t> pending;  // seq -> index
  std::size_t next = 0;
  while (next < messages.size()) {
    out.clear();
    pending.clear();
    std::size_t first = next;
    while (next < messages.size() && next - first < batch_chunk && out.size() < batch_chunk_bytes) {
      Message& m = messages[next];
      if (!m.complete()) {
        results[next++] = Errc::message_too_long;
        continue;
      }
      m.set_seq(++seq_);
      pending.emplace(m.seq(), next);
      const auto* bytes = static_cast<const std::uint8_t*>(m.data());
      out.insert(out.end(), bytes, bytes + m.size());
      ++next;
    }
    if (pending.empty()) continue;
    if (mnl_socket_sendto(socket_.get(), out.data(), out.size()) < 0) {
      const std::error_code e = last_error();
      for (auto& [seq, index] : pending) results[index] = e;
      continue;
    }
    while (!pending.empty()) {
      ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        const std::error_code e = last_error();
        for (auto& [seq, index] : pending) results[index] = e;
        pending.clear();
        break;
      }
      int len = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data()); mnl_nlmsg_ok(nlh, len);
           nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;  // NLM_F_ECHO copies and the like
        auto it = pending.find(nlh->nlmsg_seq);
        if (it == pending.end()) continue;
        results[it->second] = error_of(nlh, &messages[it->second]);
        pending.erase(it);
      }
    }
  }
  return results;
}

Result<void> NetlinkSocket::dump_once(Message& message, std::vector<std::uint8_t>& collected, bool& interrupted) {
  interrupted = false;
  collected.clear();
  if (!message.complete()) return Errc::message_too_long;
  message.set_seq(++seq_);
  if (mnl_socket_sendto(socket_.get(), message.data(), message.size()) < 0) return last_error();
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != message.seq()) continue;
      if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (nlh->nlmsg_type == NLMSG_DONE) {
        // NLMSG_DONE carries an int: negative if the dump failed late.
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
          int status = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
          if (status < 0) return errno_error(-status);
        }
        return success();
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        std::error_code e = error_of(nlh, &message);
        if (e) return e;
        continue;
      }
      if (nlh->nlmsg_type < NLMSG_MIN_TYPE) continue;
      const auto* bytes = reinterpret_cast<const std::uint8_t*>(nlh);
      collected.insert(collected.end(), bytes, bytes + nl_align(nlh->nlmsg_len));
    }
    if (len > 0) return Errc::malformed_message;
  }
}

Result<void> NetlinkSocket::dump(Message& message, const Handler& on_message) {
  // Messages are handed out only once the dump completed without
  // interruption, so a restarted dump never shows an object twice.
  std::vector<std::uint8_t> collected;
  for (int attempt = 0; attempt < dump_attempts; ++attempt) {
    bool interrupted = false;
    auto r = dump_once(message, collected, interrupted);
    if (!r) return r;
    if (interrupted) continue;
    int len = static_cast<int>(collected.size());
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(collected.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      auto handled = on_message(nlh);
      if (!handled) return handled;
    }
    return success();
  }
  return Errc::dump_inconsistent;
}

Result<void> NetlinkSocket::read_events(const Handler& on_message) {
  for (;;) {
    ssize_t n = ::recv(fd(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return success();
      return last_error();
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type < NLMSG_MIN_TYPE) continue;
      (void)on_message(nlh);
    }
  }
}

}  // namespace joincast::netlink
