// sniff.cpp — see sniff.hpp.
#include "media/source/http/sniff.hpp"

#include "media/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace joincast::media {

const char* content_kind_name(ContentKind kind) {
  switch (kind) {
    case ContentKind::media: return "media";
    case ContentKind::playlist: return "playlist";
    case ContentKind::hls: return "hls";
    case ContentKind::html: return "html";
    case ContentKind::text: return "text";
    case ContentKind::unknown: return "unknown";
  }
  return "?";
}

std::string mime_essence(std::string_view content_type) {
  std::string_view t = content_type;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  // type/subtype is one token (RFC 9110 §8.3.1): it ends at the first ';'
  // or space ("video/x-ms-asf version=3" is video/x-ms-asf).
  auto end = std::find_if(t.begin(), t.end(), [](char c) { return c == ';' || std::isspace(static_cast<unsigned char>(c)); });
  return ascii_lower(t.substr(0, static_cast<std::size_t>(end - t.begin())));
}

ContentClass classify_content_type(std::string_view content_type) {
  const std::string t = mime_essence(content_type);
  using K = ContentKind;
  auto playlist = [](PlaylistFormat f) { return ContentClass{K::playlist, f}; };
  static const std::array<std::string_view, 8> m3u = {
      "audio/mpegurl",        "audio/x-mpegurl", "application/x-mpegurl", "application/mpegurl",
      "audio/m3u",            "audio/x-m3u",     "application/vnd.apple.mpegurl", "application/vnd.apple.mpegurl.audio"};
  static const std::array<std::string_view, 4> pls = {"audio/x-scpls", "audio/scpls", "application/pls+xml",
                                                      "application/pls"};
  static const std::array<std::string_view, 6> asx = {"video/x-ms-asf", "video/x-ms-asx", "audio/x-ms-asx",
                                                      "audio/x-ms-wax", "video/x-ms-wvx", "application/x-ms-asx"};
  auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), t) != list.end(); };
  if (in(m3u)) return playlist(PlaylistFormat::m3u);
  if (in(pls)) return playlist(PlaylistFormat::pls);
  if (in(asx)) return playlist(PlaylistFormat::asx);
  if (t == "application/xspf+xml") return playlist(PlaylistFormat::xspf);
  if (t == "text/html" || t == "application/xhtml+xml") return {K::html};
  if (t.starts_with("audio/") || t == "application/ogg" || t == "application/x-ogg" || t == "video/mp2t" ||
      t == "video/mpeg" || t == "video/ogg" || t == "video/webm" || t == "video/mp4" || t == "audio/aacp" ||
      t == "application/aacp")
    return {K::media};
  return {K::unknown};
}

ContentClass sniff_content(std::span<const std::byte> head) {
  using K = ContentKind;
  std::string_view raw(reinterpret_cast<const char*>(head.data()), head.size());
  auto byte = [&](std::size_t i) { return i < raw.size() ? static_cast<unsigned char>(raw[i]) : 0u; };

  // Binary signatures first: they are exact.
  if (raw.starts_with("ID3") || raw.starts_with("OggS") || raw.starts_with("fLaC") || raw.starts_with("ADIF") ||
      raw.starts_with("RIFF") || raw.starts_with("\x1a\x45\xdf\xa3"))
    return {K::media};
  if (raw.starts_with("\x30\x26\xb2\x75")) return {K::media};  // ASF header object
  // MPEG-TS: sync byte 0x47 every 188 bytes.
  if (raw.size() >= 377 && byte(0) == 0x47 && byte(188) == 0x47 && byte(376) == 0x47) return {K::media};
  // MPEG audio / ADTS frame sync: 11 (MPEG) or 12 (ADTS) set bits.
  if (byte(0) == 0xff && (byte(1) & 0xe0) == 0xe0) return {K::media};

  std::string_view text = raw;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  const std::string low = ascii_lower(text.substr(0, 1024));
  if (low.starts_with("[playlist]")) return {K::playlist, PlaylistFormat::pls};
  if (low.starts_with("[reference]")) return {K::playlist, PlaylistFormat::asx};
  if (text.starts_with("#EXTM3U")) {
    return looks_like_hls(text) ? ContentClass{K::hls} : ContentClass{K::playlist, PlaylistFormat::m3u};
  }
  if (low.starts_with("<")) {
    if (low.find("<html") != std::string::npos || low.find("<!doctype html") != std::string::npos ||
        low.find("<head") != std::string::npos || low.find("<body") != std::string::npos)
      return {K::html};
    if (low.find("<asx") != std::string::npos) return {K::playlist, PlaylistFormat::asx};
    if (low.find("<playlist") != std::string::npos) return {K::playlist, PlaylistFormat::xspf};
    return {K::text};
  }
  // Binary if it has control bytes other than whitespace.
  bool binary = false;
  for (char ch : raw.substr(0, 1024)) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
      binary = true;
      break;
    }
  }
  if (binary) return {K::media};
  // A bare list of URLs is an M3U without the header.
  if (low.starts_with("http://") || low.starts_with("https://") || low.starts_with("icy://") ||
      low.starts_with("#"))
    return {K::playlist, PlaylistFormat::m3u};
  return {K::text};
}

}  // namespace joincast::media
