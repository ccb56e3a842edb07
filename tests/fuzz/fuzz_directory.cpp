// fuzz_directory.cpp — directory documents: Icecast yp.xml, radio-browser
// JSON (and its click answer), TuneIn OPML; the kind from the first byte.
// Contract: no exception ever leaves a parser; a usable listing has
// stations, at most max_stations, with unique keys, http(s) URLs only and
// names without control characters; an unusable one has none.
#include "daemon/catalogue/directories/directory_formats.hpp"
#include "fuzz_check.hpp"

#include <set>

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  constexpr std::size_t max_stations = 50;
  Result<daemon::catalogue::directories::DirectoryListing> l = daemon::catalogue::directories::DirectoryListing{};
  switch (in.pick(4)) {
    case 0: l = daemon::catalogue::directories::parse_icecast_yp(in.rest(), max_stations); break;
    case 1: l = daemon::catalogue::directories::parse_radio_browser(in.rest(), max_stations); break;
    case 2: l = daemon::catalogue::directories::parse_tunein_opml(in.rest(), max_stations); break;
    default: {
      std::string url = daemon::catalogue::directories::parse_radio_browser_click(in.rest());
      FUZZ_CHECK(url.empty() || daemon::catalogue::directories::is_remote_station_url(url));
      return 0;
    }
  }
  if (!l) {
    FUZZ_CHECK(!l.error().message().empty());
    return 0;
  }
  const auto& stations = l.value().stations;
  FUZZ_CHECK(!stations.empty() && stations.size() <= max_stations);
  std::set<std::string> keys;
  for (const auto& s : stations) {
    FUZZ_CHECK(!s.key.empty());
    FUZZ_CHECK(keys.insert(s.key).second);
    FUZZ_CHECK(daemon::catalogue::directories::is_remote_station_url(s.url));
    FUZZ_CHECK(!fuzz::has_control(s.name) && !fuzz::has_control(s.genre) && !fuzz::has_control(s.now_playing));
  }
  return 0;
}
