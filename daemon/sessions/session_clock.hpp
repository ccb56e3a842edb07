// session_clock.hpp — the time the session state machine runs on: grace
// periods, retries and start timeouts are timers of a SessionClock. The
// daemon uses the steady clock and Asio timers (AsioSessionClock); unit
// tests use a fake clock they move by hand.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace joincast::daemon::sessions {

// One pending expiry at a time: start() replaces what was pending, and a
// cancelled or replaced expiry never fires.
class SessionTimer {
 public:
  virtual ~SessionTimer() = default;
  virtual void start(std::chrono::milliseconds after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class SessionClock {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~SessionClock() = default;
  virtual Clock::time_point now() const = 0;
  virtual std::unique_ptr<SessionTimer> timer() = 0;
};

class AsioSessionClock final : public SessionClock {
 public:
  explicit AsioSessionClock(boost::asio::io_context& io) : io_(io) {}
  Clock::time_point now() const override { return Clock::now(); }
  std::unique_ptr<SessionTimer> timer() override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace joincast::daemon::sessions
