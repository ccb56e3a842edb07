// error.hpp — how media/ reports failure: Result<T> carrying a
// std::error_code. FFmpeg's AVERROR values get their own category so a
// message reads "Invalid data found when processing input", not "-1094995529".
// This layer returns errors and never logs them.
#pragma once

#include <boost/outcome/std_result.hpp>
#include <cerrno>
#include <system_error>

namespace joincast::media {

template <class T>
using Result = boost::outcome_v2::std_result<T>;

using boost::outcome_v2::success;

inline std::error_code errno_error(int e) { return {e, std::generic_category()}; }
inline std::error_code last_error() { return errno_error(errno); }

// The category of FFmpeg's AVERROR codes; message() asks av_strerror.
const std::error_category& av_category() noexcept;

// An AVERROR (negative) as an error_code. AVERROR(E) for a POSIX E maps to
// the generic category so callers can compare with std::errc.
std::error_code av_error(int averror) noexcept;

}  // namespace joincast::media
