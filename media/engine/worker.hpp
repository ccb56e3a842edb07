// worker.hpp — one thread of the media engine's small pool. It owns an
// io_context (the executor its sessions' sources and sockets run on), an
// io_uring sender shared by its sessions, and one timer: the sessions'
// next deadlines sit in a heap, and each wakeup sends everything due within
// a millisecond across all sessions with one submit.
#pragma once

#include "media/error.hpp"
#include "media/engine/multicast_socket.hpp"
#include "media/engine/session_types.hpp"
#include "media/engine/udp_sender.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

namespace joincast::media {

class Session;

class Worker {
 public:
  using Clock = std::chrono::steady_clock;
  using EventHandler = std::function<void(const SessionEvent&)>;

  // well_known_ads: the engine-wide count of sessions announcing on a
  // well-known SAP group (RFC 2974 §3.1 divides the bandwidth among them).
  // send_window: packets due this soon leave with the ones due now (one
  // wakeup and one submit for all); it bounds how early a packet may leave.
  Worker(unsigned index, unsigned ring_entries, std::chrono::microseconds send_window, EventHandler on_event,
         std::atomic<std::size_t>& well_known_ads);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Result<void> start();
  // Stops every session (SAP deletions and BYEs go out), then the thread.
  void shutdown();

  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  unsigned index() const { return index_; }
  std::size_t session_count() const { return session_count_.load(); }
  // Why io_uring is not used, empty if it is.
  std::string sender_note() const;

  // A send socket for these options, shared by the worker's sessions with
  // the same ones. Any thread.
  Result<std::shared_ptr<UniqueFd>> sender_socket(const SenderSocketOptions& options);

  // Runs fn on the worker thread.
  void post(std::function<void()> fn);

  // Worker thread only.
  void add(std::shared_ptr<Session> session);
  void remove(SessionId id, StopMode mode = StopMode::end);
  void reschedule(Session& session);
  void flush();
  UdpSender& sender() { return *sender_; }
  void emit(const SessionEvent& event);
  std::size_t well_known_ads() const { return well_known_ads_.load(); }
  std::atomic<std::size_t>& well_known_counter() { return well_known_ads_; }

 private:
  struct Deadline {
    Clock::time_point when;
    SessionId id;
    bool operator>(const Deadline& o) const { return when > o.when; }
  };

  void run_timers();
  void arm();
  bool current(const Deadline& d) const;
  void watch_completions();
  void watch_timer();
  void on_complete(const OutgoingPacket& packet, int result);

  struct Entry {
    std::shared_ptr<Session> session;
    std::optional<Clock::time_point> scheduled;  // the deadline in the heap that counts
  };

  unsigned index_;
  unsigned ring_entries_;
  std::chrono::microseconds send_window_;
  bool stopping_ = false;
  EventHandler on_event_;
  std::atomic<std::size_t>& well_known_ads_;
  boost::asio::io_context io_{1};
  boost::asio::any_io_executor guard_;  // tracks outstanding work: run() returns only after shutdown
  std::thread thread_;
  std::unique_ptr<UdpSender> sender_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> timer_;  // a timerfd
  enum class TimerMode { idle, oneshot, ticking };
  TimerMode mode_ = TimerMode::idle;
  Clock::time_point oneshot_at_{};
  std::unique_ptr<boost::asio::posix::stream_descriptor> completions_;
  std::unordered_map<SessionId, Entry> sessions_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::vector<Session*> due_;
  std::atomic<std::size_t> session_count_{0};

  struct SocketKey {
    std::string source;
    unsigned ifindex;
    unsigned hops;
    bool loop;
    std::uint16_t port;
    auto operator<=>(const SocketKey&) const = default;
  };
  std::mutex sockets_mutex_;
  std::map<SocketKey, std::weak_ptr<UniqueFd>> sockets_;
};

}  // namespace joincast::media
