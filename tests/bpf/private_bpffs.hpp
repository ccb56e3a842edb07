// private_bpffs.hpp — a bpffs of a process's own, for the pins of the
// BPF tests and the membership benchmark.
//
// The mount lives in a private mount namespace (the constructor unshares
// one), so it vanishes with the process whatever happens; the destructor
// unmounts it and removes its directory anyway, so nothing is left in
// /tmp. /sys/fs/bpf is never touched. Needs root (CAP_SYS_ADMIN).
#pragma once

#include <string>
#include <string_view>

namespace joincast::tests {

class PrivateBpffs {
 public:
  // prefix names the temporary directory (prefix.XXXXXX); throws
  // std::system_error saying which step failed.
  explicit PrivateBpffs(std::string_view prefix);
  ~PrivateBpffs();
  PrivateBpffs(const PrivateBpffs&) = delete;
  PrivateBpffs& operator=(const PrivateBpffs&) = delete;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace joincast::tests
