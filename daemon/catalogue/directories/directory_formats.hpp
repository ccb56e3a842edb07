// directory_formats.hpp — station lists as the directories publish them,
// parsed into Station records: Icecast's yp.xml, radio-browser's JSON,
// TuneIn's OPML, and the built-in offline test directory. Parsers are pure
// (text in, listing out) so that hostile or broken documents are tested
// without a network. Each station has a key, the identity its number is
// bound to: the listen URL (yp.xml), the station UUID (radio-browser), the
// guide id (TuneIn), the configured id or URL (static, test). One .cpp per
// kind: icecast_yp, radio_browser, tunein, test_directory (the static one
// is the configuration's, in directory.cpp); directory_listing.hpp holds
// what they share.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::daemon::catalogue::directories {

struct Station {
  std::string key;
  std::string name;
  std::string url;  // what to play (a stream, a playlist, test:tone?...)
  std::string genre;
  std::string codec;
  std::string country;
  std::string homepage;
  std::string now_playing;
  unsigned bitrate_kbps = 0;
  std::string uuid;  // radio-browser: count a click through /json/url/{uuid}
  bool operator==(const Station&) const = default;
};

// A usable document's stations (at least one), with what was left out.
struct DirectoryListing {
  std::vector<Station> stations;
  std::vector<std::string> warnings;  // e.g. "3 duplicate entries ignored"
};

// An unusable document is an error saying why ("root element is <html>,
// not <directory>", "no usable stations"): SourceErrc::malformed_document,
// document_too_large (more than max_stations entries) or playlist_empty.
Result<DirectoryListing> parse_icecast_yp(std::string_view xml, std::size_t max_stations);
Result<DirectoryListing> parse_radio_browser(std::string_view json, std::size_t max_stations);
Result<DirectoryListing> parse_tunein_opml(std::string_view xml, std::size_t max_stations);
// The built-in directory: test tones generated locally (URLs "test:tone?...",
// docs/configuration.md lists them). Works without any network.
DirectoryListing test_directory();

// A station from a remote directory (yp.xml, radio-browser, TuneIn and the
// click answer) may only be played over http(s), HLS included; file:,
// udp:, rtp: and test: URLs are for the local configuration alone, or any
// directory server could point joincast at local files and sockets.
bool is_remote_station_url(std::string_view url);

// radio-browser /json/url/{uuid} answer: the URL to play, "" if unusable
// (not http(s) included).
std::string parse_radio_browser_click(std::string_view json);

// Percent-encoding for query values.
std::string url_encode(std::string_view text);

}  // namespace joincast::daemon::catalogue::directories
