// playlist_parser.hpp — playlists are multi-target redirects: PLS, M3U,
// XSPF and ASX list URLs (often relative), tried in order until one plays.
// An M3U carrying #EXT-X- tags is HLS instead, which libavformat plays
// itself; looks_like_hls() tells them apart.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace joincast::media {

enum class PlaylistFormat { pls, m3u, xspf, asx };
const char* playlist_format_name(PlaylistFormat format);

struct PlaylistEntry {
  std::string location;  // as written; resolve against the playlist's URL
  std::string title;
  bool operator==(const PlaylistEntry&) const = default;
};

// At most max_entries entries are kept; entries without a location are
// skipped. Binary data (control characters other than tab and line ends)
// is an error, not a playlist. An empty entry list is not an error here (the caller says
// "playlist has no entries" with the URL).
// A playlist that cannot be read at all is an error saying why
// (SourceErrc::malformed_document).
Result<std::vector<PlaylistEntry>> parse_playlist(PlaylistFormat format, std::string_view text,
                                                  std::size_t max_entries = 1000);

// True for an HLS playlist: an M3U with #EXT-X-TARGETDURATION,
// #EXT-X-STREAM-INF, #EXT-X-MEDIA-SEQUENCE or another #EXT-X- tag.
bool looks_like_hls(std::string_view text);

}  // namespace joincast::media
