// fuzz_config.cpp — the TOML configuration (every section). Contract: no
// exception; every error names a key or a line; an accepted configuration
// has positive timers and valid DVB tuning values.
#include "daemon/app/config.hpp"
#include "fuzz_check.hpp"
#include "media/source/dvb/dvb_channel.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto r = daemon::app::parse_config(in.text(), "fuzz.toml");
  for (const auto& e : r.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(!e.key.empty() || e.line > 0);
  }
  if (!r.ok()) return 0;
  const auto& t = r.config.membership.timers;
  FUZZ_CHECK(t.query_interval.count() > 0 && t.query_response_interval.count() > 0);
  FUZZ_CHECK(t.listener_interval.count() > 0 && t.other_querier_timeout.count() > 0);
  FUZZ_CHECK(r.config.media.sessions.start_timeout.count() > 0);
  for (const auto& c : r.config.media.catalogue.dvb.carriers) {
    if (!c.modulation.empty()) FUZZ_CHECK(media::check_modulation(c.modulation));
    if (!c.fec.empty()) FUZZ_CHECK(media::check_fec(c.fec));
    if (!c.rolloff.empty()) FUZZ_CHECK(media::check_rolloff(c.rolloff));
    if (!c.pilot.empty()) FUZZ_CHECK(media::check_pilot(c.pilot));
  }
  return 0;
}
