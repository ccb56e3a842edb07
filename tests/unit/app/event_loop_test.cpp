// event_loop_test.cpp — the daemon's event loop outlives a handler that
// throws: later handlers still run and run_event_loop() returns normally.
#include "daemon/app/daemon.hpp"

#include <doctest/doctest.h>

#include <boost/asio/post.hpp>

#include <stdexcept>

using namespace joincast::daemon;

TEST_CASE("a handler that throws is logged and the event loop goes on") {
  boost::asio::io_context io;
  int ran = 0;
  boost::asio::post(io, [] { throw std::out_of_range("number overflow parsing '1e400'"); });
  boost::asio::post(io, [&] { ++ran; });
  boost::asio::post(io, [] { throw 42; });
  boost::asio::post(io, [&] { ++ran; });
  std::size_t thrown = 0;
  CHECK_NOTHROW(thrown = app::run_event_loop(io));
  CHECK(thrown == 2);
  CHECK(ran == 2);
}
