// worker.cpp — a media thread: timers, batched sends, sessions.
#include "media/worker.hpp"

#include "media/session.hpp"

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <future>

namespace joincast::media {

namespace {
using namespace std::chrono_literals;
// Deadlines this close together are served by one wakeup.
constexpr auto kCoalesce = 1ms;
}  // namespace

Worker::Worker(unsigned index, unsigned ring_entries, EventHandler on_event, std::atomic<std::size_t>& well_known_ads)
    : index_(index),
      ring_entries_(ring_entries),
      on_event_(std::move(on_event)),
      well_known_ads_(well_known_ads),
      guard_(boost::asio::prefer(io_.get_executor(), boost::asio::execution::outstanding_work.tracked)),
      timer_(io_) {}

Worker::~Worker() { shutdown(); }

Result<void> Worker::start() {
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
    for (auto& [id, session] : sessions_) session->stop();
    sessions_.clear();
    session_count_ = 0;
    timer_.cancel();
    if (completions_) completions_->close();
    sender_.reset();  // flushes and waits for the kernel to finish the last sends
    guard_ = boost::asio::any_io_executor();
    done.set_value();
  });
  finished.wait();
  io_.stop();
  thread_.join();
}

Result<std::shared_ptr<UniqueFd>> Worker::sender_socket(const SenderSocketOptions& options) {
  SocketKey key{options.source.to_string(), options.ifindex, options.hops, options.loop};
  std::lock_guard lock(sockets_mutex_);
  if (auto it = sockets_.find(key); it != sockets_.end())
    if (auto existing = it->second.lock()) return existing;
  auto fd = open_sender_socket(options);
  if (!fd) return fd.error();
  auto shared = std::make_shared<UniqueFd>(std::move(fd.value()));
  sockets_[key] = shared;
  return shared;
}

void Worker::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

void Worker::add(std::shared_ptr<Session> session) {
  auto& s = *session;
  sessions_[s.id()] = std::move(session);
  session_count_ = sessions_.size();
  s.start();
  reschedule(s);
  flush();
}

void Worker::remove(SessionId id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  auto session = it->second;
  sessions_.erase(it);
  scheduled_.erase(id);
  session_count_ = sessions_.size();
  session->stop();
  flush();
}

void Worker::reschedule(Session& session) {
  auto next = session.next_event();
  auto& slot = scheduled_[session.id()];
  if (!next) {
    scheduled_.erase(session.id());
    return;
  }
  if (slot == *next) return;
  slot = *next;
  deadlines_.push({*next, session.id()});
  if (!armed_for_ || *next < *armed_for_) arm();
}

void Worker::arm() {
  // Drop deadlines that a later reschedule replaced.
  while (!deadlines_.empty()) {
    const auto& top = deadlines_.top();
    auto it = scheduled_.find(top.id);
    if (it != scheduled_.end() && it->second == top.when) break;
    deadlines_.pop();
  }
  if (deadlines_.empty()) {
    armed_for_.reset();
    timer_.cancel();
    return;
  }
  armed_for_ = deadlines_.top().when;
  timer_.expires_at(*armed_for_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    run_timers();
  });
}

void Worker::run_timers() {
  armed_for_.reset();
  auto now = Clock::now();
  // Everything due now (or within the coalescing window), across sessions.
  std::vector<SessionId> due;
  while (!deadlines_.empty() && deadlines_.top().when <= now + kCoalesce) {
    auto d = deadlines_.top();
    deadlines_.pop();
    auto it = scheduled_.find(d.id);
    if (it == scheduled_.end() || it->second != d.when) continue;  // stale
    scheduled_.erase(it);
    due.push_back(d.id);
  }
  for (auto id : due) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) continue;
    auto session = it->second;
    session->on_timer(now);
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
    sender_->reap();
    watch_completions();
  });
}

void Worker::on_complete(const OutgoingPacket& packet, int result) {
  if (result >= 0) return;
  if (auto it = sessions_.find(packet.session); it != sessions_.end()) it->second->on_send_complete(packet, result);
}

}  // namespace joincast::media
