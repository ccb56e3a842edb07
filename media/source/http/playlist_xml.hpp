// playlist_xml.hpp — a small element tree built with expat, for the XML
// documents sources and directories read: XSPF playlists, Icecast yp.xml,
// TuneIn OPML. The input comes from the network, so the parser refuses DTD
// entity declarations (no entity expansion at all, so no "billion laughs"),
// never loads external entities, and bounds depth and element count.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace joincast::media {

struct XmlElement {
  std::string name;  // as written, e.g. "trackList"
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;  // character data directly inside this element
  std::vector<std::unique_ptr<XmlElement>> children;

  // The local part of the name ("xspf:track" -> "track").
  std::string_view local_name() const;
  // Case-insensitive on the local name: XML is case-sensitive, but OPML and
  // ASX in the wild are not careful about it.
  bool is(std::string_view local) const;
  // The first child element called local, or nullptr.
  const XmlElement* child(std::string_view local) const;
  // The text of the first child called local, trimmed; "" if absent.
  std::string child_text(std::string_view local) const;
  // An attribute value by case-insensitive name; "" if absent.
  std::string attribute(std::string_view name) const;
};

struct XmlLimits {
  std::size_t max_depth = 64;
  std::size_t max_elements = 2'000'000;
};

struct XmlDocument {
  std::unique_ptr<XmlElement> root;  // never null in a parsed document
};

// A document that does not parse is an error naming where and why
// ("line 3, column 7: mismatched tag"): SourceErrc::malformed_document, or
// document_too_large.
Result<XmlDocument> parse_xml(std::string_view text, const XmlLimits& limits = {});

}  // namespace joincast::media
