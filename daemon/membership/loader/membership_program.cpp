// membership_program.cpp — see membership_program.hpp.
#include "daemon/membership/loader/membership_program.hpp"

#include "daemon/membership/loader/tc_filter.hpp"

#include "membership.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

namespace joincast::daemon::membership::loader {

namespace fs = std::filesystem;

std::uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {

bool on_bpffs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

}  // namespace

Result<void> ensure_bpffs(const std::string& dir) {
  std::error_code ec;
  fs::path root(dir);
  // A pin root that is a bpffs already (bpf_pin_root = "/sys/fs/bpf") needs
  // nothing: mounting on its parent would cover /sys/fs.
  if (on_bpffs(root.string())) return success();
  fs::path parent = root.parent_path();
  if (!on_bpffs(parent.string())) {
    fs::create_directories(parent, ec);
    if (ec) return ec;
    // As bpftool and tc do when /sys/fs/bpf is not mounted yet.
    if (::mount("bpf", parent.c_str(), "bpf", 0, "mode=0700") < 0) return last_error();
  }
  fs::create_directories(root, ec);
  if (ec) return ec;
  if (!on_bpffs(root.string())) return errno_error(ENOTSUP);
  return success();
}

Result<std::unique_ptr<MembershipProgram>> MembershipProgram::load(const Options& options) {
  if (auto r = ensure_bpffs(options.pin_root); !r) return r.error();

  std::unique_ptr<MembershipProgram> self(new MembershipProgram());
  self->pin_root_ = options.pin_root;
  self->origin_ = fs::exists(fs::path(options.pin_root) / pinned_groups) ? MapsOrigin::reused : MapsOrigin::created;

  self->skel_.reset(membership_bpf__open());
  if (!self->skel_) return last_error();
  self->skel_->rodata->cfg_track_link_local = options.track_link_local ? 1 : 0;
  self->skel_->rodata->cfg_verify_checksum = options.verify_checksum ? 1 : 0;
  self->skel_->rodata->cfg_max_groups_per_host = options.max_groups_per_host;
  self->skel_->rodata->cfg_max_groups_per_interface = options.max_groups_per_interface;
  // Every host entry holds at least one listener entry.
  if (int err = bpf_map__set_max_entries(self->skel_->maps.jc_host_quota, options.max_listeners); err < 0)
    return libbpf_error(err);
  if (int err = bpf_map__set_max_entries(self->skel_->maps.jc_listeners, options.max_listeners); err < 0)
    return libbpf_error(err);
  if (int err = bpf_map__set_max_entries(self->skel_->maps.jc_groups, options.max_groups); err < 0)
    return libbpf_error(err);
  if (int err = bpf_map__set_max_entries(self->skel_->maps.jc_events, options.event_buffer); err < 0)
    return libbpf_error(err);

  const std::pair<bpf_map*, const char*> pins[] = {
      {self->skel_->maps.jc_listeners, pinned_listeners}, {self->skel_->maps.jc_groups, pinned_groups},
      {self->skel_->maps.jc_queriers, pinned_queriers},   {self->skel_->maps.jc_counters, pinned_counters},
      {self->skel_->maps.jc_events, pinned_events},
      // Pinned with the listeners they count, so that a restart keeps them
      // in step.
      {self->skel_->maps.jc_host_quota, pinned_host_quota},
      {self->skel_->maps.jc_interface_quota, pinned_interface_quota},
  };
  for (const auto& [map, name] : pins) {
    std::string path = (fs::path(options.pin_root) / name).string();
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err < 0) return libbpf_error(err);
  }
  // libbpf reuses a pinned map when its type, sizes and flags match, and
  // fails the load with EINVAL when they do not: compare first.
  if (options.replace_incompatible_pins) {
    for (const auto& [map, name] : pins) {
      std::string path = (fs::path(options.pin_root) / name).string();
      int fd = bpf_obj_get(path.c_str());
      if (fd < 0) continue;  // not pinned yet
      bpf_map_info info{};
      std::uint32_t len = sizeof(info);
      int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
      ::close(fd);
      std::string why;
      if (rc < 0) why = "unreadable";
      else if (info.type != static_cast<std::uint32_t>(bpf_map__type(map))) why = "another map type";
      else if (info.key_size != bpf_map__key_size(map) || info.value_size != bpf_map__value_size(map))
        why = "another key or value size (another joincast version)";
      else if (info.max_entries != bpf_map__max_entries(map))
        why = "max_entries " + std::to_string(info.max_entries) + " pinned, " +
              std::to_string(bpf_map__max_entries(map)) + " wanted";
      else if (info.map_flags != bpf_map__map_flags(map))
        why = "other map flags";
      if (why.empty()) continue;
      if (::unlink(path.c_str()) < 0) return last_error();
      self->replaced_ += (self->replaced_.empty() ? "" : "; ") + std::string(name) + ": " + why;
    }
    if (!self->replaced_.empty()) self->origin_ = MapsOrigin::created;
  }
  if (int err = membership_bpf__load(self->skel_.get()); err < 0) return libbpf_error(err);
  return self;
}

