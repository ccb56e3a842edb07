// bpf_membership.hpp — the BPF membership backend: the TC program on each
// interface, its pinned maps, and its ring buffer consumed from the
// daemon's io_context (the ring buffer's epoll fd waits in Asio).
#pragma once

#include "daemon/membership/membership_backend.hpp"
#include "daemon/membership/loader/membership_program.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <memory>

struct ring_buffer;

namespace joincast::daemon::membership {

class BpfMembership final : public MembershipBackend {
 public:
  static Result<std::unique_ptr<BpfMembership>> create(boost::asio::io_context& io,
                                                       const loader::MembershipProgram::Options& options,
                                                       EventHandler on_event);
  ~BpfMembership() override;

  const char* name() const override { return "bpf"; }
  Result<void> attach(int ifindex) override;
  Result<void> detach(int ifindex) override;
  Result<std::vector<loader::ListenerEntry>> listeners() const override { return maps_.listeners(); }
  Result<std::vector<loader::GroupEntry>> groups() const override { return maps_.groups(); }
  Result<std::vector<loader::QuerierEntry>> queriers() const override { return maps_.queriers(); }
  Result<jc_counters> counters() const override { return maps_.counters(); }
  Result<ForgetOutcome> forget(const jc_listener_key& key, std::uint64_t unless_reported_after_ns,
                               jc_leave_reason reason) override;
  Result<bool> collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) override;
  void deliver_pending() override { drain(); }

  loader::MembershipProgram::MapsOrigin maps_origin() const { return program_->maps_origin(); }
  const std::string& replaced_pins() const { return program_->replaced_pins(); }
  // Consumes whatever events are queued now (also what a previous daemon
  // left in the pinned ring buffer).
  void drain();

 private:
  BpfMembership(boost::asio::io_context& io, std::unique_ptr<loader::MembershipProgram> program, EventHandler on_event);
  void wait_for_events();
  static int on_ring_event(void* self, void* data, std::size_t size);

  std::unique_ptr<loader::MembershipProgram> program_;
  loader::MembershipMaps maps_;
  EventHandler on_event_;
  ring_buffer* ring_ = nullptr;
  boost::asio::posix::stream_descriptor ring_wait_;
};

}  // namespace joincast::daemon::membership
