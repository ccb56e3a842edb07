// session_dvb.cpp — the sessions of DVB services: dvblast sends the RTP
// straight to the group (catalogue's start_dvb), joincast announces it
// (SAP/SDP) and collects its listeners' RTCP; a dvblast that dies fails the
// sessions of its carrier.
#include "daemon/sessions/session_entry.hpp"

#include "daemon/core/log.hpp"

namespace joincast::daemon::sessions {

void SessionManager::start_dvb(Entry& e) {
  const auto& target = std::get<catalogue::DvbTarget>(e.resolved->target);
  unsigned ifindex = listeners_.interface_index(config_.interface);
  if (!ifindex) {
    fail(e, "sessions.interface " + config_.interface + " does not exist", "dvb");
    return;
  }
  const Address16 key = e.key;
  const std::uint64_t gen = e.generation;
  catalogue_.start_dvb(target, e.group, ifindex, [this, key, gen, target, group = e.group,
                                                  ifindex](const Error& failure) {
    Entry* x = find(key);
    if (x && x->generation != gen) return;  // a newer attempt adds its own
    if (!x || !starting(*x)) {
      // Stopped or given up while dvblast tuned (the grace period ended, the
      // start timed out): the service it added now is nobody's.
      if (!failure)
        catalogue_.stop_dvb(target, group, ifindex, [name = group.to_string()](const Error& f) {
          if (f) core::log::warning("session {}: stopping the DVB service: {}", name, f.message());
        });
      return;
    }
    if (failure) {
      fail(*x, failure.message(), "dvb");
      return;
    }
    x->dvb_running = true;
    // dvblast sends the RTP; joincast announces it (dvblast sends no SAP).
    auto d = catalogue_.describe_dvb(std::get<catalogue::DvbTarget>(x->resolved->target));
    media::SessionConfig cfg;
    cfg.group = x->group.address();
    cfg.interface = config_.interface;
    if (!config_.source_address.empty()) cfg.source_address = boost::asio::ip::make_address(config_.source_address);
    cfg.hop_limit = config_.hop_limit;
    cfg.rtp_port = d.port;
    cfg.metadata.station_name = d.name;
    cfg.metadata.now_playing = d.carrier;
    cfg.sap.interval = config_.sap_interval;
    cfg.sap.well_known_group = config_.sap_well_known;
    cfg.sap.well_known_min_interval = config_.sap_well_known_floor;
    cfg.receiver_limits = receiver_limits();
    cfg.continuity_file = continuity_file(x->group);  // the SDP's o= and SAP hash survive a restart
    auto id = engine_->announce(cfg, media::mpegts_mapping());
    if (!id) {
      fail(*x, "announcing the DVB service failed: " + id.error().message(), "media");
      return;
    }
    x->media = id.value();
    by_media_[id.value()] = x->key;
    x->started_at = clock_.now();
    if (x->state == State::starting) {  // in grace, the grace timer runs on
      x->timer->cancel();
      x->state = State::running;
      x->since = *x->started_at;
    }
    x->failures = 0;
    started_total_++;
    core::log::info("session {}: {} is on air from dvblast", x->group.to_string(), x->service);
    publish(*x, "on-air", "dvblast");
    update_routes(*x);
  });
}

void SessionManager::on_dvb_failure(const media::DvbCarrier& carrier, const Error& failure) {
  // Sessions still starting on that carrier hear of it from their own
  // start_dvb() answer; the running ones only from here.
  std::vector<Entry*> running;
  for (const auto& [k, e] : entries_)
    if (e->dvb_running && e->resolved && std::get<catalogue::DvbTarget>(e->resolved->target).carrier.same_tuning(carrier))
      running.push_back(e.get());
  if (running.empty()) {
    core::log::error("dvb: {}", failure.message());
    return;
  }
  for (Entry* e : running) {
    e->dvb_running = false;  // its service went with dvblast: nothing to remove
    fail(*e, failure.message(), "dvb");
  }
}

}  // namespace joincast::daemon::sessions
