// dvb_process.cpp — see dvb_process.hpp.
#include "media/source/dvb/dvb_process.hpp"

#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <deque>
#include <fstream>

namespace joincast::media {

namespace {

// execvp() may allocate while searching PATH, which is not allowed between
// fork and exec in a threaded process: the search happens before the fork.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  while (begin <= dirs.size()) {
    std::size_t end = dirs.find(':', begin);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return {};
}

}  // namespace

Result<std::shared_ptr<ChildProcess>> ChildProcess::spawn(boost::asio::any_io_executor executor,
                                                          const std::vector<std::string>& argv,
                                                          const std::string& log_path) {
  if (argv.empty()) return errno_error(EINVAL);
  const std::string program = find_program(argv[0]);
  if (program.empty()) return errno_error(ENOENT);
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const char* log = log_path.empty() ? "/dev/null" : log_path.c_str();
  int out = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (out < 0) return last_error();
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    int e = errno;
    ::close(out);
    return errno_error(e);
  }
  // A pipe that the exec closes tells the parent whether exec worked.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(out);
    ::close(devnull);
    return errno_error(e);
  }
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(out), ::close(devnull), ::close(status_pipe[0]), ::close(status_pipe[1]);
    return errno_error(e);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::setpgid(0, 0);
    ::execv(program.c_str(), args.data());
    int e = errno;
    ssize_t ignored = ::write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  ::close(out);
  ::close(devnull);
  ::close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  ::close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    ::waitpid(pid, nullptr, 0);
    return errno_error(child_errno);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return errno_error(e);
  }
  auto child = std::make_shared<ChildProcess>(std::move(executor), pid, pidfd);
  child->wait();
  return child;
}

ChildProcess::ChildProcess(boost::asio::any_io_executor executor, int pid, int pidfd)
    : pid_(pid), pidfd_(executor, pidfd) {}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::wait() {
  pidfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [weak = weak_from_this()](const boost::system::error_code& ec) {
                      auto self = weak.lock();
                      if (!self || ec) return;
                      self->reap();
                    });
}

void ChildProcess::reap() {
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return wait();
  exited_ = true;
  status_ = status;
  if (kill_timer_) kill_timer_->cancel();
  boost::system::error_code ignored;
  pidfd_.close(ignored);
  if (auto h = std::move(on_exit_)) h(status);
}

void ChildProcess::on_exit(ExitHandler handler) {
  if (exited_) {
    if (handler) handler(status_);
    return;
  }
  on_exit_ = std::move(handler);
}

void ChildProcess::terminate(std::chrono::milliseconds grace) {
  if (exited_) return;
  ::kill(pid_, SIGTERM);
  kill_timer_ = std::make_unique<boost::asio::steady_timer>(pidfd_.get_executor(), grace);
  kill_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!self || ec || self->exited_) return;
    ::kill(self->pid_, SIGKILL);
  });
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string log_tail(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += (out.empty() ? "" : " | ") + l;
  return out;
}

}  // namespace joincast::media
