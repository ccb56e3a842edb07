// catalogue.hpp — what a group stands for. The catalogue owns the address
// plan, the station directories (one per slot), the DVB channel table and
// the dvblast tuner, and answers the session manager's question "a
// listener joined G: what do I play?" with a ResolvedService. It also
// serves the control commands "directories" and "map"
// (docs/control-protocol.md).
//
// Starting what it resolved to:
//   internet station: play_url() (radio-browser counts the click), then
//     media::plan_source(url, http()) makes its source: an HttpSource for
//     http(s) URLs (which hands an HLS playlist over to libavformat's HLS
//     demuxer itself); "test:" URLs name the built-in test tones
//     (docs/configuration.md, "Test directory").
//   DVB service: start_dvb() sends it from dvblast straight to the group;
//     describe_dvb() gives what the SAP/SDP needs; stop_dvb() on the last leave.
#pragma once

#include "daemon/catalogue/address_plan.hpp"
#include "daemon/catalogue/catalogue_config.hpp"
#include "daemon/core/control_server.hpp"
#include "daemon/core/module.hpp"
#include "daemon/catalogue/directories/directory.hpp"
#include "daemon/catalogue/group_address.hpp"
#include "media/source/dvb/dvb_tuner.hpp"
#include "media/source/http/http_client.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace joincast::daemon::catalogue {

struct InternetTarget {
  std::string directory;  // its name
  unsigned slot = 0;
  std::uint32_t station = 0;
  directories::Station info;  // name, URL, genre, codec, ... as listed
};

struct DvbTarget {
  media::DvbCarrier carrier;
  std::uint16_t service_id = 0;
  std::string name;  // the service's name, or "DVB service N"
};

struct ResolvedService {
  GroupAddress group;
  ServiceNumber number;
  std::variant<InternetTarget, DvbTarget> target;
};

class Catalogue final : public core::ConfiguredModule<CatalogueConfig> {
 public:
  // `interfaces` (the daemon's LinkWatcher table) gives the IPv6 prefix of
  // address_plan.ipv6_prefix_interface.
  Catalogue(boost::asio::io_context& io, core::ControlServer& control, const CatalogueConfig& config,
            std::string state_dir, const core::InterfaceTable& interfaces);
  ~Catalogue() override;

  std::string_view name() const override { return "catalogue"; }
  // Registers "directories", "map" and "resolve" and starts the directories.
  Result<void> start() override;
  // SIGHUP: new directories, channel table and HTTP options. Numbers are
  // untouched (they live in the state directory); running DVB services
  // keep running.
  Result<void> reload(const CatalogueConfig& config) override;
  void stop() override;
  nlohmann::json status() const override { return nullptr; }

  const AddressPlan& plan() const { return plan_; }
  std::shared_ptr<media::HttpClient> http() const { return http_; }
  media::DvbTuner& tuner() { return *tuner_; }

  // What group stands for, or why nothing (*why: a sentence naming the
  // group: not ours, unknown directory slot, no such station, ...).
  Result<ResolvedService> resolve(const GroupAddress& group) const;

  // The URL to open for an internet station (see Directory::play_url).
  void play_url(const InternetTarget& target, directories::Directory::PlayHandler done);

  // DVB: sends the service as RTP (PT 33) to group through egress ifindex.
  void start_dvb(const DvbTarget& target, const GroupAddress& group, unsigned ifindex, media::DvbTuner::Done done);
  void stop_dvb(const DvbTarget& target, const GroupAddress& group, unsigned ifindex, media::DvbTuner::Done done);
  media::DvbStreamDescription describe_dvb(const DvbTarget& target) const;
  // A dvblast that died: the session manager stops the carrier's sessions.
  void on_dvb_failure(media::DvbTuner::FailureHandler handler);

  // The answers of the control commands, also usable directly.
  Result<nlohmann::json> directories_json(const nlohmann::json& request) const;
  Result<nlohmann::json> map_json(const std::string& query) const;
  // "resolve": what a group would play; with "play": true also the URL a
  // session would open (counting a radio-browser click), published on
  // topic "catalogue" as {"event": "play-url", ...} once known.
  Result<nlohmann::json> resolve_json(const nlohmann::json& request);

 private:
  void build(const CatalogueConfig& config);
  void refresh_prefix() const;
  directories::Directory* directory_by_slot(unsigned slot) const;
  directories::Directory* directory_by_name(const std::string& name) const;
  nlohmann::json describe_number(ServiceNumber number) const;

  boost::asio::io_context& io_;
  core::ControlServer& control_;
  bool started_ = false;
  std::string state_dir_;
  const core::InterfaceTable& interfaces_;
  CatalogueConfig config_;
  mutable AddressPlan plan_;
  std::shared_ptr<media::HttpClient> http_;
  std::vector<std::unique_ptr<directories::Directory>> directories_;
  std::unique_ptr<media::DvbTuner> tuner_;
  media::DvbTuner::FailureHandler on_dvb_failure_;
};

}  // namespace joincast::daemon::catalogue
