// radio_browser.cpp — radio-browser.info: its JSON array of stations, keyed
// by station UUID, and the answer of its click counter (/json/url/{uuid}).
#include "daemon/catalogue/directories/directory_listing.hpp"

#include <nlohmann/json.hpp>

namespace joincast::daemon::catalogue::directories {

namespace {

using listing::clean;
using listing::finish;
using listing::leading_number;
using listing::malformed;
using listing::too_many;

Result<DirectoryListing> parse_radio_browser_unguarded(std::string_view text, std::size_t max_stations) {
  DirectoryListing l;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return malformed(std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_array()) {
    return malformed("expected a JSON array of stations");
  }
  if (j.size() > max_stations) return too_many(j.size(), max_stations);
  std::size_t unusable = 0;
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  for (const auto& o : j) {
    if (!o.is_object()) {
      ++unusable;
      continue;
    }
    Station s;
    s.uuid = str(o, "stationuuid");
    s.url = str(o, "url_resolved");
    if (s.url.empty()) s.url = str(o, "url");
    if (s.uuid.empty() || s.url.empty()) {
      ++unusable;
      continue;
    }
    s.key = s.uuid;
    s.name = clean(str(o, "name"));
    s.genre = clean(str(o, "tags"));
    s.codec = clean(str(o, "codec"));
    s.country = clean(str(o, "countrycode"));
    s.homepage = str(o, "homepage");
    if (auto it = o.find("bitrate"); it != o.end() && it->is_number_unsigned() && it->get<std::uint64_t>() < 100000)
      s.bitrate_kbps = it->get<unsigned>();
    if (s.name.empty()) s.name = clean(s.url);
    l.stations.push_back(std::move(s));
  }
  return finish(std::move(l), unusable);
}

}  // namespace

Result<DirectoryListing> parse_radio_browser(std::string_view text, std::size_t max_stations) {
  return listing::guarded("radio-browser JSON", [&] { return parse_radio_browser_unguarded(text, max_stations); });
}

std::string parse_radio_browser_click(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    if (j.is_object() && j.value("ok", true) && j.contains("url") && j["url"].is_string() &&
        is_remote_station_url(j["url"].get<std::string>()))
      return j["url"];
  } catch (const std::exception&) {
  }
  return {};
}

}  // namespace joincast::daemon::catalogue::directories
