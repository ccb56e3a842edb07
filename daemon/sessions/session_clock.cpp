// session_clock.cpp — see session_clock.hpp.
#include "daemon/sessions/session_clock.hpp"

#include <boost/asio/steady_timer.hpp>

namespace joincast::daemon::sessions {

namespace {

class AsioSessionTimer final : public SessionTimer {
 public:
  explicit AsioSessionTimer(boost::asio::io_context& io) : timer_(io) {}
  void start(std::chrono::milliseconds after, std::function<void()> fire) override {
    timer_.expires_after(after);  // aborts the pending wait, if any
    timer_.async_wait([fire = std::move(fire)](boost::system::error_code ec) {
      if (!ec) fire();
    });
  }
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<SessionTimer> AsioSessionClock::timer() { return std::make_unique<AsioSessionTimer>(io_); }

}  // namespace joincast::daemon::sessions
