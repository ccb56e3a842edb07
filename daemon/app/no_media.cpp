// no_media.cpp — media_part.hpp in a routing-only build (JOINCAST_MEDIA=OFF,
// docs/building.md): no media modules, and a configuration that asks for
// one of their sections is refused, by --check and at start, saying so.
#include "daemon/app/media_part.hpp"

#include <fmt/format.h>

namespace joincast::daemon::app {

void parse_media_sections(core::ConfigReader& reader, const toml::table& root, const core::DaemonSection&,
                          MediaSections&) {
  for (std::string_view key : media_section_keys) {
    const toml::node* node = root.get(key);
    if (!node) continue;
    const std::string section = node->is_array() ? fmt::format("[[{}]]", key) : fmt::format("[{}]", key);
    reader.error(node, std::string(key),
                 fmt::format("this joincastd is a routing-only build without media (JOINCAST_MEDIA=OFF): {} "
                             "belongs to sessions and the catalogue (stations, directories, DVB), which it does not "
                             "have; remove the section or run a joincastd built with media",
                             section));
  }
}

std::unique_ptr<MediaPart> add_media_part(const MediaContext&, const Config&, std::vector<ModuleEntry>&) {
  return nullptr;
}

}  // namespace joincast::daemon::app
