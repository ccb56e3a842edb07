// tc_filter.cpp — see tc_filter.hpp.
#include "daemon/membership/loader/tc_filter.hpp"

#include <bpf/libbpf.h>

#include <cerrno>

namespace joincast::daemon::membership::loader {

Result<void> tc_attach_ingress(int ifindex, int program_fd, TcSlot slot) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  if (int err = bpf_tc_hook_create(&hook); err < 0 && err != -EEXIST) return errno_error(-err);

  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.prog_fd = program_fd;
  opts.flags = BPF_TC_F_REPLACE;
  opts.handle = slot.handle;
  opts.priority = slot.priority;
  if (int err = bpf_tc_attach(&hook, &opts); err < 0) return errno_error(-err);
  return success();
}

Result<void> tc_detach_ingress(int ifindex, TcSlot slot) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = slot.handle;
  opts.priority = slot.priority;
  int err = bpf_tc_detach(&hook, &opts);
  // The interface or its clsact went away: nothing left to detach.
  if (err < 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL) return errno_error(-err);
  return success();
}

}  // namespace joincast::daemon::membership::loader
