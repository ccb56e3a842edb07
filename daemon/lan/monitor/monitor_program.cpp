// monitor_program.cpp — see monitor_program.hpp.
#include "daemon/lan/monitor/monitor_program.hpp"

#include "monitor.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>

namespace joincast::daemon::lan::monitor {

namespace {

Error bpf_failure(const char* what, int negative_errno) {
  return Error(errno_error(negative_errno < 0 ? -negative_errno : errno)).context(what);
}

jc_mon_sender_key sender_key(std::uint32_t id, const IpPrefix& p) {
  jc_mon_sender_key k{};
  k.id_be = htonl(id);
  Address16 a = p.address().to_address16();
  std::copy(a.begin(), a.end(), k.addr);
  k.prefixlen = 32 + p.length() + (p.family() == AF_INET ? 96 : 0);
  return k;
}

}  // namespace

void MonitorProgram::SkeletonDeleter::operator()(monitor_bpf* skel) const noexcept { monitor_bpf__destroy(skel); }

Result<std::unique_ptr<MonitorProgram>> MonitorProgram::load() {
  std::unique_ptr<MonitorProgram> self(new MonitorProgram());
  self->skel_.reset(monitor_bpf__open());
  if (!self->skel_) return Error(last_error()).context("opening the monitor BPF program");
  if (int err = monitor_bpf__load(self->skel_.get()); err < 0) return bpf_failure("loading the monitor BPF program", err);
  return self;
}

MonitorProgram::~MonitorProgram() {
  for (int ifindex : std::set<int>(attached_)) (void)detach(ifindex);
}

Result<void> MonitorProgram::attach(int ifindex) {
  if (auto r = tc_attach_ingress(ifindex, program_fd(), tc_slot); !r) return r;
  attached_.insert(ifindex);
  return success();
}

Result<void> MonitorProgram::detach(int ifindex) {
  attached_.erase(ifindex);
  return tc_detach_ingress(ifindex, tc_slot);
}

int MonitorProgram::program_fd() const { return bpf_program__fd(skel_->progs.jc_monitor); }

jc_mon_key MonitorProgram::key(int ifindex, const IpAddress& group, std::uint16_t port) {
  jc_mon_key k{};
  k.ifindex = static_cast<__u32>(ifindex);
  k.port = port;
  Address16 a = group.to_address16();
  std::copy(a.begin(), a.end(), k.group);
  return k;
}

Result<void> MonitorProgram::put_entry(const jc_mon_key& key, const jc_mon_entry& entry) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.jc_mon_entries), &key, &entry, BPF_ANY) < 0)
    return Error(last_error()).context("writing jc_mon_entries");
  return success();
}

Result<void> MonitorProgram::delete_entry(const jc_mon_key& key) {
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.jc_mon_entries), &key) < 0 && errno != ENOENT)
    return Error(last_error()).context("deleting from jc_mon_entries");
  return success();
}

Result<void> MonitorProgram::add_sender(std::uint32_t id, const IpPrefix& sender) {
  auto k = sender_key(id, sender);
  const std::uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.jc_mon_senders), &k, &one, BPF_ANY) < 0)
    return Error(last_error()).context("writing jc_mon_senders (" + sender.to_string() + ")");
  return success();
}

Result<void> MonitorProgram::delete_sender(std::uint32_t id, const IpPrefix& sender) {
  auto k = sender_key(id, sender);
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.jc_mon_senders), &k) < 0 && errno != ENOENT)
    return Error(last_error()).context("deleting from jc_mon_senders");
  return success();
}

Result<jc_mon_counters> MonitorProgram::counters(std::uint32_t id) const {
  jc_mon_counters c{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.jc_mon_counters), &id, &c) < 0)
    return Error(last_error()).context("reading jc_mon_counters");
  return c;
}

Result<void> MonitorProgram::reset_counters(std::uint32_t id) {
  jc_mon_counters c{};
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.jc_mon_counters), &id, &c, BPF_ANY) < 0)
    return Error(last_error()).context("resetting jc_mon_counters");
  return success();
}

}  // namespace joincast::daemon::lan::monitor
