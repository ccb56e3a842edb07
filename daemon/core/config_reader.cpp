// config_reader.cpp — see config_reader.hpp.
#include "daemon/core/config_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace joincast::daemon::core {

std::string ConfigError::to_string() const {
  std::string where = file;
  if (line) where += fmt::format(":{}:{}", line, column);
  if (key.empty()) return fmt::format("{}: {}", where, message);
  return fmt::format("{}: {}: {}", where, key, message);
}

void ConfigReader::error(const toml::node* where, std::string key, std::string message) {
  if (where) return error(where->source(), std::move(key), std::move(message));
  errors_.push_back({file_, 0, 0, std::move(key), std::move(message)});
}

void ConfigReader::error(const toml::source_region& where, std::string key, std::string message) {
  errors_.push_back({file_, where.begin.line, where.begin.column, std::move(key), std::move(message)});
}

std::string ConfigReader::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const toml::table* ConfigReader::table(const toml::table& parent, std::string_view name, const std::string& path) {
  static const toml::table empty;
  const toml::node* n = parent.get(name);
  if (!n) return &empty;
  if (const toml::table* t = n->as_table()) return t;
  error(n, join(path, name), "must be a table");
  return &empty;
}

std::string ConfigReader::string(const toml::table& t, std::string_view name, const std::string& path,
                                 std::string fallback) {
  const toml::node* n = t.get(name);
  if (!n) return fallback;
  if (auto v = n->value<std::string>()) return *v;
  error(n, join(path, name), "must be a string");
  return fallback;
}

bool ConfigReader::boolean(const toml::table& t, std::string_view name, const std::string& path, bool fallback) {
  const toml::node* n = t.get(name);
  if (!n) return fallback;
  if (auto v = n->value_exact<bool>()) return *v;
  error(n, join(path, name), "must be true or false");
  return fallback;
}

std::int64_t ConfigReader::integer(const toml::table& t, std::string_view name, const std::string& path,
                                   std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const toml::node* n = t.get(name);
  if (!n) return fallback;
  auto v = n->value_exact<std::int64_t>();
  if (!v) {
    error(n, join(path, name), "must be an integer");
    return fallback;
  }
  if (*v < min || *v > max) {
    error(n, join(path, name), fmt::format("{} is out of range {}..{}", *v, min, max));
    return fallback;
  }
  return *v;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || rest == begin || value < 0 || !std::isfinite(value)) return std::nullopt;
  std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  double ms;
  if (unit == "ms") ms = value;
  else if (unit == "s" || unit.empty()) ms = value * 1000;
  else if (unit == "m" || unit == "min") ms = value * 60'000;
  else if (unit == "h") ms = value * 3'600'000;
  else return std::nullopt;
  if (ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(ms)));
}

std::chrono::milliseconds ConfigReader::positive_duration(const toml::table& t, std::string_view name,
                                                          const std::string& path, std::chrono::milliseconds fallback) {
  auto d = duration(t, name, path, fallback);
  if (d.count() > 0) return d;
  if (const toml::node* n = t.get(name)) error(n, join(path, name), "must be positive (longer than 0s)");
  return fallback;
}

std::chrono::milliseconds ConfigReader::duration(const toml::table& t, std::string_view name, const std::string& path,
                                                 std::chrono::milliseconds fallback) {
  const toml::node* n = t.get(name);
  if (!n) return fallback;
  if (auto i = n->value_exact<std::int64_t>()) {
    if (*i >= 0) return std::chrono::seconds(*i);
  } else if (auto d = n->value_exact<double>()) {
    if (*d >= 0 && std::isfinite(*d)) return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*d * 1000)));
  } else if (auto s = n->value_exact<std::string>()) {
    if (auto parsed = parse_duration(*s)) return *parsed;
  }
  error(n, join(path, name), "must be a duration such as \"125s\", \"500ms\", \"2m\" or a number of seconds");
  return fallback;
}

std::vector<std::string> ConfigReader::strings(const toml::table& t, std::string_view name, const std::string& path) {
  std::vector<std::string> out;
  const toml::node* n = t.get(name);
  if (!n) return out;
  const toml::array* a = n->as_array();
  if (!a) {
    error(n, join(path, name), "must be a list of strings");
    return out;
  }
  for (const toml::node& item : *a) {
    if (auto s = item.value_exact<std::string>()) out.push_back(*s);
    else error(&item, join(path, name), "must contain only strings");
  }
  return out;
}

void ConfigReader::only_keys(const toml::table& t, const std::string& path,
                             std::initializer_list<std::string_view> known) {
  for (const auto& [key, node] : t) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end())
      error(&node, join(path, key.str()), "unknown key");
  }
}

}  // namespace joincast::daemon::core
