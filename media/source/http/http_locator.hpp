// http_locator.hpp — from a station URL to something that plays. What a
// URL returns is only known once it answers: redirects are followed;
// audio/video is the stream; PLS/M3U/XSPF/ASX playlists are multi-target
// redirects whose entries are tried in order, nested at most
// HttpOptions::max_playlist_depth deep; an HLS playlist is handed to
// libavformat (a distinct outcome, HlsStream); HTML is refused with "this
// URL is a web page, not a stream"; an undeclared type is sniffed.
#pragma once

#include "media/source/http/http_connection.hpp"

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace joincast::media {

// A stream found: the connection has its head; prefix holds body bytes
// already read while sniffing, which come before the rest of the body.
struct LocatedStream {
  std::shared_ptr<HttpConnection> connection;
  std::string prefix;
  // The body ended while sniffing: prefix is all of it.
  bool complete = false;
  // The station URL and every playlist/stream URL after it.
  std::vector<std::string> path;
};

// An HLS playlist: open url with libavformat (its "hls" demuxer).
struct HlsStream {
  std::string url;
};

using Location = std::variant<LocatedStream, HlsStream>;
using LocateHandler = std::function<void(const Error&, Location)>;

void locate_stream(std::shared_ptr<HttpClient> client, const std::string& url, LocateHandler done);

}  // namespace joincast::media
