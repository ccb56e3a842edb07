// playlist_parser.cpp — see playlist_parser.hpp.
#include "media/source/http/playlist_parser.hpp"

#include "media/source/http/http_error.hpp"
#include "media/source/http/playlist_xml.hpp"
#include "media/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace joincast::media {

namespace {

Error malformed(std::string message) { return {SourceErrc::malformed_document, std::move(message)}; }

std::string_view strip_bom(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  return s;
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    auto nl = text.find_first_of("\r\n");
    std::string_view line = text.substr(0, nl);
    if (!f(trim_space(line))) return;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// PLS: [playlist], FileN=, TitleN=, NumberOfEntries=, Version=2. Entries
// are ordered by N, whatever order the lines come in.
std::vector<PlaylistEntry> parse_pls(std::string_view text, std::size_t max_entries) {
  std::vector<PlaylistEntry> out;
  std::map<unsigned, PlaylistEntry> by_index;
  for_each_line(text, [&](std::string_view line) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return true;
    std::string key = ascii_lower(trim_space(line.substr(0, eq)));
    std::string_view value = trim_space(line.substr(eq + 1));
    bool file = key.starts_with("file");
    bool title = key.starts_with("title");
    if (!file && !title) return true;
    std::string_view digits = std::string_view(key).substr(file ? 4 : 5);
    unsigned index = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec != std::errc() || p != digits.data() + digits.size()) return true;
    if (by_index.size() >= max_entries && !by_index.contains(index)) return true;
    if (file) by_index[index].location = std::string(value);
    else by_index[index].title = std::string(value);
    return true;
  });
  for (auto& [index, entry] : by_index)
    if (!entry.location.empty()) out.push_back(std::move(entry));
  return out;
}

// M3U and extended M3U: one location per line, #EXTINF:len,title before it.
std::vector<PlaylistEntry> parse_m3u(std::string_view text, std::size_t max_entries) {
  std::vector<PlaylistEntry> out;
  std::string title;
  for_each_line(text, [&](std::string_view line) {
    if (line.empty()) return true;
    if (line.front() == '#') {
      if (line.starts_with("#EXTINF:")) {
        auto comma = line.find(',');
        title = comma == std::string_view::npos ? std::string() : std::string(trim_space(line.substr(comma + 1)));
      }
      return true;
    }
    out.push_back({std::string(line), std::move(title)});
    title.clear();
    return out.size() < max_entries;
  });
  return out;
}

Result<std::vector<PlaylistEntry>> parse_xspf(std::string_view text, std::size_t max_entries) {
  std::vector<PlaylistEntry> out;
  auto parsed = parse_xml(text);
  if (!parsed) return malformed("XSPF is not well-formed XML: " + parsed.error().message());
  const XmlDocument& doc = parsed.value();
  if (!doc.root->is("playlist"))
    return malformed("XSPF root element is <" + doc.root->name + ">, not <playlist>");
  const XmlElement* list = doc.root->child("trackList");
  if (!list) return out;
  for (const auto& track : list->children) {
    if (!track->is("track")) continue;
    std::string title = track->child_text("title");
    for (const auto& loc : track->children) {
      if (!loc->is("location")) continue;
      std::string_view l = trim_space(loc->text);
      if (l.empty()) continue;
      out.push_back({std::string(l), title});
      if (out.size() >= max_entries) return out;
    }
  }
  return out;
}

// Decodes the five predefined XML entities and numeric references in an
// attribute value found by the lenient ASX scanner.
std::string decode_entities(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    auto amp = s.find('&');
    out += s.substr(0, amp);
    if (amp == std::string_view::npos) break;
    s.remove_prefix(amp);
    auto semi = s.find(';');
    std::string_view ent = semi == std::string_view::npos ? std::string_view() : s.substr(1, semi - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent.front() == '#' && ent.size() < 8) {
      unsigned cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view num = ent.substr(hex ? 2 : 1);
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), cp, hex ? 16 : 10);
      // Printable ASCII only: "&#10;" must not put a line break into a URL.
      if (ec == std::errc() && p == num.data() + num.size() && cp >= 0x20 && cp < 0x7f) out += static_cast<char>(cp);
      else {
        out += '&';
        s.remove_prefix(1);
        continue;
      }
    } else {
      // A bare & (common in ASX URLs): keep it.
      out += '&';
      s.remove_prefix(1);
      continue;
    }
    s.remove_prefix(semi + 1);
  }
  return out;
}

