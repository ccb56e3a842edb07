// icecast_yp.cpp — Icecast's directory: the yp.xml document a YP server
// (dir.xiph.org or a private one) publishes, one <entry> per stream.
#include "daemon/catalogue/directories/directory_listing.hpp"

#include "media/source/http/playlist_xml.hpp"

namespace joincast::daemon::catalogue::directories {

namespace {

using listing::clean;
using listing::finish;
using listing::leading_number;
using listing::malformed;
using listing::too_many;

Result<DirectoryListing> parse_icecast_yp_unguarded(std::string_view xml, std::size_t max_stations) {
  DirectoryListing l;
  auto parsed = media::parse_xml(xml);
  if (!parsed) return malformed("malformed XML: " + parsed.error().message());
  const media::XmlDocument& doc = parsed.value();
  if (!doc.root->is("directory")) {
    return malformed("root element is <" + doc.root->name + ">, not <directory>");
  }
  std::size_t entries = 0, unusable = 0;
  for (const auto& c : doc.root->children)
    if (c->is("entry")) ++entries;
  if (entries > max_stations) return too_many(entries, max_stations);
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
  return finish(std::move(l), unusable);
}

}  // namespace

Result<DirectoryListing> parse_icecast_yp(std::string_view xml, std::size_t max_stations) {
  return listing::guarded("yp.xml", [&] { return parse_icecast_yp_unguarded(xml, max_stations); });
}

}  // namespace joincast::daemon::catalogue::directories
