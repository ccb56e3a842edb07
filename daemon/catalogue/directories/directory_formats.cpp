// directory_formats.cpp — see directory_formats.hpp.
#include "daemon/catalogue/directories/directory_formats.hpp"

#include "media/source/http/icy_metadata.hpp"
#include "media/source/http/playlist_xml.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <set>

namespace joincast::daemon {

bool is_remote_station_url(std::string_view url) {
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return false;
  std::string scheme(url.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (scheme == "http" || scheme == "https") && url.size() > colon + 3;
}

namespace {

unsigned leading_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && v < 100000) ? v : 0;
}

// Names and titles from the network, as single clean lines.
std::string clean(std::string_view s) {
  std::string out = media::icy_text_to_utf8(s);
  // C0 controls and DEL (found by fuzz_directory: DEL passed).
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  auto b = out.find_first_not_of(' ');
  auto e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

// Drops stations without a key or URL, stations a remote directory may
// not name, and duplicates, with warnings. Every caller parses a remote
// document.
void finish(DirectoryListing& l, std::size_t unusable) {
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
  if (l.stations.empty() && l.error.empty()) l.error = "no usable stations";
}

bool too_many(DirectoryListing& l, std::size_t count, std::size_t max) {
  if (count <= max) return false;
  l.stations.clear();
  l.error = std::to_string(count) + " entries exceed the limit of " + std::to_string(max) + " (max_stations)";
  return true;
}

void collect_outlines(const media::XmlElement& e, std::vector<const media::XmlElement*>& out, std::size_t& total,
                      std::size_t max) {
  for (const auto& c : e.children) {
    if (!c->is("outline")) continue;
    if (c->attribute("type") == "audio") {
      if (++total <= max + 1) out.push_back(c.get());
    }
    collect_outlines(*c, out, total, max);
  }
}

// Runs one parser over a remote document; whatever its library throws
// (nlohmann's out_of_range for 1e400, bad_alloc, ...) becomes that
// document's error, so the previous good listing stays and no exception
// reaches the fetch's completion handler.
template <class Parse>
DirectoryListing guarded(const char* format, Parse parse) {
  try {
    return parse();
  } catch (const std::exception& e) {
    DirectoryListing l;
    l.error = std::string("unusable ") + format + " document: " + e.what();
    return l;
  }
}

DirectoryListing parse_icecast_yp_unguarded(std::string_view xml, std::size_t max_stations);
DirectoryListing parse_radio_browser_unguarded(std::string_view text, std::size_t max_stations);
DirectoryListing parse_tunein_opml_unguarded(std::string_view xml, std::size_t max_stations);

}  // namespace

DirectoryListing parse_icecast_yp(std::string_view xml, std::size_t max_stations) {
  return guarded("yp.xml", [&] { return parse_icecast_yp_unguarded(xml, max_stations); });
}

DirectoryListing parse_radio_browser(std::string_view text, std::size_t max_stations) {
  return guarded("radio-browser JSON", [&] { return parse_radio_browser_unguarded(text, max_stations); });
}

DirectoryListing parse_tunein_opml(std::string_view xml, std::size_t max_stations) {
  return guarded("TuneIn OPML", [&] { return parse_tunein_opml_unguarded(xml, max_stations); });
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

namespace {

DirectoryListing parse_icecast_yp_unguarded(std::string_view xml, std::size_t max_stations) {
  DirectoryListing l;
  auto doc = media::parse_xml(xml);
  if (!doc.ok()) {
    l.error = "malformed XML: " + doc.error;
    return l;
  }
  if (!doc.root->is("directory")) {
    l.error = "root element is <" + doc.root->name + ">, not <directory>";
    return l;
  }
  std::size_t entries = 0, unusable = 0;
  for (const auto& c : doc.root->children)
    if (c->is("entry")) ++entries;
  if (too_many(l, entries, max_stations)) return l;
  for (const auto& e : doc.root->children) {
    if (!e->is("entry")) continue;
    Station s;
    s.url = e->child_text("listen_url");
    if (s.url.empty()) {
      ++unusable;
      continue;
    }
    s.key = s.url;
    s.name = clean(e->child_text("server_name"));
    s.genre = clean(e->child_text("genre"));
    s.codec = clean(e->child_text("server_type"));
    s.now_playing = clean(e->child_text("current_song"));
    s.bitrate_kbps = leading_number(e->child_text("bitrate"));
    if (s.name.empty()) s.name = clean(s.url);
    l.stations.push_back(std::move(s));
  }
  finish(l, unusable);
  return l;
}

DirectoryListing parse_radio_browser_unguarded(std::string_view text, std::size_t max_stations) {
  DirectoryListing l;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    l.error = std::string("malformed JSON: ") + e.what();
    return l;
  }
  if (!j.is_array()) {
    l.error = "expected a JSON array of stations";
    return l;
  }
  if (too_many(l, j.size(), max_stations)) return l;
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
  finish(l, unusable);
  return l;
}

DirectoryListing parse_tunein_opml_unguarded(std::string_view xml, std::size_t max_stations) {
  DirectoryListing l;
  auto doc = media::parse_xml(xml);
  if (!doc.ok()) {
    l.error = "malformed XML: " + doc.error;
    return l;
  }
  if (!doc.root->is("opml")) {
    l.error = "root element is <" + doc.root->name + ">, not <opml>";
    return l;
  }
  if (const auto* head = doc.root->child("head")) {
    std::string status = head->child_text("status");
    if (!status.empty() && status != "200") {
      std::string fault = head->child_text("fault");
      l.error = "TuneIn answered status " + status + (fault.empty() ? "" : ": " + fault);
      return l;
    }
  }
  const auto* body = doc.root->child("body");
  if (!body) {
    l.error = "no <body>";
    return l;
  }
  std::vector<const media::XmlElement*> items;
  std::size_t total = 0, unusable = 0;
  collect_outlines(*body, items, total, max_stations);
  if (too_many(l, total, max_stations)) return l;
  for (const auto* o : items) {
    Station s;
    s.url = o->attribute("URL");
    if (s.url.empty()) {
      ++unusable;
      continue;
    }
    s.key = o->attribute("guide_id");
    if (s.key.empty()) s.key = s.url;
    s.name = clean(o->attribute("text"));
    s.now_playing = clean(o->attribute("subtext"));
    s.codec = clean(o->attribute("formats"));
    s.bitrate_kbps = leading_number(o->attribute("bitrate"));
    s.genre = clean(o->attribute("genre_id"));
    if (s.name.empty()) s.name = clean(s.key);
    l.stations.push_back(std::move(s));
  }
  finish(l, unusable);
  return l;
}

}  // namespace

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

DirectoryListing test_directory() {
  // Fixed order: these keys get numbers 0, 1, 2, ... in a fresh state dir.
  struct Tone {
    const char* url;
    const char* name;
    const char* codec;
  };
  static const Tone tones[] = {
      {"test:tone?frequency=440&codec=mp3&bitrate=128", "Test tone 440 Hz (MP3)", "MP3"},
      {"test:tone?frequency=1000&codec=mp3&bitrate=128", "Test tone 1 kHz (MP3)", "MP3"},
      {"test:tone?frequency=440&codec=aac&bitrate=96", "Test tone 440 Hz (AAC)", "AAC"},
      {"test:tone?frequency=440&codec=opus&bitrate=64", "Test tone 440 Hz (Opus)", "Opus"},
      {"test:tone?frequency=440&codec=mp3&bitrate=128&title=cycle", "Test tone with changing titles", "MP3"},
  };
  DirectoryListing l;
  for (const auto& t : tones) {
    Station s;
    s.key = t.url;
    s.url = t.url;
    s.name = t.name;
    s.codec = t.codec;
    s.genre = "Test";
    l.stations.push_back(std::move(s));
  }
  return l;
}

}  // namespace joincast::daemon