// ASX is XML in name only (upper-case tags, bare & in URLs), so it is
// scanned, not parsed: every <ref href=…> and <entryref href=…> in order.
// The INI variant ("[Reference]", RefN=) is served with the same type.
Result<std::vector<PlaylistEntry>> parse_asx(std::string_view text, std::size_t max_entries) {
  std::vector<PlaylistEntry> out;
  std::string_view body = trim_space(strip_bom(text));
  if (ascii_lower(body.substr(0, 11)) == "[reference]") {
    for_each_line(body, [&](std::string_view line) {
      auto eq = line.find('=');
      if (eq == std::string_view::npos) return true;
      std::string key = ascii_lower(trim_space(line.substr(0, eq)));
      std::string_view location = trim_space(line.substr(eq + 1));
      // "Ref1=" names nothing (resolved, it would be the playlist itself).
      if (key.starts_with("ref") && !location.empty()) out.push_back({std::string(location), {}});
      return out.size() < max_entries;
    });
    return out;
  }
  std::string low = ascii_lower(body);
  if (low.find("<asx") == std::string::npos) return malformed("no <asx> element");
  std::size_t pos = 0;
  while ((pos = low.find('<', pos)) != std::string::npos) {
    std::size_t name_begin = pos + 1;
    std::size_t name_end = low.find_first_of(" \t\r\n/>", name_begin);
    if (name_end == std::string::npos) break;
    std::string_view name = std::string_view(low).substr(name_begin, name_end - name_begin);
    std::size_t tag_end = low.find('>', name_end);
    if (tag_end == std::string::npos) break;
    if (name == "ref" || name == "entryref") {
      std::string_view tag = std::string_view(low).substr(name_end, tag_end - name_end);
      auto h = tag.find("href");
      if (h != std::string_view::npos) {
        std::size_t q = tag.find_first_of("\"'", h);
        if (q != std::string_view::npos) {
          char quote = tag[q];
          std::size_t qe = tag.find(quote, q + 1);
          if (qe != std::string_view::npos) {
            // Take the original case from body at the same offsets.
            std::string decoded = decode_entities(body.substr(name_end + q + 1, qe - q - 1));
            std::string_view value = trim_space(decoded);
            if (!value.empty()) {  // <ref href=""/> names nothing
              out.push_back({std::string(value), {}});
              if (out.size() >= max_entries) break;
            }
          }
        }
      }
    }
    pos = tag_end + 1;
  }
  return out;
}

}  // namespace

const char* playlist_format_name(PlaylistFormat format) {
  switch (format) {
    case PlaylistFormat::pls: return "PLS";
    case PlaylistFormat::m3u: return "M3U";
    case PlaylistFormat::xspf: return "XSPF";
    case PlaylistFormat::asx: return "ASX";
  }
  return "?";
}

Result<std::vector<PlaylistEntry>> parse_playlist(PlaylistFormat format, std::string_view text,
                                                  std::size_t max_entries) {
  text = strip_bom(text);
  // Playlists are text. Binary data served with a playlist type (a broken
  // server, a garbage HLS playlist) would otherwise become "entries" that
  // are requested one by one.
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return malformed("binary data, not a text playlist");
  }
  switch (format) {
    case PlaylistFormat::pls: return parse_pls(text, max_entries);
    case PlaylistFormat::m3u: return parse_m3u(text, max_entries);
    case PlaylistFormat::xspf: return parse_xspf(text, max_entries);
    case PlaylistFormat::asx: return parse_asx(text, max_entries);
  }
  return std::vector<PlaylistEntry>{};
}

bool looks_like_hls(std::string_view text) {
  bool hls = false;
  for_each_line(strip_bom(text), [&](std::string_view line) {
    if (line.starts_with("#EXT-X-")) {
      hls = true;
      return false;
    }
    return true;
  });
  return hls;
}

}  // namespace joincast::media
