// error.hpp — how media/ reports failure: Result<T> carrying a
// std::error_code. FFmpeg's AVERROR values get their own category so a
// message reads "Invalid data found when processing input", not "-1094995529".
// This layer returns errors and never logs them.
#pragma once

#include "common/result.hpp"

#include <system_error>

namespace joincast::media {

using joincast::Error;
using joincast::Result;
using joincast::success;

using joincast::errno_error;
using joincast::last_error;

// The category of FFmpeg's AVERROR codes; message() asks av_strerror.
const std::error_category& av_category() noexcept;

// An AVERROR (negative) as an error_code. AVERROR(E) for a POSIX E maps to
// the generic category so callers can compare with std::errc.
std::error_code av_error(int averror) noexcept;

}  // namespace joincast::media
