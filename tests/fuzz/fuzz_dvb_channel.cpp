// fuzz_dvb_channel.cpp — DVB tuning as a dvblast command line (the channel
// table's `dvblast` form). Contract: an accepted carrier has a frequency, a
// symbol rate and valid tuning values, and its own dvblast arguments parse
// back to the same tuning.
#include "fuzz_check.hpp"
#include "media/source/dvb/dvb_channel.hpp"

using namespace joincast;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  auto parsed = media::parse_dvblast_command(in.text());
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().message().empty());
    return 0;
  }
  const media::DvbCarrier* c = &parsed.value();
  FUZZ_CHECK(c->frequency_khz > 0 && c->symbol_rate >= 1000);
  if (!c->modulation.empty()) FUZZ_CHECK(media::check_modulation(c->modulation));
  if (!c->fec.empty()) FUZZ_CHECK(media::check_fec(c->fec));
  std::string line = "dvblast";
  for (const auto& a : c->dvblast_tuning()) line += " " + a;
  auto reparsed = media::parse_dvblast_command(line);
  FUZZ_CHECK(reparsed);
  const media::DvbCarrier* again = &reparsed.value();
  FUZZ_CHECK(again->same_tuning(*c) && again->symbol_rate == c->symbol_rate && again->delivery == c->delivery);
  FUZZ_CHECK(again->modulation == c->modulation && again->fec == c->fec && again->rolloff == c->rolloff &&
             again->pilot == c->pilot);
  media::parse_polarisation(in.text());
  return 0;
}
