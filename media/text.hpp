// text.hpp — ASCII helpers for protocol tokens: header names, URL schemes,
// MIME types, playlist keys, file extensions. They fold only A–Z and never
// consult the C locale, so a token compares the same on every box.
#pragma once

#include <string>
#include <string_view>

namespace joincast::media {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Space, tab, CR, LF, FF, VT: what isspace() means in the "C" locale.
constexpr bool ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

constexpr std::string_view trim_space(std::string_view s) {
  while (!s.empty() && ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace joincast::media
