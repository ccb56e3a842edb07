// log_test.cpp — the daemon's log keeps text from outside on one line:
// control characters in a station name or URL are escaped visibly, so a
// directory cannot forge log lines or journald priorities.
#include "daemon/core/log.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

using namespace joincast::daemon;

TEST_CASE("core::log::escape makes control characters visible") {
  CHECK(core::log::escape("plain Radio 1 / äöü") == "plain Radio 1 / äöü");
  CHECK(core::log::escape("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(core::log::escape(std::string("\x1b[31m\x7f\0x", 8)) == "\\x1b[31m\\x7f\\x00x");
}

TEST_CASE("a logged URL with a line break stays one line") {
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture);
  std::fflush(stderr);
  int saved = ::dup(2);
  REQUIRE(saved >= 0);
  ::dup2(::fileno(capture), 2);
  core::log::warning("session {}: {}", "ff3e::1", "http://evil/\n<3>joincastd: forged entry\r\n");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::rewind(capture);
  std::string text;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, capture)) text.append(buf, n);
  std::fclose(capture);
  CAPTURE(text);
  CHECK(text.find('\n') == text.size() - 1);
  CHECK(text.find('\r') == std::string::npos);
  CHECK(text.find("http://evil/\\n<3>joincastd: forged entry\\r\\n") != std::string::npos);
}
