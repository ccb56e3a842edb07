// udp_sender.cpp — batched datagram sends with io_uring (or sendmmsg).
#include "media/engine/udp_sender.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace joincast::media {

namespace {
// Keep this many spare packets; the rest are freed.
constexpr std::size_t kPoolLimit = 4096;
}  // namespace

Result<std::unique_ptr<UdpSender>> UdpSender::create(unsigned entries, Completion on_complete) {
  std::unique_ptr<UdpSender> s(new UdpSender);
  s->on_complete_ = std::move(on_complete);
  if (entries == 0) {
    s->fallback_reason_ = "io_uring disabled, using sendmmsg";
    return s;
  }
  io_uring_params params{};
  // Room for many more completions than submissions: a burst of sends must
  // never overflow the completion queue between two reaps.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = entries * 8;
  int r = io_uring_queue_init_params(entries, &s->ring_, &params);
  if (r == -EINVAL) {  // a kernel older than 5.18 has no SUBMIT_ALL
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 8;
    r = io_uring_queue_init_params(entries, &s->ring_, &params);
  }
  if (r < 0) {
    s->fallback_reason_ = "io_uring unavailable (" + errno_error(-r).message() + "), using sendmmsg";
    return s;
  }
  s->ring_ok_ = true;
  s->event_fd_ = UniqueFd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!s->event_fd_) return last_error();
  if (int e = io_uring_register_eventfd_async(&s->ring_, s->event_fd_.get()); e < 0) return errno_error(-e);
  return s;
}

UdpSender::~UdpSender() {
  if (ring_ok_) {
    // The packets and their sockets must outlive their sends.
    drain(std::chrono::seconds(1));
    io_uring_queue_exit(&ring_);
  } else {
    send_fallback();
  }
}

void UdpSender::drain(std::chrono::milliseconds limit) {
  flush();
  if (!ring_ok_) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count();
  while (in_flight_ > 0) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
    if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) < 0) break;
    reap();
  }
}

std::unique_ptr<OutgoingPacket> UdpSender::acquire() {
  if (pool_.empty()) return std::make_unique<OutgoingPacket>();
  auto p = std::move(pool_.back());
  pool_.pop_back();
  return p;
}

void UdpSender::prepare(OutgoingPacket& p) {
  p.iov.iov_base = p.data.data();
  p.iov.iov_len = p.data.size();
  p.message = {};
  p.message.msg_name = &p.destination.storage;
  p.message.msg_namelen = p.destination.length;
  p.message.msg_iov = &p.iov;
  p.message.msg_iovlen = 1;
}

void UdpSender::enqueue(std::unique_ptr<OutgoingPacket> packet) {
  prepare(*packet);
  if (!ring_ok_) {
    fallback_queue_.push_back(std::move(packet));
    return;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    // Full submission queue: submit what is there and retry.
    flush();
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      complete(packet.release(), -EBUSY);
      return;
    }
  }
  OutgoingPacket* p = packet.release();
  io_uring_prep_sendmsg(sqe, p->socket->get(), &p->message, 0);
  io_uring_sqe_set_data(sqe, p);
  if (p->drain) sqe->flags |= IOSQE_IO_DRAIN;
  ++in_flight_;
  ++unsubmitted_;
}

void UdpSender::flush() {
  if (!ring_ok_) {
    send_fallback();
    return;
  }
  if (unsubmitted_ > 0) {
    int r = io_uring_submit(&ring_);
    ++submits_;
    if (r >= 0) unsubmitted_ -= std::min<std::size_t>(unsubmitted_, static_cast<std::size_t>(r));
  }
  reap();
}

void UdpSender::reap() {
  if (!ring_ok_) return;
  io_uring_cqe* cqe = nullptr;
  unsigned head = 0;
  unsigned count = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++count;
    auto* p = static_cast<OutgoingPacket*>(io_uring_cqe_get_data(cqe));
    --in_flight_;
    complete(p, cqe->res);
  }
  io_uring_cq_advance(&ring_, count);
}

void UdpSender::clear_completion_signal() {
  std::uint64_t value = 0;
  if (event_fd_) (void)!::read(event_fd_.get(), &value, sizeof value);
}

void UdpSender::complete(OutgoingPacket* packet, int result) {
  std::unique_ptr<OutgoingPacket> p(packet);
  if (on_complete_) on_complete_(*p, result);
  if (pool_.size() < kPoolLimit) {
    // Reset everything but the buffer's capacity.
    auto data = std::move(p->data);
    data.clear();
    *p = OutgoingPacket{};
    p->data = std::move(data);
    pool_.push_back(std::move(p));
  }
}

void UdpSender::send_fallback() {
  // Consecutive packets on one socket go out in one sendmmsg().
  std::size_t i = 0;
  std::vector<mmsghdr> batch;
  while (i < fallback_queue_.size()) {
    int fd = fallback_queue_[i]->socket->get();
    std::size_t j = i;
    batch.clear();
    while (j < fallback_queue_.size() && fallback_queue_[j]->socket->get() == fd) {
      mmsghdr m{};
      m.msg_hdr = fallback_queue_[j]->message;
      batch.push_back(m);
      ++j;
    }
    int sent = sendmmsg(fd, batch.data(), static_cast<unsigned>(batch.size()), 0);
    int err = sent < 0 ? -errno : 0;
    for (std::size_t k = i; k < j; ++k) {
      auto idx = k - i;
      int result = err ? err
                   : static_cast<int>(idx) < sent ? static_cast<int>(batch[idx].msg_len)
                                                 : -EAGAIN;
      complete(fallback_queue_[k].release(), result);
    }
    ++submits_;
    i = j;
  }
  fallback_queue_.clear();
}

}  // namespace joincast::media
