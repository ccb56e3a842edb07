// sniff.hpp — what an HTTP answer is: a stream for the media pipeline, a
// playlist to follow, an HLS playlist for libavformat, or a web page. The
// declared Content-Type decides when it is specific; otherwise (no type,
// text/plain, application/octet-stream, ...) the first bytes do.
#pragma once

#include "media/source/http/playlist_parser.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace joincast::media {

enum class ContentKind {
  media,     // audio/video bytes for the demuxer
  playlist,  // PLS/M3U/XSPF/ASX; an M3U may turn out to be HLS once read
  hls,       // an HLS playlist: libavformat's HLS demuxer plays the URL
  html,      // a web page: "this URL is a web page, not a stream"
  text,      // text that is none of the above
  unknown,   // the type does not say; sniff the bytes
};

struct ContentClass {
  ContentKind kind = ContentKind::unknown;
  PlaylistFormat playlist = PlaylistFormat::m3u;  // when kind == playlist
  bool operator==(const ContentClass&) const = default;
};

const char* content_kind_name(ContentKind kind);

// The MIME type without parameters, lower case ("Audio/MPEG; x=y" -> "audio/mpeg").
std::string mime_essence(std::string_view content_type);

// By declared type alone; ContentKind::unknown when it does not decide.
ContentClass classify_content_type(std::string_view content_type);

// By the first bytes of the body (a few hundred are enough). Never returns
// unknown: undecidable binary is media (the demuxer probes it), undecidable
// text is text.
ContentClass sniff_content(std::span<const std::byte> head);

// How many body bytes sniff_content() wants to see when it can get them.
inline constexpr std::size_t sniff_bytes = 1024;

}  // namespace joincast::media
