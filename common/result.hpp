// result.hpp — how every layer of joincast reports failure: Result<T>, whose
// error is an Error — a std::error_code (what went wrong, comparable with
// std::errc and the layers' own enums) and, where the failing code knows it,
// a human message that names the input and what was wrong with it
// ("group ff32::%-8: a group takes no zone id"). Conversions from errno,
// libbpf, AVERROR and NLMSG_ERROR happen at the call site, into this type.
#pragma once

#include <boost/outcome/result.hpp>

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace joincast {

class Error {
 public:
  Error() = default;
  // Implicit on purpose: a std::error_code, or an errc/enum value, is an
  // Error without a message of its own.
  Error(std::error_code code) : code_(code) {}  // NOLINT(google-explicit-constructor)
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>, int> = 0>
  Error(E e) : code_(make_error_code(e)) {}  // NOLINT(google-explicit-constructor)
  Error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>, int> = 0>
  Error(E e, std::string message) : code_(make_error_code(e)), message_(std::move(message)) {}

  const std::error_code& code() const noexcept { return code_; }
  // The message the failing code wrote, or the code's own text.
  std::string message() const { return message_.empty() ? code_.message() : message_; }
  // Whether the failing code wrote a message of its own.
  bool has_message() const noexcept { return !message_.empty(); }
  // Prefixes what the caller knows: "state dir /var/lib/x: Permission denied".
  Error context(std::string_view what) && {
    message_ = std::string(what) + ": " + message();
    return std::move(*this);
  }
  Error context(std::string_view what) const& { return Error(*this).context(what); }

  int value() const noexcept { return code_.value(); }
  const std::error_category& category() const noexcept { return code_.category(); }
  explicit operator bool() const noexcept { return static_cast<bool>(code_); }
  operator const std::error_code&() const noexcept { return code_; }  // NOLINT(google-explicit-constructor)

  friend bool operator==(const Error& a, const Error& b) noexcept { return a.code_ == b.code_; }
  friend bool operator==(const Error& a, const std::error_code& b) noexcept { return a.code_ == b; }
  template <class E, std::enable_if_t<std::is_error_code_enum_v<E> || std::is_error_condition_enum_v<E>, int> = 0>
  friend bool operator==(const Error& a, E b) noexcept {
    return a.code_ == b;
  }

 private:
  std::error_code code_;
  std::string message_;
};

// Lets Boost.Outcome treat Error like a std::error_code (and throw
// std::system_error when a failed Result's value is taken).
inline std::error_code make_error_code(const Error& e) noexcept { return e.code(); }

template <class T>
using Result = boost::outcome_v2::result<T, Error>;

using boost::outcome_v2::success;

inline std::error_code errno_error(int e) { return {e, std::generic_category()}; }
inline std::error_code last_error() { return errno_error(errno); }

// An invalid-argument error with a message naming the input.
inline Error invalid(std::string message) { return {std::errc::invalid_argument, std::move(message)}; }

}  // namespace joincast
