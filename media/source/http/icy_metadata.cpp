// icy_metadata.cpp — see icy_metadata.hpp.
#include "media/source/http/icy_metadata.hpp"

#include "media/source/http/http_error.hpp"

#include <charconv>

namespace joincast::media {

namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra;
    unsigned min;
    unsigned cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string icy_text_to_utf8(std::string_view bytes) {
  if (valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

Result<IcyBlock> parse_icy_block(std::string_view block) {
  while (!block.empty() && block.back() == '\0') block.remove_suffix(1);
  IcyBlock out;
  if (block.empty()) return out;
  // Metadata is text: a NUL or a control byte inside it (other than tab,
  // CR, LF) means we are reading audio as metadata.
  for (char ch : block) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') return make_error_code(SourceErrc::icy_metadata_corrupt);
  }
  std::string_view rest = block;
  bool any = false;
  while (!rest.empty()) {
    auto eq = rest.find("='");
    if (eq == std::string_view::npos) break;
    std::string_view key = trim(rest.substr(0, eq));
    rest.remove_prefix(eq + 2);
    auto end = rest.find("';");
    std::string_view value = end == std::string_view::npos ? rest : rest.substr(0, end);
    // A final value may end with a lone quote and no semicolon.
    if (end == std::string_view::npos && !value.empty() && value.back() == '\'') value.remove_suffix(1);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    // Keys are identifiers; anything else means this is not metadata.
    if (key.empty() || key.size() > 64) return make_error_code(SourceErrc::icy_metadata_corrupt);
    for (char c : key) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      if (!ok) return make_error_code(SourceErrc::icy_metadata_corrupt);
    }
    any = true;
    if (key == "StreamTitle") out.title = icy_text_to_utf8(value);
    else if (key == "StreamUrl") out.url = icy_text_to_utf8(value);
  }
  if (!any) return make_error_code(SourceErrc::icy_metadata_corrupt);
  return out;
}

StreamMetadata icy_header_metadata(std::string_view name, std::string_view genre, std::string_view url,
                                   std::string_view bitrate) {
  StreamMetadata m;
  m.station_name = icy_text_to_utf8(trim(name));
  m.genre = icy_text_to_utf8(trim(genre));
  m.url = icy_text_to_utf8(trim(url));
  bitrate = trim(bitrate);
  // icy-br is "128" or, from some servers, "128,128" or "128kbps".
  unsigned kbps = 0;
  auto [p, ec] = std::from_chars(bitrate.data(), bitrate.data() + bitrate.size(), kbps);
  if (ec == std::errc() && p != bitrate.data() && kbps > 0 && kbps < 100000) m.bitrate_kbps = kbps;
  return m;
}

std::error_code IcyDemuxer::feed(std::span<const std::byte> bytes, const AudioFn& audio, const BlockFn& block) {
  if (failed_) return make_error_code(SourceErrc::icy_metadata_corrupt);
  if (metaint_ == 0) {
    audio_total_ += bytes.size();
    if (!bytes.empty()) audio(bytes);
    return {};
  }
  while (!bytes.empty()) {
    switch (state_) {
      case State::audio: {
        std::size_t n = std::min(audio_left_, bytes.size());
        audio_total_ += n;
        audio(bytes.first(n));
        bytes = bytes.subspan(n);
        audio_left_ -= n;
        if (audio_left_ == 0) state_ = State::length;
        break;
      }
      case State::length: {
        block_left_ = static_cast<std::size_t>(bytes.front()) * 16;
        bytes = bytes.subspan(1);
        block_.clear();
        if (block_left_ == 0) {
          state_ = State::audio;
          audio_left_ = metaint_;
        } else {
          state_ = State::block;
        }
        break;
      }
      case State::block: {
        std::size_t n = std::min(block_left_, bytes.size());
        block_.append(reinterpret_cast<const char*>(bytes.data()), n);
        bytes = bytes.subspan(n);
        block_left_ -= n;
        if (block_left_ == 0) {
          auto parsed = parse_icy_block(block_);
          if (!parsed) {
            failed_ = true;
            return parsed.error();
          }
          if (parsed.value().title || parsed.value().url) block(parsed.value());
          state_ = State::audio;
          audio_left_ = metaint_;
        }
        break;
      }
    }
  }
  return {};
}

}  // namespace joincast::media
