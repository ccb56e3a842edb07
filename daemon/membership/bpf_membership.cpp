// bpf_membership.cpp — see bpf_membership.hpp.
#include "daemon/membership/bpf_membership.hpp"

#include "daemon/core/log.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>

namespace joincast::daemon::membership {

Result<std::unique_ptr<BpfMembership>> BpfMembership::create(boost::asio::io_context& io,
                                                             const loader::MembershipProgram::Options& options,
                                                             EventHandler on_event) {
  auto program = loader::MembershipProgram::load(options);
  if (!program) return program.error();
  std::unique_ptr<BpfMembership> self(new BpfMembership(io, std::move(program).value(), std::move(on_event)));
  self->ring_ = ring_buffer__new(self->program_->events_fd(), &BpfMembership::on_ring_event, self.get(), nullptr);
  if (!self->ring_) return last_error();
  int epfd = ::dup(ring_buffer__epoll_fd(self->ring_));
  if (epfd < 0) return last_error();
  self->ring_wait_.assign(epfd);
  self->wait_for_events();
  return self;
}

BpfMembership::BpfMembership(boost::asio::io_context& io, std::unique_ptr<loader::MembershipProgram> program,
                             EventHandler on_event)
    : program_(std::move(program)),
      maps_(loader::MembershipMaps::borrow(program_->listeners_fd(), program_->groups_fd(), program_->queriers_fd(),
                                   program_->counters_fd())),
      on_event_(std::move(on_event)),
      ring_wait_(io) {}

BpfMembership::~BpfMembership() {
  boost::system::error_code ignored;
  ring_wait_.close(ignored);
  if (ring_) ring_buffer__free(ring_);
}

Result<void> BpfMembership::attach(int ifindex) { return program_->attach(ifindex); }
Result<void> BpfMembership::detach(int ifindex) { return program_->detach(ifindex); }

Result<MembershipBackend::ForgetOutcome> BpfMembership::forget(const jc_listener_key& key,
                                                               std::uint64_t unless_reported_after_ns,
                                                               jc_leave_reason reason) {
  auto r = program_->forget(key, unless_reported_after_ns, reason);
  if (!r) return r.error();
  // jc_forget queued leave/group-down events: deliver them now,
  // so callers see the consequences of their own call in order.
  drain();
  switch (r.value()) {
    case loader::MembershipProgram::ForgetOutcome::forgotten: return ForgetOutcome::forgotten;
    case loader::MembershipProgram::ForgetOutcome::absent: return ForgetOutcome::absent;
    case loader::MembershipProgram::ForgetOutcome::kept: return ForgetOutcome::kept;
  }
  return ForgetOutcome::absent;
}

Result<bool> BpfMembership::collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) {
  return program_->collect_group(key, idle_since_ns);
}

void BpfMembership::drain() {
  if (ring_) ring_buffer__consume(ring_);
}

void BpfMembership::wait_for_events() {
  ring_wait_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;  // closed: shutting down
    drain();
    wait_for_events();
  });
}

int BpfMembership::on_ring_event(void* ctx, void* data, std::size_t size) {
  auto* self = static_cast<BpfMembership*>(ctx);
  if (size < sizeof(jc_event)) return 0;  // never happens with a matching ABI; skip rather than misread
  jc_event ev;
  std::memcpy(&ev, data, sizeof ev);
  // A C callback: nothing may escape it.
  try {
    self->on_event_(ev);
  } catch (const std::exception& e) {
    core::log::error("membership event handler failed: {}", e.what());
  }
  return 0;
}

}  // namespace joincast::daemon::membership
