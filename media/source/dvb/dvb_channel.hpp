// dvb_channel.hpp — a DVB-S/S2 carrier (transponder) and its services, as
// the channel table lists them and dvblast needs them. Carriers missing
// from the NIT are entered by hand, often as the dvblast command line that
// tunes them ("dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23"), so
// that form is read too.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincast::media {

enum class Polarisation { horizontal, vertical, left, right };
const char* polarisation_name(Polarisation p);
std::optional<Polarisation> parse_polarisation(std::string_view text);  // "h", "V", "horizontal", "L", ...
// The address plan's polarisation bit: vertical and right-hand circular
// are 1 (the LNB's 13 V), horizontal and left-hand 0 (18 V).
inline bool polarisation_bit(Polarisation p) { return p == Polarisation::vertical || p == Polarisation::right; }

enum class DeliverySystem { dvbs, dvbs2 };
const char* delivery_system_name(DeliverySystem d);

struct DvbService {
  std::uint16_t id = 0;  // service_id / program_number
  std::string name;
  bool operator==(const DvbService&) const = default;
};

struct DvbCarrier {
  std::string name;                // for people: "Astra 28.2E DAB"
  std::uint32_t frequency_khz = 0;  // 11426500
  Polarisation polarisation = Polarisation::horizontal;
  std::uint32_t symbol_rate = 0;   // symbols/s, 27500000
  DeliverySystem delivery = DeliverySystem::dvbs;
  std::string modulation;  // dvblast -m: qpsk, psk_8, apsk_16, apsk_32; "" = dvblast's default
  std::string fec;         // dvblast -F: 12, 23, 34, 35, 56, 78, 89, 910, 999 (auto); "" = default
  std::string rolloff;     // dvblast -R: 35, 25, 20, 0; "" = default
  std::string pilot;       // dvblast -P: -1, 0, 1; "" = default
  std::vector<DvbService> services;

  const DvbService* service(std::uint16_t id) const;
  // The tuning part of dvblast's command line.
  std::vector<std::string> dvblast_tuning() const;
  // "11426500 kHz H" — how errors name a carrier.
  std::string describe() const;
  bool same_tuning(const DvbCarrier& o) const {
    return frequency_khz == o.frequency_khz && polarisation_bit(polarisation) == polarisation_bit(o.polarisation);
  }
};

// Reads the tuning options of a dvblast command line (the leading
// "dvblast" is optional): -f, -v, -s, -5, -m, -F, -R, -P and their long
// forms. Other dvblast options are refused so that nothing is silently
// dropped. The error's message names the option and what was wrong.
Result<DvbCarrier> parse_dvblast_command(std::string_view line);

// One tuning value as dvblast takes it (-m, -F, -R, -P), checked the same
// for a dvblast line and the TOML keys: the normalised value, or an error
// saying what is allowed ("must be 35, 25, 20 or 0").
Result<std::string> check_modulation(std::string_view value);
Result<std::string> check_fec(std::string_view value);
Result<std::string> check_rolloff(std::string_view value);
Result<std::string> check_pilot(std::string_view value);

}  // namespace joincast::media