MembershipProgram::~MembershipProgram() {
  for (int ifindex : std::set<int>(attached_)) (void)detach(ifindex);
}

void MembershipProgram::SkeletonDeleter::operator()(membership_bpf* skel) const noexcept { membership_bpf__destroy(skel); }

Result<void> MembershipProgram::attach(int ifindex) {
  if (auto r = tc_attach_ingress(ifindex, program_fd(), {tc_handle, tc_priority}); !r) return r;
  attached_.insert(ifindex);
  return success();
}

Result<void> MembershipProgram::detach(int ifindex) {
  attached_.erase(ifindex);
  return tc_detach_ingress(ifindex, {tc_handle, tc_priority});
}

int MembershipProgram::program_fd() const { return bpf_program__fd(skel_->progs.jc_membership); }
int MembershipProgram::listeners_fd() const { return bpf_map__fd(skel_->maps.jc_listeners); }
int MembershipProgram::groups_fd() const { return bpf_map__fd(skel_->maps.jc_groups); }
int MembershipProgram::queriers_fd() const { return bpf_map__fd(skel_->maps.jc_queriers); }
int MembershipProgram::counters_fd() const { return bpf_map__fd(skel_->maps.jc_counters); }
int MembershipProgram::events_fd() const { return bpf_map__fd(skel_->maps.jc_events); }

Result<MembershipProgram::ForgetOutcome> MembershipProgram::forget(const jc_listener_key& key,
                                                                   std::uint64_t unless_reported_after_ns,
                                                                   jc_leave_reason reason) {
  jc_forget_args args{};
  args.key = key;
  args.unless_reported_after_ns = unless_reported_after_ns;
  args.reason = reason;
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = &args;  // the argument block is the program's "packet"
  opts.data_size_in = sizeof(args);
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.jc_forget), &opts); err < 0)
    return libbpf_error(err);
  switch (opts.retval) {
    case 0: return ForgetOutcome::forgotten;
    case 1: return ForgetOutcome::absent;
    default: return ForgetOutcome::kept;
  }
}

Result<bool> MembershipProgram::collect_group(const jc_group_key& key, std::uint64_t idle_since_ns) {
  jc_collect_args args{};
  args.key = key;
  args.idle_since_ns = idle_since_ns;
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = &args;  // the argument block is the program's "packet"
  opts.data_size_in = sizeof(args);
  if (int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.jc_collect_group), &opts); err < 0)
    return libbpf_error(err);
  return opts.retval == 0;
}

Result<void> MembershipProgram::unpin(const std::string& root) {
  for (const char* name : {pinned_listeners, pinned_groups, pinned_queriers, pinned_counters, pinned_events}) {
    fs::path p = fs::path(root) / name;
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return last_error();
  }
  std::error_code ec;
  fs::remove(root, ec);  // only if empty
  return success();
}

}  // namespace joincast::daemon::membership::loader
