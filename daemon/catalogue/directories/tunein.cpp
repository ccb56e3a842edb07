// tunein.cpp — TuneIn: the OPML its Browse and Search answers are, audio
// outlines at any depth, keyed by guide id.
#include "daemon/catalogue/directories/directory_listing.hpp"

#include "media/source/http/playlist_xml.hpp"

namespace joincast::daemon::catalogue::directories {

namespace {

using listing::clean;
using listing::finish;
using listing::leading_number;
using listing::malformed;
using listing::too_many;

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

Result<DirectoryListing> parse_tunein_opml_unguarded(std::string_view xml, std::size_t max_stations) {
  DirectoryListing l;
  auto parsed = media::parse_xml(xml);
  if (!parsed) return malformed("malformed XML: " + parsed.error().message());
  const media::XmlDocument& doc = parsed.value();
  if (!doc.root->is("opml")) {
    return malformed("root element is <" + doc.root->name + ">, not <opml>");
  }
  if (const auto* head = doc.root->child("head")) {
    std::string status = head->child_text("status");
    if (!status.empty() && status != "200") {
      std::string fault = head->child_text("fault");
      return Error(media::SourceErrc::http_status,
                   "TuneIn answered status " + status + (fault.empty() ? "" : ": " + fault));
    }
  }
  const auto* body = doc.root->child("body");
  if (!body) {
    return malformed("no <body>");
  }
  std::vector<const media::XmlElement*> items;
  std::size_t total = 0, unusable = 0;
  collect_outlines(*body, items, total, max_stations);
  if (total > max_stations) return too_many(total, max_stations);
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
  return finish(std::move(l), unusable);
}

}  // namespace

Result<DirectoryListing> parse_tunein_opml(std::string_view xml, std::size_t max_stations) {
  return listing::guarded("TuneIn OPML", [&] { return parse_tunein_opml_unguarded(xml, max_stations); });
}

}  // namespace joincast::daemon::catalogue::directories
