// private_bpffs.cpp — see private_bpffs.hpp.
#include "tests/bpf/private_bpffs.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace joincast::tests {

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

PrivateBpffs::PrivateBpffs(std::string_view prefix) {
  if (::unshare(CLONE_NEWNS) < 0) fail("unshare(CLONE_NEWNS) (run as root)", errno);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) fail("making / private", errno);
  std::string tmpl = (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) fail("mkdtemp " + tmpl, errno);
  dir_ = tmpl;
  if (::mount("bpf", dir_.c_str(), "bpf", 0, "mode=0700") < 0) {
    int err = errno;
    ::rmdir(dir_.c_str());
    fail("mounting bpffs on " + dir_, err);
  }
}

PrivateBpffs::~PrivateBpffs() {
  ::umount2(dir_.c_str(), MNT_DETACH);
  ::rmdir(dir_.c_str());
}

}  // namespace joincast::tests
