// playlist_xml.cpp — see playlist_xml.hpp.
#include "media/source/http/playlist_xml.hpp"

#include "media/source/http/http_error.hpp"

#include "media/text.hpp"

#include <expat.h>

#include <algorithm>
#include <climits>
#include <string>

namespace joincast::media {

namespace {

struct Builder {
  XML_Parser parser = nullptr;
  XmlLimits limits;
  std::unique_ptr<XmlElement> root;
  std::vector<XmlElement*> stack;
  std::size_t elements = 0;
  std::string error;

  void fail(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

void on_start(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto* b = static_cast<Builder*>(data);
  if (++b->elements > b->limits.max_elements) return b->fail("too many elements");
  if (b->stack.size() >= b->limits.max_depth) return b->fail("elements nested too deeply");
  auto element = std::make_unique<XmlElement>();
  element->name = name;
  for (std::size_t i = 0; attrs[i] && attrs[i + 1]; i += 2) element->attributes.emplace_back(attrs[i], attrs[i + 1]);
  XmlElement* raw = element.get();
  if (b->stack.empty()) {
    if (b->root) return b->fail("more than one root element");
    b->root = std::move(element);
  } else {
    b->stack.back()->children.push_back(std::move(element));
  }
  b->stack.push_back(raw);
}

void on_end(void* data, const XML_Char*) {
  auto* b = static_cast<Builder*>(data);
  if (!b->stack.empty()) b->stack.pop_back();
}

void on_text(void* data, const XML_Char* s, int len) {
  auto* b = static_cast<Builder*>(data);
  if (!b->stack.empty() && len > 0) b->stack.back()->text.append(s, static_cast<std::size_t>(len));
}

// Any entity declaration is refused: the documents we read never need one,
// and refusing them removes entity expansion attacks entirely.
void on_entity_decl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                    const XML_Char*, const XML_Char*) {
  static_cast<Builder*>(data)->fail("DTD entity declarations are not accepted");
}

}  // namespace

std::string_view XmlElement::local_name() const {
  std::string_view n = name;
  auto colon = n.rfind(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

bool XmlElement::is(std::string_view local) const { return ascii_iequals(local_name(), local); }

const XmlElement* XmlElement::child(std::string_view local) const {
  for (const auto& c : children)
    if (c->is(local)) return c.get();
  return nullptr;
}

std::string XmlElement::child_text(std::string_view local) const {
  const XmlElement* c = child(local);
  return c ? std::string(trim_space(c->text)) : std::string();
}

std::string XmlElement::attribute(std::string_view attr) const {
  for (const auto& [k, v] : attributes)
    if (ascii_iequals(k, attr)) return v;
  return {};
}

Result<XmlDocument> parse_xml(std::string_view text, const XmlLimits& limits) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) return Error(SourceErrc::document_too_large, "document too large");
  Builder b;
  b.limits = limits;
  b.parser = XML_ParserCreate(nullptr);
  if (!b.parser) return Error(std::errc::not_enough_memory, "out of memory");
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, on_start, on_end);
  XML_SetCharacterDataHandler(b.parser, on_text);
  XML_SetEntityDeclHandler(b.parser, on_entity_decl);
  XML_SetParamEntityParsing(b.parser, XML_PARAM_ENTITY_PARSING_NEVER);
  auto status = XML_Parse(b.parser, text.data(), static_cast<int>(text.size()), XML_TRUE);
  std::string error;
  if (status != XML_STATUS_OK) {
    std::string why = b.error.empty() ? XML_ErrorString(XML_GetErrorCode(b.parser)) : b.error;
    error = "line " + std::to_string(XML_GetCurrentLineNumber(b.parser)) + ", column " +
            std::to_string(XML_GetCurrentColumnNumber(b.parser)) + ": " + why;
  } else if (!b.root) {
    error = "no root element";
  }
  XML_ParserFree(b.parser);
  if (!error.empty()) return Error(SourceErrc::malformed_document, std::move(error));
  XmlDocument doc;
  doc.root = std::move(b.root);
  return doc;
}

}  // namespace joincast::media
