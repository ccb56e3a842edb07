// error.cpp — the FFmpeg error category.
#include "error.hpp"

extern "C" {
#include <libavutil/error.h>
}

namespace joincast::media {

namespace {
class AvCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ffmpeg"; }
  std::string message(int code) const override {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {};
    if (av_strerror(code, buf, sizeof buf) < 0) return "unknown FFmpeg error " + std::to_string(code);
    return buf;
  }
};
}  // namespace

const std::error_category& av_category() noexcept {
  static const AvCategory category;
  return category;
}

std::error_code av_error(int averror) noexcept {
  // AVERROR(e) is -e for POSIX errors on every platform FFmpeg supports.
  if (averror < 0 && -averror < 4096) return errno_error(-averror);
  return {averror, av_category()};
}

}  // namespace joincast::media
