// stream_continuity.cpp — see stream_continuity.hpp.
#include "media/engine/stream_continuity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace joincast::media {

namespace {

std::uint64_t fnv1a(const boost::asio::ip::address& group, std::uint16_t rtp_port,
                    const boost::asio::ip::address& source, std::uint8_t purpose) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](std::uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  mix(purpose);
  auto mix_address = [&](const boost::asio::ip::address& a) {
    if (a.is_v6())
      for (auto b : a.to_v6().to_bytes()) mix(b);
    else
      for (auto b : a.to_v4().to_bytes()) mix(b);
  };
  mix_address(group);
  mix(static_cast<std::uint8_t>(rtp_port >> 8));
  mix(static_cast<std::uint8_t>(rtp_port));
  mix_address(source);
  return h ^ (h >> 29);
}

Error bad(std::string what) { return Error(std::errc::invalid_argument, "continuity record: " + std::move(what)); }

Result<std::uint64_t> number(std::string_view line, std::string_view key) {
  if (line.substr(0, key.size()) != key || line.size() <= key.size() || line[key.size()] != ' ')
    return bad("expected \"" + std::string(key) + " <number>\"");
  auto digits = line.substr(key.size() + 1);
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return bad("\"" + std::string(key) + "\" is not a number");
  return v;
}

Error os_error() { return Error(std::error_code(errno, std::generic_category())); }

}  // namespace

std::uint32_t stream_ssrc(const boost::asio::ip::address& group, std::uint16_t rtp_port,
                          const boost::asio::ip::address& source) {
  auto h = static_cast<std::uint32_t>(fnv1a(group, rtp_port, source, 1));
  return h == 0 ? 1 : h;
}

std::uint64_t stream_sdp_session_id(const boost::asio::ip::address& group, std::uint16_t rtp_port,
                                    const boost::asio::ip::address& source) {
  return fnv1a(group, rtp_port, source, 2) & 0x7fffffffffffull;
}

std::uint32_t rtp_timestamp_base(unsigned clock_rate, std::chrono::system_clock::time_point wall) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(wall.time_since_epoch()).count();
  if (us < 0) us = 0;
  auto u = static_cast<std::uint64_t>(us);
  std::uint64_t ticks = (u / 1000000u) * clock_rate + (u % 1000000u) * clock_rate / 1000000u;
  return static_cast<std::uint32_t>(ticks);
}

std::string format_continuity(const ContinuityRecord& r) {
  std::string s = "joincast-continuity 1\n";
  s += "next_seq " + std::to_string(r.next_seq) + "\n";
  s += "sdp_version " + std::to_string(r.sdp_version) + "\n";
  s += "sdp_bytes " + std::to_string(r.sdp.size()) + "\n";
  s += r.sdp;
  return s;
}

Result<ContinuityRecord> parse_continuity(std::string_view text) {
  ContinuityRecord r;
  auto take_line = [&]() -> std::string_view {
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) {
      auto l = text;
      text = {};
      return l;
    }
    auto l = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    return l;
  };
  if (take_line() != "joincast-continuity 1") return bad("not a joincast continuity file (version 1)");
  auto seq = number(take_line(), "next_seq");
  if (!seq) return seq.error();
  if (seq.value() > 0xffff) return bad("next_seq is over 65535");
  r.next_seq = static_cast<std::uint16_t>(seq.value());
  auto version = number(take_line(), "sdp_version");
  if (!version) return version.error();
  r.sdp_version = version.value();
  auto size = number(take_line(), "sdp_bytes");
  if (!size) return size.error();
  if (size.value() != text.size()) return bad("sdp_bytes does not match the SDP that follows");
  r.sdp = std::string(text);
  return r;
}

Result<ContinuityRecord> load_continuity(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(std::make_error_code(std::errc::no_such_file_or_directory), path);
  std::ostringstream text;
  text << in.rdbuf();
  auto r = parse_continuity(text.str());
  if (!r) return std::move(r).error().context(path);
  return r;
}

Result<void> save_continuity(const std::string& path, const ContinuityRecord& record) {
  std::filesystem::path p(path);
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return Error(ec, p.parent_path().string() + ": " + ec.message());
  std::string tmp = path + ".tmp";
  std::string text = format_continuity(record);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error().context(tmp);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = os_error();
      ::close(fd);
      return std::move(e).context(tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto e = os_error();
    ::close(fd);
    return std::move(e).context(tmp);
  }
  if (::close(fd) != 0) return os_error().context(tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error().context(path);
  // The rename itself survives a crash once the directory is on disk.
  int dir = ::open(p.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return success();
}

}  // namespace joincast::media
