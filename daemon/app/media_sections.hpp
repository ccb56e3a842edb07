// media_sections.hpp — the configuration sections of joincastd's media half
// ([address_plan], [http], [[directory]], [dvb]: the catalogue; [sessions],
// [policy]: the sessions) as one member of Config. The one place the build
// option JOINCAST_MEDIA shows in the code: a routing-only build
// (-DJOINCAST_MEDIA=OFF, docs/building.md) has none of these types, and
// its parse_media_sections() refuses every one of these sections by name.
#pragma once

#include "daemon/core/config_reader.hpp"
#include "daemon/core/daemon_config.hpp"

#include <array>
#include <string_view>

#ifndef JOINCAST_MEDIA
#error "JOINCAST_MEDIA (0 or 1) comes from daemon/app/CMakeLists.txt"
#endif

#if JOINCAST_MEDIA
#include "daemon/catalogue/catalogue_config.hpp"
#include "daemon/sessions/session_config.hpp"
#endif

namespace joincast::daemon::app {

// Whether this joincastd has sessions, the catalogue and media/.
inline constexpr bool built_with_media = JOINCAST_MEDIA;

// The top-level keys of joincast.toml that belong to the media half.
inline constexpr std::array<std::string_view, 6> media_section_keys = {"address_plan", "http",     "directory",
                                                                       "dvb",          "sessions", "policy"};

#if JOINCAST_MEDIA
struct MediaSections {
  sessions::SessionsSection sessions;
  catalogue::CatalogueConfig catalogue;  // address plan, HTTP, directories, DVB
};
#else
struct MediaSections {};
#endif

// Reads the media sections of root (media_part.cpp); in a build without
// media (no_media.cpp), an error for each one present, naming it.
void parse_media_sections(core::ConfigReader& reader, const toml::table& root, const core::DaemonSection& daemon,
                          MediaSections& out);

}  // namespace joincast::daemon::app
