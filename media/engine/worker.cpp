// worker.cpp — a media thread: timers, batched sends, sessions.
#include "media/engine/worker.hpp"

#include "media/engine/session.hpp"

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <sys/timerfd.h>
#include <unistd.h>

#include <future>

namespace joincast::media {

Worker::Worker(unsigned index, unsigned ring_entries, std::chrono::microseconds send_window, EventHandler on_event,
               std::atomic<std::size_t>& well_known_ads)
    : index_(index),
      ring_entries_(ring_entries),
      send_window_(send_window),
      on_event_(std::move(on_event)),
      well_known_ads_(well_known_ads),
      guard_(boost::asio::prefer(io_.get_executor(), boost::asio::execution::outstanding_work.tracked)) {}

Worker::~Worker() { shutdown(); }

Result<void> Worker::start() {
  // Our own timerfd rather than an asio timer: re-arming it is one
  // timerfd_settime(), which also clears its readiness, where an asio timer
  // takes a cancel and a new wait (several syscalls) per wakeup.
  UniqueFd tfd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!tfd) return last_error();
  timer_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, tfd.release());
  watch_timer();
  auto sender = UdpSender::create(ring_entries_, [this](const OutgoingPacket& p, int r) { on_complete(p, r); });
  if (!sender) return sender.error();
  sender_ = std::move(sender.value());
  if (sender_->completion_fd() >= 0) {
    int fd = ::dup(sender_->completion_fd());
    if (fd < 0) return last_error();
    completions_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
    watch_completions();
  }
  thread_ = std::thread([this] { io_.run(); });
  return success();
}

std::string Worker::sender_note() const { return sender_ ? sender_->fallback_reason() : std::string(); }

void Worker::shutdown() {
  if (!thread_.joinable()) return;
  std::promise<void> done;
  auto finished = done.get_future();
  boost::asio::post(io_, [this, &done] {
    stopping_ = true;
    for (auto& [id, entry] : sessions_) entry.session->stop();
    sessions_.clear();
    session_count_ = 0;
    deadlines_ = {};
    timer_->close();
    if (completions_) completions_->close();
    // The last packets (BYEs, SAP deletions: drained sends that wait for
    // the ones before them) leave while this thread lives; the kernel
    // cancels what an exited thread left unfinished.
    if (sender_) sender_->drain(std::chrono::seconds(1));
    guard_ = boost::asio::any_io_executor();
    done.set_value();
  });
  finished.wait();
  // Handlers still queued (timers, a source's last read) are dropped; the
  // sender outlives them and then waits for the kernel's last sends.
  io_.stop();
  thread_.join();
  sender_.reset();
}

Result<std::shared_ptr<UniqueFd>> Worker::sender_socket(const SenderSocketOptions& options) {
  SocketKey key{options.source.to_string(), options.ifindex, options.hops, options.loop, options.port};
  std::lock_guard lock(sockets_mutex_);
  if (auto it = sockets_.find(key); it != sockets_.end())
    if (auto existing = it->second.lock()) return existing;
  auto fd = open_sender_socket(options);
  if (!fd) return fd.error();
  auto shared = std::make_shared<UniqueFd>(std::move(fd.value()));
  std::erase_if(sockets_, [](const auto& entry) { return entry.second.expired(); });
  sockets_[key] = shared;
  return shared;
}

void Worker::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

void Worker::add(std::shared_ptr<Session> session) {
  if (stopping_) return;
  auto& s = *session;
  sessions_[s.id()] = Entry{std::move(session), std::nullopt};
  session_count_ = sessions_.size();
  s.start();
  reschedule(s);
  flush();
}

void Worker::remove(SessionId id, StopMode mode) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto session = it->second.session;
  sessions_.erase(it);
  session_count_ = sessions_.size();
  session->stop(mode);
  flush();
}

