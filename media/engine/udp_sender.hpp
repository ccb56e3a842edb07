// udp_sender.hpp — one worker's datagram output, through io_uring.
//
// Every session on a worker hands its due packets (RTP, RTCP, SAP) to the
// same sender; flush() submits them together, so one io_uring_enter()
// carries the packets of many sessions. As in liburing's
// examples/io_uring-udp.c: a full submission queue means submit and retry,
// and completions are dispatched on user_data (the packet itself). UDP
// sends normally complete inline during the submit and are reaped right
// away; the rare deferred one (socket buffer full) signals an eventfd that
// the worker watches (io_uring_register_eventfd_async).
//
// Where io_uring is unavailable (kernel.io_uring_disabled, a seccomp
// filter) the same interface sends with sendmmsg(), and says so.
#pragma once

#include "media/error.hpp"
#include "media/engine/multicast_socket.hpp"

#include <liburing.h>
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace joincast::media {

enum class PacketKind : std::uint8_t { rtp, rtcp, sap };

// A datagram on its way out. Owned by a session's queue until handed to
// the sender, then by the sender until its completion.
struct OutgoingPacket {
  std::vector<std::byte> data;
  SocketAddress destination;
  std::shared_ptr<UniqueFd> socket;  // kept open until the send completes
  std::uint64_t session = 0;
  PacketKind kind = PacketKind::rtp;
  std::chrono::steady_clock::time_point due{};
  std::int64_t ticks = 0;  // RTP: media position in clock ticks from the stream's start
  bool drain = false;  // send only after everything submitted before it (BYE, SAP deletion)
  // io_uring reads these after submission: they live with the packet.
  msghdr message{};
  iovec iov{};
};

class UdpSender {
 public:
  // Called once per packet with the send result (bytes or -errno), on the
  // worker thread, before the packet is recycled.
  using Completion = std::function<void(const OutgoingPacket& packet, int result)>;

  // entries: submission queue size; 0 asks for sendmmsg(). Falls back to
  // sendmmsg() if io_uring cannot be set up.
  static Result<std::unique_ptr<UdpSender>> create(unsigned entries, Completion on_complete);
  ~UdpSender();
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  // A packet to fill (recycled when possible).
  std::unique_ptr<OutgoingPacket> acquire();
  // Queues a packet; it leaves at the next flush() (or earlier if the
  // submission queue fills).
  void enqueue(std::unique_ptr<OutgoingPacket> packet);
  // Submits everything queued and reaps what has completed.
  void flush();
  // Reaps completions without submitting.
  void reap();
  // Submits everything queued and waits (at most about `limit`) until the
  // kernel has completed every send. Call it on the thread that submitted:
  // io_uring cancels a thread's unfinished requests (drained ones waiting
  // for their turn included) when that thread exits.
  void drain(std::chrono::milliseconds limit);
  // Resets the eventfd after it fired (before reap()).
  void clear_completion_signal();

  bool uses_io_uring() const { return ring_ok_; }
  // Readable when deferred completions wait; -1 without io_uring.
  int completion_fd() const { return event_fd_.get(); }
  std::size_t in_flight() const { return in_flight_; }
  std::uint64_t submits() const { return submits_; }
  // Why io_uring is not used (empty if it is).
  const std::string& fallback_reason() const { return fallback_reason_; }

 private:
  UdpSender() = default;
  void complete(OutgoingPacket* packet, int result);
  void prepare(OutgoingPacket& packet);
  void send_fallback();

  Completion on_complete_;
  io_uring ring_{};
  bool ring_ok_ = false;
  UniqueFd event_fd_;
  std::string fallback_reason_;
  std::size_t in_flight_ = 0;
  std::size_t unsubmitted_ = 0;
  std::uint64_t submits_ = 0;
  std::vector<std::unique_ptr<OutgoingPacket>> pool_;
  std::vector<std::unique_ptr<OutgoingPacket>> fallback_queue_;
};

}  // namespace joincast::media
