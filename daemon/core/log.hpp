// log.hpp — the daemon's log. Only daemon/ logs; library layers return
// errors and the daemon logs each once, with context.
//
// Lines go to stderr. Under systemd (JOURNAL_STREAM set) each line carries
// an sd-daemon priority prefix ("<6>") so journald records the level.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace joincast::daemon::core::log {

enum class Level { debug = 7, info = 6, notice = 5, warning = 4, error = 3 };

void set_level(Level level);
Level level();
// Parses "debug", "info", "notice", "warning", "error".
bool parse_level(std::string_view text, Level& out);

// Text from outside (station names, URLs, directory keys, server
// messages) made safe for one log line: control characters become visible
// escapes ("\n", "\r", "\t", "\x1b", "\x7f"), so a name with a line break
// cannot forge a log line or a journald priority. write() applies it to
// every message as the last line of defence.
std::string escape(std::string_view text);

void write(Level level, std::string_view message);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void notice(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::notice) write(Level::notice, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::warning) write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace joincast::daemon::core::log