void Worker::reschedule(Session& session) {
  auto it = sessions_.find(session.id());
  if (it == sessions_.end()) return;
  auto next = session.next_event();
  auto& slot = it->second.scheduled;
  if (slot == next) return;
  slot = next;
  if (!next) return;
  deadlines_.push({*next, session.id()});
  // While ticking, the next tick serves it; otherwise only an earlier
  // deadline than the one armed needs the timer moved.
  if (mode_ == TimerMode::idle || (mode_ == TimerMode::oneshot && *next < oneshot_at_)) arm();
}

bool Worker::current(const Deadline& d) const {
  auto it = sessions_.find(d.id);
  return it != sessions_.end() && it->second.scheduled == d.when;
}

namespace {
itimerspec timer_spec(std::optional<Worker::Clock::time_point> at, std::chrono::nanoseconds interval) {
  itimerspec spec{};
  if (at) {
    // steady_clock is CLOCK_MONOTONIC; a time in the past fires at once.
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at->time_since_epoch()).count();
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = std::max(1L, static_cast<long>(ns % 1000000000));  // zero would disarm
    spec.it_interval.tv_sec = static_cast<time_t>(interval.count() / 1000000000);
    spec.it_interval.tv_nsec = static_cast<long>(interval.count() % 1000000000);
  }
  return spec;
}
}  // namespace

void Worker::arm() {
  // Drop deadlines that a later reschedule replaced.
  while (!deadlines_.empty() && !current(deadlines_.top())) deadlines_.pop();
  auto now = Clock::now();
  auto half = send_window_ / 2;
  int fd = timer_->native_handle();
  if (deadlines_.empty()) {
    if (mode_ != TimerMode::idle) {
      auto spec = timer_spec(std::nullopt, {});
      timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
      mode_ = TimerMode::idle;
    }
    return;
  }
  auto when = deadlines_.top().when;
  // Many sessions keep deadlines dense: then the timer ticks every send
  // window and is never set again (programming a timer is a costly
  // syscall, in a VM especially). Sparse deadlines get a one-shot timer.
  if (when <= now + 4 * send_window_) {
    if (mode_ == TimerMode::ticking) return;
    auto spec = timer_spec(std::max(when - half, now), send_window_);
    timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
    mode_ = TimerMode::ticking;
    return;
  }
  // A lone deadline is served on time (the window only groups dense ones).
  if (mode_ == TimerMode::oneshot && oneshot_at_ == when) return;
  oneshot_at_ = when;
  auto spec = timer_spec(oneshot_at_, {});
  timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
  mode_ = TimerMode::oneshot;
}

void Worker::watch_timer() {
  timer_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    std::uint64_t expirations = 0;  // clears the descriptor's readiness
    (void)!::read(timer_->native_handle(), &expirations, sizeof expirations);
    if (mode_ == TimerMode::oneshot) mode_ = TimerMode::idle;  // spent
    run_timers();
    watch_timer();
  });
}

void Worker::run_timers() {
  if (stopping_) return;
  auto now = Clock::now();
  // Everything due within half a window either side of now, across
  // sessions: one wakeup and one submit for all of them. A packet leaves
  // at most half a send window early or late.
  auto half = send_window_ / 2;
  due_.clear();
  while (!deadlines_.empty() && deadlines_.top().when <= now + half) {
    auto d = deadlines_.top();
    deadlines_.pop();
    auto it = sessions_.find(d.id);
    if (it == sessions_.end() || it->second.scheduled != d.when) continue;  // stale
    it->second.scheduled.reset();
    due_.push_back(it->second.session.get());
  }
  for (Session* session : due_) {
    session->on_timer(now, half);
    reschedule(*session);
  }
  sender_->flush();
  arm();
}

void Worker::flush() {
  if (sender_) sender_->flush();
}

void Worker::emit(const SessionEvent& event) {
  if (on_event_) on_event_(event);
}

void Worker::watch_completions() {
  completions_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || !sender_) return;
    sender_->clear_completion_signal();
    sender_->reap();
    watch_completions();
  });
}

void Worker::on_complete(const OutgoingPacket& packet, int result) {
  if (result >= 0) return;
  if (auto it = sessions_.find(packet.session); it != sessions_.end()) it->second.session->on_send_complete(packet, result);
}

}  // namespace joincast::media
