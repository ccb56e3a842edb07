// config_reader.hpp — typed, validating access to a parsed TOML document.
// Every problem is collected, not thrown, as "file:line:column: key: reason",
// so `joincastd --check` can list them all at once. Keys nobody asked for
// are reported too: a typo must not be silently ignored.
#pragma once

#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::daemon::core {

struct ConfigError {
  std::string file;
  std::uint32_t line = 0;  // 0: not tied to a line
  std::uint32_t column = 0;
  std::string key;  // dotted path, e.g. "membership.timers.query_interval"
  std::string message;
  std::string to_string() const;
};

class ConfigReader {
 public:
  explicit ConfigReader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  const std::vector<ConfigError>& errors() const { return errors_; }
  bool ok() const { return errors_.empty(); }

  void error(const toml::node* where, std::string key, std::string message);
  void error(const toml::source_region& where, std::string key, std::string message);
  // An error found outside the TOML document (a file it includes).
  void add(ConfigError e) { errors_.push_back(std::move(e)); }

  // A sub-table; absent is an empty table, a non-table is an error.
  const toml::table* table(const toml::table& parent, std::string_view name, const std::string& path);

  std::string string(const toml::table& t, std::string_view name, const std::string& path, std::string fallback);
  bool boolean(const toml::table& t, std::string_view name, const std::string& path, bool fallback);
  std::int64_t integer(const toml::table& t, std::string_view name, const std::string& path, std::int64_t fallback,
                       std::int64_t min, std::int64_t max);
  // "125s", "1.5s", "500ms", "2m", or a number of seconds.
  std::chrono::milliseconds duration(const toml::table& t, std::string_view name, const std::string& path,
                                     std::chrono::milliseconds fallback);
  // The same for a duration that must be positive: "0s" is an error naming the key.
  std::chrono::milliseconds positive_duration(const toml::table& t, std::string_view name, const std::string& path,
                                              std::chrono::milliseconds fallback);
  std::vector<std::string> strings(const toml::table& t, std::string_view name, const std::string& path);
  // Reports every key of t that is not in known.
  void only_keys(const toml::table& t, const std::string& path, std::initializer_list<std::string_view> known);

  static std::string join(const std::string& path, std::string_view key);

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

// Parses "125s" / "500ms" / "2m" / "1h". Returns nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace joincast::daemon::core
