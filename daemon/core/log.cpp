// log.cpp — writes log lines to stderr, with journald priorities when run
// by systemd and a timestamp otherwise.
#include "daemon/core/log.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace joincast::daemon::core::log {

namespace {
Level current = Level::info;
std::mutex write_mutex;

bool under_journald() {
  static const bool journald = std::getenv("JOURNAL_STREAM") != nullptr;
  return journald;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::notice: return "notice";
    case Level::warning: return "warning";
    case Level::error: return "error";
  }
  return "?";
}
}  // namespace

void set_level(Level l) { current = l; }
Level level() { return current; }

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::debug, Level::info, Level::notice, Level::warning, Level::error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

void write(Level l, std::string_view raw) {
  const std::string message = escape(raw);
  std::string line;
  if (under_journald()) {
    line = fmt::format("<{}>{}\n", static_cast<int>(l), message);
  } else {
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    localtime_r(&t, &tm);
    line = fmt::format("{:02}:{:02}:{:02}.{:03} {:<7} {}\n", tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
                       level_name(l), message);
  }
  std::lock_guard lock(write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace joincast::daemon::core::log
