// media_part.cpp — see media_part.hpp: the media half of a build with media
// (JOINCAST_MEDIA=ON); no_media.cpp stands in for it otherwise.
#include "daemon/app/media_part.hpp"

#include "daemon/app/session_environment.hpp"
#include "daemon/catalogue/catalogue.hpp"
#include "daemon/sessions/session_manager.hpp"

namespace joincast::daemon::app {

void parse_media_sections(core::ConfigReader& reader, const toml::table& root, const core::DaemonSection& daemon,
                          MediaSections& out) {
  sessions::parse_sessions(reader, root, out.sessions);
  catalogue::parse_catalogue(reader, root, out.catalogue);
  // Sessions keep their restart continuity records in the state dir.
  out.sessions.state_dir = daemon.state_dir;
}

namespace {

class Media final : public MediaPart {
 public:
  Media(const MediaContext& c, const Config& config)
      : catalogue(c.io, c.control, config.media.catalogue, config.daemon.state_dir, c.links.interfaces()),
        environment(c.io, catalogue, c.membership, c.routes, c.links.interfaces()),
        sessions(c.io, config.media.sessions, environment.get(), c.control) {}
  void on_membership(const membership::MembershipEvent& e) override { sessions.on_membership(e); }

  catalogue::Catalogue catalogue;  // groups -> stations and DVB services
  DaemonSessionEnvironment environment;
  sessions::SessionManager sessions;
};

}  // namespace

std::unique_ptr<MediaPart> add_media_part(const MediaContext& context, const Config& config,
                                          std::vector<ModuleEntry>& modules) {
  auto media = std::make_unique<Media>(context, config);
  modules.push_back(module_entry(media->catalogue, [](auto& c) -> auto& { return c.media.catalogue; }));
  modules.push_back(module_entry(media->sessions, [](auto& c) -> auto& { return c.media.sessions; }));
  return media;
}

}  // namespace joincast::daemon::app
