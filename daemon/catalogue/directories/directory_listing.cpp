// directory_listing.cpp — see directory_listing.hpp; also the URL checks
// and encoding every directory kind uses.
#include "daemon/catalogue/directories/directory_listing.hpp"

#include "media/source/http/icy_metadata.hpp"

#include <cctype>
#include <charconv>
#include <set>

namespace joincast::daemon::catalogue::directories {

bool is_remote_station_url(std::string_view url) {
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return false;
  std::string scheme(url.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (scheme == "http" || scheme == "https") && url.size() > colon + 3;
}

std::string url_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

namespace listing {

unsigned leading_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && v < 100000) ? v : 0;
}

std::string clean(std::string_view s) {
  std::string out = media::icy_text_to_utf8(s);
  // C0 controls and DEL (found by fuzz_directory: DEL passed).
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  auto b = out.find_first_not_of(' ');
  auto e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

Result<DirectoryListing> finish(DirectoryListing l, std::size_t unusable) {
  std::set<std::string> seen;
  std::vector<Station> kept;
  std::size_t duplicates = 0, local = 0;
  for (auto& s : l.stations) {
    if (!is_remote_station_url(s.url)) {
      ++local;
      continue;
    }
    if (!seen.insert(s.key).second) {
      ++duplicates;
      continue;
    }
    kept.push_back(std::move(s));
  }
  l.stations = std::move(kept);
  if (duplicates) l.warnings.push_back(std::to_string(duplicates) + " duplicate entries ignored");
  if (unusable) l.warnings.push_back(std::to_string(unusable) + " entries without a stream URL ignored");
  if (local) l.warnings.push_back(std::to_string(local) + " entries with a URL other than http(s) ignored");
  if (l.stations.empty()) return Error(media::SourceErrc::playlist_empty, "no usable stations");
  return l;
}

Error too_many(std::size_t count, std::size_t max) {
  return {media::SourceErrc::document_too_large,
          std::to_string(count) + " entries exceed the limit of " + std::to_string(max) + " (max_stations)"};
}

Error malformed(std::string message) { return {media::SourceErrc::malformed_document, std::move(message)}; }

}  // namespace listing

}  // namespace joincast::daemon::catalogue::directories
