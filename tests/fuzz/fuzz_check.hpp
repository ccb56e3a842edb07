// fuzz_check.hpp — what every libFuzzer target here shares: a contract
// check that aborts with the violated condition (libFuzzer then saves the
// input as a crash), and helpers to cut one input into several fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace joincast::fuzz {

// The input as text, and cut into fields at NUL bytes (field i, or "").
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : text_(reinterpret_cast<const char*>(data), size) {}
  std::string_view text() const { return text_; }
  std::span<const std::byte> bytes() const { return std::as_bytes(std::span(text_.data(), text_.size())); }
  // The first byte as a selector in [0, n), and the rest.
  unsigned pick(unsigned n) const { return text_.empty() ? 0 : static_cast<unsigned char>(text_[0]) % n; }
  std::string_view rest() const { return text_.empty() ? text_ : text_.substr(1); }
  std::string_view field(std::size_t i) const {
    std::string_view t = text_;
    for (; i > 0; --i) {
      auto nul = t.find('\0');
      if (nul == std::string_view::npos) return {};
      t.remove_prefix(nul + 1);
    }
    return t.substr(0, t.find('\0'));
  }

 private:
  std::string_view text_;
};

inline bool has_any(std::string_view s, std::string_view chars) { return s.find_first_of(chars) != std::string_view::npos; }
inline bool has_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

}  // namespace joincast::fuzz
