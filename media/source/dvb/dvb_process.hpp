// dvb_process.hpp — a child process (dvblast, dvblastctl) owned by the
// daemon: started with fork/exec, its output appended to a log file, its
// exit observed through a pidfd on the executor, and killed with the
// daemon (PR_SET_PDEATHSIG) so no dvblast outlives joincastd.
#pragma once

#include "media/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace joincast::media {

class ChildProcess : public std::enable_shared_from_this<ChildProcess> {
 public:
  // status: as from waitpid (use WIFEXITED etc.).
  using ExitHandler = std::function<void(int status)>;

  // argv[0] is looked up in PATH. stdout and stderr go to log_path
  // (appended; /dev/null if empty).
  static Result<std::shared_ptr<ChildProcess>> spawn(boost::asio::any_io_executor executor,
                                                     const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~ChildProcess();

  void on_exit(ExitHandler handler);
  // SIGTERM now, SIGKILL if still alive after grace.
  void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  bool running() const { return !exited_; }
  int pid() const { return pid_; }

  ChildProcess(boost::asio::any_io_executor executor, int pid, int pidfd);

 private:
  void wait();
  void reap();

  int pid_;
  boost::asio::posix::stream_descriptor pidfd_;
  std::unique_ptr<boost::asio::steady_timer> kill_timer_;
  ExitHandler on_exit_;
  bool exited_ = false;
  int status_ = 0;
};

// "exit status 1", "killed by signal 9".
std::string describe_exit(int status);

// The last lines of a log file (for error messages), joined with " | ".
std::string log_tail(const std::string& path, std::size_t lines = 3);

}  // namespace joincast::media
